"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the on-call tool."""

    db_path: str = "oncall.db"
    # The hand-over digest used to go out by SMS, so it was cut at 280 characters.
    digest_max_chars: int = 280
    model: str = "gpt-4o-mini"
    max_request_tokens: int = 3000
    chunk_tokens: int = 2000

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ONCALL_* environment variables, falling back to the defaults."""
        env = os.environ.get
        return cls(
            db_path=env("ONCALL_DB_PATH", cls.db_path),
            digest_max_chars=int(env("ONCALL_DIGEST_MAX_CHARS", cls.digest_max_chars)),
            model=env("ONCALL_MODEL", cls.model),
            max_request_tokens=int(env("ONCALL_MAX_REQUEST_TOKENS", cls.max_request_tokens)),
            chunk_tokens=int(env("ONCALL_CHUNK_TOKENS", cls.chunk_tokens)),
        )
