"""Domain objects shared by the repository, the routing rules and the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

# Refs started at TCK-1001 when tickets moved off the old mail-merge system; agents and customers
# quote them on the phone, so the offset can never change.
REF_OFFSET = 1000

# Who decided a ticket's queue: the model, or the keyword rules (including every fallback).
RoutedBy = Literal["model", "rules"]
ROUTED_BY_MODEL: RoutedBy = "model"
ROUTED_BY_RULES: RoutedBy = "rules"


class Reason(str, Enum):  # noqa: UP042 - same style as Queue
    """Why a ticket went where it went (release 2.5)."""

    ANSWERED = "answered"
    REPAIRED = "repaired"
    LOW_CONFIDENCE = "low_confidence"
    REFUSED = "refused"
    TRUNCATED = "truncated"
    INVALID_JSON = "invalid_json"
    INVALID_QUEUE = "invalid_queue"
    INVALID_CONFIDENCE = "invalid_confidence"
    API_ERROR = "api_error"
    BLANK = "blank"
    NO_MODEL = "no_model"


class Queue(str, Enum):  # noqa: UP042 - written before StrEnum existed
    """The team queues a ticket can land in. Values are stored in the database as they are."""

    BILLING = "billing"
    TECHNICAL = "technical"
    ACCOUNT = "account"
    SHIPPING = "shipping"
    GENERAL = "general"


@dataclass
class Ticket:
    """A customer support ticket. `id` is None until the repository has stored it."""

    id: int | None
    subject: str
    body: str
    customer_email: str
    queue: Queue = Queue.GENERAL
    created_at: datetime | None = None
    routed_by: RoutedBy = ROUTED_BY_RULES
    reason: Reason | None = None  # None: stored before 2.5

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "TCK-1001"; empty until the ticket is stored."""
        return f"TCK-{REF_OFFSET + self.id}" if self.id is not None else ""

    @property
    def is_blank(self) -> bool:
        """True when subject and body hold nothing but whitespace: nothing to classify."""
        return not self.subject.strip() and not self.body.strip()
