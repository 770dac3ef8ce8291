"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the helpdesk and of its weekly batch."""

    db_path: str = "helpdesk.db"
    # The chat model that re-classifies the backlog. Since 2.5 the largest one: the small model of
    # 2.4 put too many shipping tickets in general, and nobody wanted to tune a threshold again.
    model: str = "gpt-4o"
    # Model answers below this confidence are not trusted: the keyword rules route the ticket instead.
    confidence_threshold: float = 0.6

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("HELPDESK_DB_PATH", cls.db_path),
            model=os.environ.get("HELPDESK_MODEL", cls.model),
            confidence_threshold=float(
                os.environ.get("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)
            ),
        )
