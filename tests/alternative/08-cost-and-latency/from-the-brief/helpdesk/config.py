"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field


def _default_prices() -> dict[str, dict[str, float]]:
    # USD per million tokens.
    return {
        "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
        "gpt-4o": {"input": 2.50, "cached_input": 1.25, "output": 10.00},
    }


@dataclass(frozen=True)
class Settings:
    """Settings of the helpdesk and of its weekly batch."""

    db_path: str = "helpdesk.db"
    model: str = "gpt-4o"  # the large model, asked when the small one is not sure
    confidence_threshold: float = 0.6
    small_model: str = "gpt-4o-mini"
    cascade_threshold: float = 0.8
    prices: dict = field(default_factory=_default_prices)
    run_budget: float = 5.0
    max_concurrency: int = 4
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        e = os.environ
        return cls(
            db_path=e.get("HELPDESK_DB_PATH", cls.db_path),
            model=e.get("HELPDESK_MODEL", cls.model),
            confidence_threshold=float(e.get("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
            small_model=e.get("HELPDESK_SMALL_MODEL", cls.small_model),
            cascade_threshold=float(e.get("HELPDESK_CASCADE_THRESHOLD", cls.cascade_threshold)),
            prices=json.loads(e["HELPDESK_PRICES"]) if "HELPDESK_PRICES" in e else _default_prices(),
            run_budget=float(e.get("HELPDESK_RUN_BUDGET", cls.run_budget)),
            max_concurrency=int(e.get("HELPDESK_MAX_CONCURRENCY", cls.max_concurrency)),
            request_timeout=float(e.get("HELPDESK_REQUEST_TIMEOUT", cls.request_timeout)),
        )
