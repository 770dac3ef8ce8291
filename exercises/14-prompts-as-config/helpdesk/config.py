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
    # The chat model that classifies tickets. Pinned to a dated snapshot since release 2.5: the bare
    # alias once moved to a new model under us and the account queue doubled overnight (HD-1032).
    model: str = "gpt-4o-mini-2024-07-18"
    # Model answers below this confidence are not trusted: the keyword rules route the ticket instead.
    confidence_threshold: float = 0.6
    # The system prompt the service sends: a key of classifier.PROMPTS. Changing it is a release.
    prompt_version: str = "v4"
    # How much recall a queue may lose in the release gate: an absolute difference (0.05 = five points).
    gate_recall_margin: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        return cls(
            db_path=os.environ.get("HELPDESK_DB_PATH", cls.db_path),
            max_subject_length=int(os.environ.get("HELPDESK_MAX_SUBJECT_LENGTH", cls.max_subject_length)),
            model=os.environ.get("HELPDESK_MODEL", cls.model),
            confidence_threshold=float(
                os.environ.get("HELPDESK_CONFIDENCE_THRESHOLD", cls.confidence_threshold)
            ),
            prompt_version=os.environ.get("HELPDESK_PROMPT_VERSION", cls.prompt_version),
            gate_recall_margin=float(os.environ.get("HELPDESK_GATE_RECALL_MARGIN", cls.gate_recall_margin)),
        )
