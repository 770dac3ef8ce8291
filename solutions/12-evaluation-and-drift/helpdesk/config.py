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
    # Which system prompt of helpdesk.classifier.PROMPTS the service sends. v3 is in production.
    prompt_version: str = "v3"
    # The release gate: a candidate prompt may lose at most this much recall on any queue (0.05 = five
    # points), and must not lose overall accuracy.
    gate_recall_margin: float = 0.05
    # Drift monitoring of the weekly queue shares against a reference week (population stability index).
    drift_threshold: float = 0.2
    drift_epsilon: float = 1e-4
    drift_min_tickets: int = 50
    # Read time-out of each evaluation request: a golden-set run must not hang the release pipeline.
    evaluation_timeout: float = 20.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be between 0 and 1, got {self.confidence_threshold}")
        if not 0.0 <= self.gate_recall_margin <= 1.0:
            raise ValueError(f"gate_recall_margin must be between 0 and 1, got {self.gate_recall_margin}")
        if self.drift_epsilon <= 0.0:
            raise ValueError(f"drift_epsilon must be positive, got {self.drift_epsilon}")

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
            drift_threshold=float(os.environ.get("HELPDESK_DRIFT_THRESHOLD", cls.drift_threshold)),
            drift_epsilon=float(os.environ.get("HELPDESK_DRIFT_EPSILON", cls.drift_epsilon)),
            drift_min_tickets=int(os.environ.get("HELPDESK_DRIFT_MIN_TICKETS", cls.drift_min_tickets)),
            evaluation_timeout=float(os.environ.get("HELPDESK_EVALUATION_TIMEOUT", cls.evaluation_timeout)),
        )
