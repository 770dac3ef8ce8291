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

# Why a ticket went where it went (release 2.5). The model routed it: ANSWERED, REPAIRED. The rules
# routed it: every other reason; those of unusable answers name what was wrong with the last one.
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
# The problems one repair request may fix. A refusal, an unsure answer and a failed call are not among
# them: asking again would argue with the model, second-guess it, or retry behind the retry policy's back.
REPAIRABLE = frozenset({TRUNCATED, INVALID_JSON, INVALID_QUEUE, INVALID_CONFIDENCE})


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
    # None only for tickets stored before release 2.5, when nobody recorded why.
    reason: str | None = None

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "TCK-1001"; empty until the ticket is stored."""
        return f"TCK-{REF_OFFSET + self.id}" if self.id is not None else ""

    @property
    def is_blank(self) -> bool:
        """True when subject and body hold nothing but whitespace: nothing to classify."""
        return not self.subject.strip() and not self.body.strip()
