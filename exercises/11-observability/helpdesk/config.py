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
    # The chat model that classifies tickets; a setting so operations can switch it without a release.
    model: str = "gpt-4o-mini"
    # Model answers below this confidence are not trusted: the keyword rules route the ticket instead.
    confidence_threshold: float = 0.6
    # Seconds one model request may take; the SDK's own default is 600 (release 2.5's post-mortem).
    request_timeout: float = 10.0
    # Requests per ticket when the provider fails (429, 5xx, time-out, lost connection), the first included.
    max_attempts: int = 2
    # Seconds between two attempts, on the service's clock.
    retry_wait: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        env = os.environ.get
        return cls(
            db_path=env("HELPDESK_DB_PATH", cls.db_path),
            max_subject_length=int(env("HELPDESK_MAX_SUBJECT_LENGTH", cls.max_subject_length)),
            model=env("HELPDESK_MODEL", cls.model),
            confidence_threshold=float(env("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
            request_timeout=float(env("HELPDESK_REQUEST_TIMEOUT", cls.request_timeout)),
            max_attempts=int(env("HELPDESK_MAX_ATTEMPTS", cls.max_attempts)),
            retry_wait=float(env("HELPDESK_RETRY_WAIT", cls.retry_wait)),
        )
