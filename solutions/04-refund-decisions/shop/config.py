"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the refund desk."""

    db_path: str = "shop.db"
    # EUR. Finance reviews it twice a year. The rules read it from here now (FIN-88 closed).
    auto_approve_limit: float = 50.0
    currency: str = "EUR"
    # The model that recommends, and the label of the prompt it is sent: both go into every audit row,
    # so a decision can always be traced to what produced it.
    model: str = "gpt-4o-mini"
    prompt_version: str = "refunds-v1"
    # Below this confidence a recommendation is not acted on: the request goes to the review queue.
    confidence_threshold: float = 0.7
    # Seconds the desk waits for the model's answer. The SDK's default (600 s) would leave the customer
    # on a spinning refund page for ten minutes; after this, the request goes to the review queue.
    model_timeout: float = 20.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, not {self.confidence_threshold}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from SHOP_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("SHOP_DB_PATH", cls.db_path),
            auto_approve_limit=float(os.environ.get("SHOP_AUTO_APPROVE_LIMIT", cls.auto_approve_limit)),
            currency=os.environ.get("SHOP_CURRENCY", cls.currency),
            model=os.environ.get("SHOP_MODEL", cls.model),
            prompt_version=os.environ.get("SHOP_PROMPT_VERSION", cls.prompt_version),
            confidence_threshold=float(os.environ.get("SHOP_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
            model_timeout=float(os.environ.get("SHOP_MODEL_TIMEOUT", cls.model_timeout)),
        )
