"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

_PACKAGE_PROMPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prompts")


@dataclass(frozen=True)
class Settings:
    """Settings of the helpdesk service. Model and prompt come from the prompt registry's label."""

    db_path: str = "helpdesk.db"
    max_subject_length: int = 200
    confidence_threshold: float = 0.6
    gate_recall_margin: float = 0.05
    prompts_dir: str = _PACKAGE_PROMPTS
    prompt_name: str = "ticket-routing"
    prompt_label: str = "production"

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("HELPDESK_DB_PATH", cls.db_path),
            max_subject_length=int(os.environ.get("HELPDESK_MAX_SUBJECT_LENGTH", cls.max_subject_length)),
            confidence_threshold=float(os.environ.get("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)),
            gate_recall_margin=float(os.environ.get("HELPDESK_GATE_RECALL_MARGIN", cls.gate_recall_margin)),
            prompts_dir=os.environ.get("HELPDESK_PROMPTS_DIR", cls.prompts_dir),
            prompt_name=os.environ.get("HELPDESK_PROMPT_NAME", cls.prompt_name),
            prompt_label=os.environ.get("HELPDESK_PROMPT_LABEL", cls.prompt_label),
        )
