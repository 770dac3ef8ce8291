"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The registry shipped with the package; deployments point HELPDESK_PROMPTS_DIR at their own copy.
DEFAULT_PROMPTS_DIR = str(Path(__file__).resolve().parent / "prompts")


@dataclass(frozen=True)
class Settings:
    """Settings of the helpdesk service.

    The model and the system prompt are no settings any more: they belong to a prompt version, and
    `prompt_label` says which version the service runs (see helpdesk.registry).
    """

    db_path: str = "helpdesk.db"
    # The old e-mail gateway cut subjects at 200 characters and reports still assume it.
    max_subject_length: int = 200
    # Model answers below this confidence are not trusted: the keyword rules route the ticket instead.
    confidence_threshold: float = 0.6
    # How much recall a queue may lose in the release gate: an absolute difference (0.05 = five points).
    gate_recall_margin: float = 0.05
    # Where the prompt registry lives, which prompt routes tickets, and which of its labels runs here.
    prompts_dir: str = DEFAULT_PROMPTS_DIR
    prompt_name: str = "ticket-routing"
    prompt_label: str = "production"
    # Seconds one model request may take; the SDK's own default is 600.
    request_timeout: float = 20.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")
        if not 0.0 < self.request_timeout <= 30.0:
            raise ValueError(f"request_timeout must be above 0 and at most 30 s, got {self.request_timeout}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        env = os.environ.get
        return cls(
            db_path=env("HELPDESK_DB_PATH", cls.db_path),
            max_subject_length=int(env("HELPDESK_MAX_SUBJECT_LENGTH", cls.max_subject_length)),
            confidence_threshold=float(env("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
            gate_recall_margin=float(env("HELPDESK_GATE_RECALL_MARGIN", cls.gate_recall_margin)),
            prompts_dir=env("HELPDESK_PROMPTS_DIR", cls.prompts_dir),
            prompt_name=env("HELPDESK_PROMPT_NAME", cls.prompt_name),
            prompt_label=env("HELPDESK_PROMPT_LABEL", cls.prompt_label),
            request_timeout=float(env("HELPDESK_REQUEST_TIMEOUT", cls.request_timeout)),
        )
