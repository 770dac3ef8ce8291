"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import json
import logging

from pydantic import BaseModel

from helpdesk.config import Settings
from helpdesk.models import Queue, RoutedBy, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)


class Triage(BaseModel):
    queue: str
    confidence: float


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them."""

    def __init__(self, repo: TicketRepository, settings: Settings | None = None, client=None) -> None:
        self.repo = repo
        self.client = client
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
        if self.client is not None and (subject.strip() or body.strip()):
            ans = self._ask(ticket)
            if ans is not None and ans.queue in Queue._value2member_map_ and ans.confidence >= self.settings.confidence_threshold:
                ticket.queue, ticket.routed_by = Queue(ans.queue), RoutedBy.MODEL
                self.repo.record_routing(ticket.id, ticket.queue, ticket.routed_by)
        log.info("ticket %s routed to %s", ticket.ref, ticket.queue.value)
        return ticket

    def _ask(self, ticket):
        r = self.client.chat.completions.parse(model=self.settings.model, messages=[{"role": "system", "content": "Classify the support ticket."}, {"role": "user", "content": json.dumps({"ref": ticket.ref, "subject": ticket.subject, "body": ticket.body})}], response_format=Triage, temperature=0, timeout=15.0)
        return r.choices[0].message.parsed

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket
