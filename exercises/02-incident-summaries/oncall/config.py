"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the on-call tool."""

    db_path: str = "oncall.db"
    # The hand-over digest used to go out by SMS, so it was cut at 280 characters. The SMS gateway
    # is gone but the limit stayed, and the chat bot that posts digests still relies on it.
    digest_max_chars: int = 280

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ONCALL_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("ONCALL_DB_PATH", cls.db_path),
            digest_max_chars=int(os.environ.get("ONCALL_DIGEST_MAX_CHARS", cls.digest_max_chars)),
        )
