"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the shop back end."""

    db_path: str = "shop.db"
    # The product page template has room for four tiles in the "customers also bought" box.
    related_limit: int = 4
    # A product counts as related once it was bought together with the viewed one in this many orders.
    min_together: int = 1
    # Chat model used to order the related-items box.
    model: str = "gpt-4o-mini"
    # Candidates handed to the model: the top of the legacy ranking.
    rerank_pool: int = 8

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            related_limit=int(os.environ.get("SHOP_RELATED_LIMIT", cls.related_limit)),
            min_together=int(os.environ.get("SHOP_MIN_TOGETHER", cls.min_together)),
            model=os.environ.get("SHOP_MODEL", cls.model),
            rerank_pool=int(os.environ.get("SHOP_RERANK_POOL", cls.rerank_pool)),
        )
