"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging

from helpdesk.config import Settings
from helpdesk.models import Queue, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them."""

    def __init__(self, repo: TicketRepository, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it (with its id and ref)."""
        subject = subject.strip()[: self.settings.max_subject_length]
        try:
            queue = route_by_keywords(subject, body)
        except Exception:  # intake must never fail because of routing; agents re-route by hand
            log.exception("keyword routing failed; ticket goes to the general queue")
            queue = Queue.GENERAL
        new = Ticket(id=None, subject=subject, body=body, customer_email=customer_email, queue=queue)
        ticket = self.repo.add(new)
        log.info("ticket %s routed to %s", ticket.ref, ticket.queue.value)
        return ticket

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket
