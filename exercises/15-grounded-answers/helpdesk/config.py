"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the help centre."""

    db_path: str = "helpcentre.db"
    # The search box shows at most this many articles; the web page has room for five.
    max_results: int = 5
    # Words shorter than this are ignored by the search ("is", "my", "to" match every article).
    min_term_length: int = 3

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("HELPDESK_DB_PATH", cls.db_path),
            max_results=int(os.environ.get("HELPDESK_MAX_RESULTS", cls.max_results)),
            min_term_length=int(os.environ.get("HELPDESK_MIN_TERM_LENGTH", cls.min_term_length)),
        )
