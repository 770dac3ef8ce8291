"""Runtime settings of the nightly intake, read from the environment by cron and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the nightly intake."""

    db_path: str = "intake.db"
    # The agents' mail client imports this mbox file every morning: each message in it is a draft reply.
    outbox_path: str = "drafts.mbox"
    # One report per day, <report_dir>/<day>.txt, for the team lead's morning read.
    report_dir: str = "reports"
    # The chat model that classifies and drafts; a setting so operations can switch it without a release.
    model: str = "gpt-4o-mini"

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from INTAKE_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("INTAKE_DB_PATH", cls.db_path),
            outbox_path=os.environ.get("INTAKE_OUTBOX_PATH", cls.outbox_path),
            report_dir=os.environ.get("INTAKE_REPORT_DIR", cls.report_dir),
            model=os.environ.get("INTAKE_MODEL", cls.model),
        )
