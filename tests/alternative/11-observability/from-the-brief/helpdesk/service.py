"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging
import time
from typing import Any, TextIO

import openai
from opentelemetry import trace

from helpdesk.classifier import PROMPT_VERSION, UNUSABLE, ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, Ticket
from helpdesk.observability import Observability, hex_trace_id
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _retryable(err: openai.APIError) -> bool:
    if isinstance(err, openai.APIConnectionError):
        return True
    return isinstance(err, openai.APIStatusError) and (err.status_code == 429 or err.status_code >= 500)


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them."""

    def __init__(self, repo: TicketRepository, settings: Settings | None = None, client: openai.OpenAI | None = None,
                 clock: Any = None, tracer_provider: Any = None, meter_provider: Any = None,
                 log_stream: TextIO | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.obs = Observability(tracer_provider, meter_provider, log_stream)
        self.classifier = None
        if client is not None:
            self.classifier = ModelClassifier(client, self.settings.model, self.settings.request_timeout)

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it."""
        span = self.obs.tracer.start_span("helpdesk.submit")
        with trace.use_span(span, end_on_exit=True):
            subject = subject.strip()[: self.settings.max_subject_length]
            ticket = self.repo.add(Ticket(id=None, subject=subject, body=body, customer_email=customer_email,
                                          queue=self._rules(subject, body), routed_by=ROUTED_BY_RULES))
            attempts: list[int] = []
            if self.classifier is not None and not ticket.is_blank:
                self._use_model(ticket, attempts)
            outcome = "degraded" if ticket.degraded else ("model" if ticket.routed_by == ROUTED_BY_MODEL else "rules")
            span.set_attribute("helpdesk.ticket.ref", ticket.ref)
            span.set_attribute("helpdesk.ticket.queue", ticket.queue.value)
            span.set_attribute("helpdesk.ticket.outcome", outcome)
            if attempts:
                span.set_attribute("helpdesk.prompt.version", PROMPT_VERSION)
            log.info("ticket %s routed to %s by %s", ticket.ref, ticket.queue.value, outcome)
            self.obs.ticket_done({"ticket": ticket.ref, "queue": ticket.queue.value, "outcome": outcome,
                                  "model_calls": len(attempts), "trace_id": hex_trace_id(span)})
            return ticket

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket

    def _use_model(self, ticket: Ticket, attempts: list[int]) -> None:
        classifier = self.classifier
        assert classifier is not None and ticket.id is not None
        answer = None
        while True:
            attempts.append(len(attempts) + 1)
            try:
                completion = self.obs.call_model(self.settings.model, lambda: classifier.request(ticket))
            except UNUSABLE:
                log.warning("unusable model answer for %s", ticket.ref)
                return
            except openai.APIError as err:
                log.warning("model call %d for %s failed (%s)", len(attempts), ticket.ref, type(err).__name__)
                if _retryable(err) and len(attempts) < self.settings.max_attempts:
                    self.clock.sleep(self.settings.retry_wait)
                    continue
                self.repo.mark_degraded(ticket.id)
                ticket.degraded = True
                return
            answer = classifier.read(completion, ticket.ref)
            break
        if answer is None or answer.confidence < self.settings.confidence_threshold:
            return
        self.repo.set_queue(ticket.id, answer.queue, routed_by=ROUTED_BY_MODEL)
        ticket.queue, ticket.routed_by = answer.queue, ROUTED_BY_MODEL

    @staticmethod
    def _rules(subject: str, body: str) -> Queue:
        try:
            return route_by_keywords(subject, body)
        except Exception:
            log.exception("keyword routing failed; ticket goes to the general queue")
            return Queue.GENERAL
