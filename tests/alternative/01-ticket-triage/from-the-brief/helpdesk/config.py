"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the helpdesk service."""

    db_path: str = "helpdesk.db"
    # The old e-mail gateway cut subjects at 200 characters and reports still assume it.
    max_subject_length: int = 200
    model: str = "gpt-4o-mini"
    confidence_threshold: float = 0.6

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("HELPDESK_DB_PATH", cls.db_path),
            max_subject_length=int(os.environ.get("HELPDESK_MAX_SUBJECT_LENGTH", cls.max_subject_length)),
        )
