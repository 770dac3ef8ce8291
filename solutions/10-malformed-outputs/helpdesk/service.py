"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging

import openai

from helpdesk.classifier import ModelCallFailed, ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import (
    ANSWERED,
    API_ERROR,
    BLANK,
    LOW_CONFIDENCE,
    NO_MODEL,
    REPAIRED,
    ROUTED_BY_MODEL,
    ROUTED_BY_RULES,
    Queue,
    Ticket,
)
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them.

    With a `client`, a chat model routes each ticket and the keyword rules are the fallback; without
    one, the rules route everything, exactly as before the model was introduced. Every ticket records
    why it went where it went (`reason`).
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
            ModelClassifier(client, self.settings.model, self.settings.request_timeout)
            if client is not None
            else None
        )

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it (with its id, ref, `routed_by` and `reason`).

        Never raises because of the model: whatever it answers, or fails to, the rules are the fallback.
        """
        subject = subject.strip()[: self.settings.max_subject_length]
        new = Ticket(
            id=None,
            subject=subject,
            body=body,
            customer_email=customer_email,
            queue=self._route_by_rules(subject, body),
            routed_by=ROUTED_BY_RULES,
        )
        asks_model = self.classifier is not None and not new.is_blank
        if not asks_model:
            new.reason = NO_MODEL if self.classifier is None else BLANK
        # Stored first, routed by the rules: the ref the model needs only exists once the row does, and
        # the ticket is never lost whatever happens with the model call. Its reason is set after the call.
        ticket = self.repo.add(new)
        if self.classifier is not None and asks_model:
            self._route_by_model(self.classifier, ticket)
        log.info(
            "ticket %s routed to %s by %s (%s)", ticket.ref, ticket.queue.value, ticket.routed_by, ticket.reason
        )
        return ticket

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket

    def _route_by_model(self, classifier: ModelClassifier, ticket: Ticket) -> None:
        """Let the model's answer decide the queue when it is usable and confident enough; record why."""
        assert ticket.id is not None  # stored just before
        try:
            verdict, repaired = classifier.classify(ticket)
        except ModelCallFailed:
            reason, queue = API_ERROR, None
        else:
            if verdict.reason is not None:
                reason, queue = verdict.reason, None
            elif verdict.confidence is not None and verdict.confidence < self.settings.confidence_threshold:
                log.info(
                    "model confidence %.2f for %s is below %.2f; keeping the rules' queue",
                    verdict.confidence,
                    ticket.ref,
                    self.settings.confidence_threshold,
                )
                reason, queue = LOW_CONFIDENCE, None
            else:
                reason, queue = (REPAIRED if repaired else ANSWERED), verdict.queue
        if queue is None:
            log.warning("rules route %s: %s", ticket.ref, reason)
            self.repo.set_queue(ticket.id, ticket.queue, routed_by=ROUTED_BY_RULES, reason=reason)
            ticket.reason = reason
            return
        self.repo.set_queue(ticket.id, queue, routed_by=ROUTED_BY_MODEL, reason=reason)
        ticket.queue, ticket.routed_by, ticket.reason = queue, ROUTED_BY_MODEL, reason

    @staticmethod
    def _route_by_rules(subject: str, body: str) -> Queue:
        try:
            return route_by_keywords(subject, body)
        except Exception:  # intake must never fail because of routing; agents re-route by hand
            log.exception("keyword routing failed; ticket goes to the general queue")
            return Queue.GENERAL
