"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PRICE_KEYS = ("input", "cached_input", "output")

# USD per million tokens, as the provider's price page lists them (checked 2024-11). Operations keep
# this table in HELPDESK_PRICES when prices move; a model missing from it cannot be used.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
    "gpt-4o": {"input": 2.50, "cached_input": 1.25, "output": 10.00},
}


@dataclass(frozen=True)
class Settings:
    """Settings of the helpdesk and of its weekly batch."""

    db_path: str = "helpdesk.db"
    # The large model: asked only when the small one is not sure (HELPDESK_MODEL, as before 2.6).
    model: str = "gpt-4o"
    # Large-model answers below this confidence are not trusted: the keyword rules route the ticket.
    confidence_threshold: float = 0.6
    # The cascade: the small model is asked first; its answer stands at or above cascade_threshold.
    small_model: str = "gpt-4o-mini"
    cascade_threshold: float = 0.8
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    run_budget: float = 5.0  # USD per run; once spent, the remaining tickets go to the rules
    max_concurrency: int = 4  # model requests in flight at once
    request_timeout: float = 30.0  # seconds one model request may take

    def __post_init__(self) -> None:
        for name in ("confidence_threshold", "cascade_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}")
        if self.run_budget < 0 or self.request_timeout <= 0:
            raise ValueError("run_budget must be >= 0 and request_timeout > 0")
        # Fail before the run, not after 2,000 tickets: a model without a price cannot be budgeted.
        for model in (self.small_model, self.model):
            price = self.prices.get(model)
            if price is None:
                raise ValueError(f"no price for model {model!r} in the price table")
            missing = [key for key in PRICE_KEYS if key not in price]
            if missing:
                raise ValueError(f"the price of {model!r} lacks {', '.join(missing)}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        env = os.environ
        extra: dict[str, Any] = {}
        if "HELPDESK_PRICES" in env:  # JSON: {"model": {"input": ..., "cached_input": ..., "output": ...}}
            extra["prices"] = json.loads(env["HELPDESK_PRICES"])
        return cls(
            db_path=env.get("HELPDESK_DB_PATH", cls.db_path),
            model=env.get("HELPDESK_MODEL", cls.model),
            confidence_threshold=float(env.get("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
            small_model=env.get("HELPDESK_SMALL_MODEL", cls.small_model),
            cascade_threshold=float(env.get("HELPDESK_CASCADE_THRESHOLD", cls.cascade_threshold)),
            run_budget=float(env.get("HELPDESK_RUN_BUDGET", cls.run_budget)),
            max_concurrency=int(env.get("HELPDESK_MAX_CONCURRENCY", cls.max_concurrency)),
            request_timeout=float(env.get("HELPDESK_REQUEST_TIMEOUT", cls.request_timeout)),
            **extra,
        )
