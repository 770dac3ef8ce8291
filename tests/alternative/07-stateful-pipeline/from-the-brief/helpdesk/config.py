"""Runtime settings of the nightly intake, read from the environment by cron and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

from helpdesk import prompts


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
    # Which wording of the prompts is in use; answers are cached per version.
    prompt_version: str = prompts.PROMPT_VERSION
    # Upper bound, in seconds, for each model request.
    request_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from INTAKE_* environment variables, falling back to the defaults."""
        env = os.environ.get
        return cls(
            db_path=env("INTAKE_DB_PATH", cls.db_path),
            outbox_path=env("INTAKE_OUTBOX_PATH", cls.outbox_path),
            report_dir=env("INTAKE_REPORT_DIR", cls.report_dir),
            model=env("INTAKE_MODEL", cls.model),
            prompt_version=env("INTAKE_PROMPT_VERSION", cls.prompt_version),
            request_timeout=float(env("INTAKE_REQUEST_TIMEOUT", str(cls.request_timeout))),
        )
