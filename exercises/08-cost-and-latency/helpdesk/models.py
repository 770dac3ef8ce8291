"""Domain objects shared by the repository, the routing rules and the batch classifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

# Refs started at TCK-1001 when tickets moved off the old mail-merge system; agents and customers
# quote them on the phone, so the offset can never change.
REF_OFFSET = 1000

# Who decided a ticket's queue: a model, or the keyword rules (including every fallback).
RoutedBy = Literal["model", "rules"]
ROUTED_BY_MODEL: RoutedBy = "model"
ROUTED_BY_RULES: RoutedBy = "rules"


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
    status: str = "open"  # "open" or "closed"; only open tickets are in the backlog

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "TCK-1001"; empty until the ticket is stored."""
        return f"TCK-{REF_OFFSET + self.id}" if self.id is not None else ""

    @property
    def is_blank(self) -> bool:
        """True when subject and body hold nothing but whitespace: nothing to classify."""
        return not self.subject.strip() and not self.body.strip()
