"""Domain objects shared by the repository, the routing rules and the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum

# Refs started at TCK-1001 when tickets moved off the old mail-merge system; agents and customers
# quote them on the phone, so the offset can never change.
REF_OFFSET = 1000


class Queue(str, Enum):  # noqa: UP042 - written before StrEnum existed
    """The team queues a ticket can land in. Values are stored in the database as they are."""

    BILLING = "billing"
    TECHNICAL = "technical"
    ACCOUNT = "account"
    SHIPPING = "shipping"
    GENERAL = "general"


class RoutedBy(StrEnum):
    MODEL = "model"
    RULES = "rules"


@dataclass
class Ticket:
    """A customer support ticket. `id` is None until the repository has stored it."""

    id: int | None
    subject: str
    body: str
    customer_email: str
    queue: Queue = Queue.GENERAL
    created_at: datetime | None = None
    routed_by: RoutedBy = RoutedBy.RULES

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "TCK-1001"; empty until the ticket is stored."""
        return f"TCK-{REF_OFFSET + self.id}" if self.id is not None else ""
