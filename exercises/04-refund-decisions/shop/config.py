"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the refund desk."""

    db_path: str = "shop.db"
    # EUR. Finance reviews it twice a year. NOTE: rules.py still has its own copy (FIN-88).
    auto_approve_limit: float = 50.0
    currency: str = "EUR"

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            auto_approve_limit=float(os.environ.get("SHOP_AUTO_APPROVE_LIMIT", cls.auto_approve_limit)),
            currency=os.environ.get("SHOP_CURRENCY", cls.currency),
        )
