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
    # The chat model that orders the box; a setting so operations can switch it without a release.
    model: str = "gpt-4o-mini"
    # How many of the legacy ranking's best products the model may choose from and order.
    rerank_pool: int = 8
    # Seconds the product page waits for the model before it shows the legacy box; the SDK's own
    # default (600 s) would hang the page.
    model_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.rerank_pool < self.related_limit:
            raise ValueError(
                f"rerank_pool ({self.rerank_pool}) must be at least related_limit ({self.related_limit})"
            )

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            related_limit=int(os.environ.get("SHOP_RELATED_LIMIT", cls.related_limit)),
            min_together=int(os.environ.get("SHOP_MIN_TOGETHER", cls.min_together)),
            model=os.environ.get("SHOP_MODEL", cls.model),
            rerank_pool=int(os.environ.get("SHOP_RERANK_POOL", cls.rerank_pool)),
            model_timeout=float(os.environ.get("SHOP_MODEL_TIMEOUT", cls.model_timeout)),
        )
