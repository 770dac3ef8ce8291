"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the refund desk."""

    db_path: str = "shop.db"
    auto_approve_limit: float = 50.0  # EUR
    currency: str = "EUR"
    model: str = "gpt-4o-mini"
    prompt_version: str = "refunds-v1"
    confidence_threshold: float = 0.7

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        env = os.environ.get
        return cls(
            db_path=env("SHOP_DB_PATH", cls.db_path),
            auto_approve_limit=float(env("SHOP_AUTO_APPROVE_LIMIT", cls.auto_approve_limit)),
            currency=env("SHOP_CURRENCY", cls.currency),
            model=env("SHOP_MODEL", cls.model),
            prompt_version=env("SHOP_PROMPT_VERSION", cls.prompt_version),
            confidence_threshold=float(env("SHOP_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
        )
