"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging

import openai

from helpdesk.classifier import Classification, ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, RoutedBy, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)


def decide_queue(answer: Classification | None, rules_queue: Queue, threshold: float) -> tuple[Queue, RoutedBy]:
    """The queue a ticket ends in: the model's when its answer is usable and confident enough.

    The one place the routing policy lives, so the golden-set evaluation measures what customers get.
    """
    if answer is None or answer.confidence < threshold:
        return rules_queue, ROUTED_BY_RULES
    return answer.queue, ROUTED_BY_MODEL


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them.

    With a `client`, a chat model routes each ticket and the keyword rules are the fallback; without
    one, the rules route everything, exactly as before the model was introduced.
    """

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.classifier = (
            ModelClassifier(client, self.settings.model, self.settings.prompt_version)
            if client is not None
            else None
        )

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it (with its id, ref and `routed_by`)."""
        subject = subject.strip()[: self.settings.max_subject_length]
        new = Ticket(
            id=None,
            subject=subject,
            body=body,
            customer_email=customer_email,
            queue=route_by_rules(subject, body),
            routed_by=ROUTED_BY_RULES,
        )
        # Stored first, routed by the rules: the ref the model needs only exists once the row does, and
        # the ticket is never lost whatever happens with the model call.
        ticket = self.repo.add(new)
        if self.classifier is not None and not ticket.is_blank and ticket.id is not None:
            answer = self.classifier.classify(ticket)
            queue, routed_by = decide_queue(answer, ticket.queue, self.settings.confidence_threshold)
            if routed_by == ROUTED_BY_MODEL:
                self.repo.set_queue(ticket.id, queue, routed_by=routed_by)
                ticket.queue, ticket.routed_by = queue, routed_by
        log.info("ticket %s routed to %s by %s", ticket.ref, ticket.queue.value, ticket.routed_by)
        return ticket

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket


def route_by_rules(subject: str, body: str) -> Queue:
    """The keyword rules' queue; GENERAL if the table itself fails (intake must never fail on routing)."""
    try:
        return route_by_keywords(subject, body)
    except Exception:  # agents re-route by hand
        log.exception("keyword routing failed; ticket goes to the general queue")
        return Queue.GENERAL
