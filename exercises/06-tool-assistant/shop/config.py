"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the order API and the support console."""

    db_path: str = "shop.db"
    currency: str = "EUR"  # NOTE: amounts are EUR everywhere; the field is only printed

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            currency=os.environ.get("SHOP_CURRENCY", cls.currency),
        )
