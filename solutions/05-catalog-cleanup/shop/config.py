"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the shop's back office."""

    db_path: str = "shop.db"
    # Supplier files come from a spreadsheet export; the encoding was agreed with them in 2020.
    supplier_encoding: str = "utf-8"
    # The chat model that writes categories and descriptions during the catalog clean-up.
    model: str = "gpt-4o-mini"
    # Seconds to wait for one answer: the SDK would wait 600, and a stuck call must not hold the night's run.
    model_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            supplier_encoding=os.environ.get("SHOP_SUPPLIER_ENCODING", cls.supplier_encoding),
            model=os.environ.get("SHOP_MODEL", cls.model),
            model_timeout=float(os.environ.get("SHOP_MODEL_TIMEOUT", cls.model_timeout)),
        )
