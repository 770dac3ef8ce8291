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
    # The model that writes digest summaries, and the token budget of every request sent to it
    # (estimated with oncall.tokens: the on-call hosts cannot download a tokenizer).
    model: str = "gpt-4o-mini"
    max_request_tokens: int = 3000
    # How much timeline (sum of the estimated tokens of its lines) one request may carry; the rest
    # of max_request_tokens is left for the instructions and the header.
    chunk_tokens: int = 2000
    # Seconds to wait for a model answer. The SDK's own default is 600 s, far longer than anyone
    # waits at a hand-over; a slow call should fail fast (kata 09 decides what happens then).
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.chunk_tokens < self.max_request_tokens:
            raise ValueError("chunk_tokens must be positive and smaller than max_request_tokens")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout must be positive")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ONCALL_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("ONCALL_DB_PATH", cls.db_path),
            digest_max_chars=int(os.environ.get("ONCALL_DIGEST_MAX_CHARS", cls.digest_max_chars)),
            model=os.environ.get("ONCALL_MODEL", cls.model),
            max_request_tokens=int(os.environ.get("ONCALL_MAX_REQUEST_TOKENS", cls.max_request_tokens)),
            chunk_tokens=int(os.environ.get("ONCALL_CHUNK_TOKENS", cls.chunk_tokens)),
            request_timeout=float(os.environ.get("ONCALL_REQUEST_TIMEOUT", cls.request_timeout)),
        )
