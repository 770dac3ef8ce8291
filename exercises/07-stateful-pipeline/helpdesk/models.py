"""Domain objects of the nightly intake: the e-mails, the team queues and what the run made of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Queue(str, Enum):  # noqa: UP042 - written before StrEnum existed
    """The team queues an e-mail can land in. Values are stored in the database as they are."""

    BILLING = "billing"
    TECHNICAL = "technical"
    ACCOUNT = "account"
    SHIPPING = "shipping"
    GENERAL = "general"


@dataclass(frozen=True)
class Email:
    """One e-mail of the day, as the mail gateway exported it (text untouched, whitespace included)."""

    message_id: str  # the gateway's id, e.g. "IN-20250603-0004"; unique across days
    sender: str
    received_at: str  # ISO 8601, as the gateway wrote it
    subject: str
    body: str


@dataclass
class IntakeResult:
    """What the run decided for one e-mail: its queue, the model's confidence and the drafted reply."""

    email: Email
    queue: Queue
    confidence: float
    reply: str


@dataclass
class NightlySummary:
    """What `run_nightly` returns (and what cron mails to the team lead with the report)."""

    day: str
    emails: int
    by_queue: dict[str, int] = field(default_factory=dict)
