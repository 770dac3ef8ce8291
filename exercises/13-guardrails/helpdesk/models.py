"""Domain objects shared by the repository, the action runner, the assistant and the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

# Refs started at TCK-1001 when tickets moved off the old mail-merge system; agents and customers
# quote them on the phone, so the offset can never change.
REF_OFFSET = 1000
REF_PREFIX = "TCK-"


class Priority(str, Enum):  # noqa: UP042 - written before StrEnum existed
    """How soon a ticket needs an answer. Values are stored in the database as they are."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Status(str, Enum):  # noqa: UP042
    """Whether a ticket still waits for the team."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass
class Customer:
    """A customer as the shop's account system exported it. `id` is None until stored."""

    id: int | None
    name: str
    email: str
    phone: str | None = None
    plan: str = "standard"


@dataclass
class Ticket:
    """A support ticket of one customer. `id` is None until the repository has stored it."""

    id: int | None
    customer_id: int
    subject: str
    body: str
    status: Status = Status.OPEN
    priority: Priority = Priority.NORMAL
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "TCK-1001"; empty until the ticket is stored."""
        return f"{REF_PREFIX}{REF_OFFSET + self.id}" if self.id is not None else ""


def ticket_id_of(ref: str) -> int:
    """The id behind a ref such as "TCK-1001"; raises LookupError for anything else."""
    digits = ref.strip().upper().removeprefix(REF_PREFIX)
    if not digits.isdigit() or int(digits) <= REF_OFFSET:
        raise LookupError(f"not a ticket ref: {ref!r}")
    return int(digits) - REF_OFFSET


@dataclass
class Action:
    """One change to a ticket, as the agents' console names it: `close_ticket` on "TCK-1001", say.

    `value` is the action's argument ("" when it takes none): a tag, a priority, an e-mail address.
    """

    name: str
    ticket: str
    value: str = ""


@dataclass
class Suggestion:
    """What the reply assistant gives the agent: a draft reply and the actions it applied.

    `reply` is None when the assistant had nothing to offer (the model could not be reached, refused
    or answered out of shape); the agent then writes the reply alone, as before release 2.6.
    """

    ticket_ref: str
    reply: str | None
    applied: list[Action] = field(default_factory=list)
