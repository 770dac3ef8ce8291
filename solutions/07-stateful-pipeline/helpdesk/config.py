"""Runtime settings of the nightly intake, read from the environment by cron and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

from helpdesk.prompts import PROMPT_VERSION


@dataclass(frozen=True)
class Settings:
    """Settings of the nightly intake."""

    # Everything the pipeline remembers between runs lives in this one file: the intake rows, each
    # e-mail's progress and the cache of model answers.
    db_path: str = "intake.db"
    # The agents' mail client imports this mbox file every morning: each message in it is a draft reply.
    outbox_path: str = "drafts.mbox"
    # One report per day, <report_dir>/<day>.txt, for the team lead's morning read.
    report_dir: str = "reports"
    # The chat model that classifies and drafts; a setting so operations can switch it without a release.
    model: str = "gpt-4o-mini"
    # Part of every cache key: a new wording gets new answers, an old one finds its answers again.
    prompt_version: str = PROMPT_VERSION
    # Seconds one model request may take; a hung request must not hold the night's run for 600 s.
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.request_timeout <= 0:
            raise ValueError(f"request_timeout must be positive, got {self.request_timeout}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from INTAKE_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("INTAKE_DB_PATH", cls.db_path),
            outbox_path=os.environ.get("INTAKE_OUTBOX_PATH", cls.outbox_path),
            report_dir=os.environ.get("INTAKE_REPORT_DIR", cls.report_dir),
            model=os.environ.get("INTAKE_MODEL", cls.model),
            prompt_version=os.environ.get("INTAKE_PROMPT_VERSION", cls.prompt_version),
            request_timeout=float(os.environ.get("INTAKE_REQUEST_TIMEOUT", cls.request_timeout)),
        )
