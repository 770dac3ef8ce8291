"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the order API and the support console."""

    db_path: str = "shop.db"
    currency: str = "EUR"  # NOTE: amounts are EUR everywhere; the field is only printed
    model: str = "gpt-4o-mini"
    max_steps: int = 5
    request_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        env = os.environ
        return cls(
            db_path=env.get("SHOP_DB_PATH", cls.db_path),
            currency=env.get("SHOP_CURRENCY", cls.currency),
            model=env.get("SHOP_MODEL", cls.model),
            max_steps=int(env.get("SHOP_MAX_STEPS", cls.max_steps)),
            request_timeout=float(env.get("SHOP_REQUEST_TIMEOUT", cls.request_timeout)),
        )
