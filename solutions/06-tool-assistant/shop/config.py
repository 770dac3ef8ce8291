"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the order API, the support console and its assistant."""

    db_path: str = "shop.db"
    currency: str = "EUR"  # NOTE: amounts are EUR everywhere; the field is only printed
    # The support assistant (shop/assistant.py).
    model: str = "gpt-4o-mini"
    max_steps: int = 5  # model requests one ask() or confirm() may send before it gives up
    request_timeout: float = 30.0  # seconds one model request may take; the agent is waiting

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            currency=os.environ.get("SHOP_CURRENCY", cls.currency),
            model=os.environ.get("SHOP_MODEL", cls.model),
            max_steps=int(os.environ.get("SHOP_MAX_STEPS", cls.max_steps)),
            request_timeout=float(os.environ.get("SHOP_REQUEST_TIMEOUT", cls.request_timeout)),
        )
