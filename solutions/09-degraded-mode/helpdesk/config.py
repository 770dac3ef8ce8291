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
    # Degraded mode (after the incident of the 14th). Seconds one model request may take before it is
    # abandoned; the SDK's own default is 600 s, far longer than anyone waits for a ticket form.
    request_timeout: float = 10.0
    # Attempts per ticket, the first one included; retries wait backoff_base, 2x, 4x ... seconds.
    max_attempts: int = 3
    backoff_base: float = 0.5
    # Consecutive failed model calls that open the circuit breaker, and how long it stays open (seconds).
    breaker_threshold: int = 5
    breaker_cooldown: float = 60.0
    # Total seconds the model may cost one ticket, waits and calls included; then the rules decide.
    ticket_budget: float = 20.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")
        for name in ("max_attempts", "breaker_threshold"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("request_timeout", "ticket_budget"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("backoff_base", "breaker_cooldown"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")

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
            backoff_base=float(env("HELPDESK_BACKOFF_BASE", cls.backoff_base)),
            breaker_threshold=int(env("HELPDESK_BREAKER_THRESHOLD", cls.breaker_threshold)),
            breaker_cooldown=float(env("HELPDESK_BREAKER_COOLDOWN", cls.breaker_cooldown)),
            ticket_budget=float(env("HELPDESK_TICKET_BUDGET", cls.ticket_budget)),
        )
