"""The actions of the agents' console: what an agent (and, since 2.6, the reply assistant) can do to a ticket."""

from __future__ import annotations

import logging

from helpdesk.models import Action, Priority, Status, Ticket, ticket_id_of
from helpdesk.repository import HelpdeskRepository

log = logging.getLogger(__name__)


class ActionRunner:
    """Runs console actions by name against the repository.

    Every action is a `_<name>(ticket, value)` method, so adding an action to the console is adding a
    method here. Unknown names raise ValueError; a ref that names no ticket raises LookupError.
    """

    def __init__(self, repo: HelpdeskRepository) -> None:
        self.repo = repo

    def names(self) -> list[str]:
        """The actions the console knows, for the help text and the assistant's prompt."""
        return sorted(name[1:] for name in dir(self) if name.startswith("_") and not name.startswith("__"))

    def run(self, action: Action) -> Ticket:
        """Run one action and return the ticket as it is afterwards."""
        handler = getattr(self, f"_{action.name}", None)
        if handler is None or action.name.startswith("_"):
            raise ValueError(f"unknown action {action.name!r}")
        ticket = self.repo.get_ticket(ticket_id_of(action.ticket))
        if ticket is None:
            raise LookupError(f"no ticket {action.ticket}")
        handler(ticket, action.value)
        log.info("ran %s on %s", action.name, ticket.ref)
        return self.repo.get_ticket(ticket.id)  # type: ignore[arg-type, return-value]

    def _add_tag(self, ticket: Ticket, value: str) -> None:
        if not value.strip():
            raise ValueError("add_tag needs a tag")
        self.repo.add_tag(ticket.id, value.strip())  # type: ignore[arg-type]

    def _set_priority(self, ticket: Ticket, value: str) -> None:
        self.repo.set_priority(ticket.id, Priority(value.strip().lower()))  # type: ignore[arg-type]

    def _close_ticket(self, ticket: Ticket, value: str) -> None:
        self.repo.set_status(ticket.id, Status.CLOSED)  # type: ignore[arg-type]

    def _reopen_ticket(self, ticket: Ticket, value: str) -> None:
        self.repo.set_status(ticket.id, Status.OPEN)  # type: ignore[arg-type]

    def _change_email(self, ticket: Ticket, value: str) -> None:
        # Agents do this when a customer has lost access to the old mailbox (HD-733).
        if "@" not in value:
            raise ValueError("change_email needs an e-mail address")
        self.repo.set_customer_email(ticket.customer_id, value.strip())
