"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging
import time
from typing import Literal, Protocol, TextIO

import openai
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from helpdesk.classifier import PROMPT_VERSION, Classification, ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords
from helpdesk.telemetry import Telemetry, trace_id

log = logging.getLogger(__name__)


class Clock(Protocol):
    """What the service needs of a clock: tests pass a fake one that never really waits."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# How a ticket was routed, as spans and log records say it: by the model, by the rules because the model
# gave no usable answer (or was not asked), or by the rules because the model failed.
Outcome = Literal["model", "rules", "degraded"]


class ModelUnavailable(Exception):
    """The model could not be used for a ticket: the rules route it, degraded."""

    def __init__(self, ref: str, calls: int) -> None:
        super().__init__(ref)
        self.calls = calls  # the failed calls made before giving up


def _worth_retrying(err: openai.APIError) -> bool:
    # A time-out or a lost connection (APITimeoutError is an APIConnectionError), a 429 or a 5xx may work
    # next time; any other 4xx is our request's fault and would fail the same way again.
    if isinstance(err, openai.APIConnectionError):
        return True
    return isinstance(err, openai.APIStatusError) and (err.status_code == 429 or err.status_code >= 500)


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
        clock: Clock | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        log_stream: TextIO | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.telemetry = Telemetry(tracer_provider, meter_provider, log_stream)
        self.classifier = (
            ModelClassifier(
                client, self.settings.model, self.settings.request_timeout, self.telemetry, self.clock.monotonic
            )
            if client is not None
            else None
        )

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it (with its id, ref, `routed_by`, `degraded`).

        The whole intake is one span, `helpdesk.submit`, a child of the caller's current span; each model
        call is a span of its own inside it. One JSON log record per ticket says how it was routed.
        """
        with self.telemetry.tracer.start_as_current_span("helpdesk.submit") as span:
            ticket, calls = self._submit(subject, body, customer_email)
            outcome: Outcome = "degraded" if ticket.degraded else ticket.routed_by
            attributes: dict[str, str | int] = {
                "helpdesk.ticket.ref": ticket.ref,
                "helpdesk.ticket.queue": ticket.queue.value,
                "helpdesk.ticket.outcome": outcome,
            }
            if calls:
                attributes["helpdesk.prompt.version"] = PROMPT_VERSION
            span.set_attributes(attributes)
            self.telemetry.log(
                {
                    "event": "ticket_routed",
                    "ticket": ticket.ref,
                    "queue": ticket.queue.value,
                    "outcome": outcome,
                    "model_calls": calls,
                    "prompt_version": PROMPT_VERSION if calls else None,
                    "trace_id": trace_id(span),
                }
            )
            return ticket

    def _submit(self, subject: str, body: str, customer_email: str) -> tuple[Ticket, int]:
        """The intake itself: the stored, routed ticket and the number of model calls it took."""
        subject = subject.strip()[: self.settings.max_subject_length]
        new = Ticket(
            id=None,
            subject=subject,
            body=body,
            customer_email=customer_email,
            queue=self._route_by_rules(subject, body),
            routed_by=ROUTED_BY_RULES,
        )
        # Stored first, routed by the rules: the ref the model needs only exists once the row does, and
        # the ticket is never lost whatever happens with the model call.
        ticket = self.repo.add(new)
        calls = 0
        if self.classifier is not None and not ticket.is_blank:
            calls = self._route_by_model(self.classifier, ticket)
        # The mail gateway's on-call dashboard greps these lines; keep the wording, without the customer's
        # e-mail address (personal data has no place in logs: the ref leads to the ticket).
        log.info(
            "ticket %s routed to %s by %s%s",
            ticket.ref,
            ticket.queue.value,
            ticket.routed_by,
            " (degraded)" if ticket.degraded else "",
        )
        return ticket, calls

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket

    def _route_by_model(self, classifier: ModelClassifier, ticket: Ticket) -> int:
        """Let the model's answer decide the queue when it is usable and confident enough; returns the
        number of model calls made."""
        assert ticket.id is not None  # stored just before
        try:
            answer, calls = self._ask(classifier, ticket)
        except ModelUnavailable as failure:
            self.repo.mark_degraded(ticket.id)
            ticket.degraded = True
            return failure.calls
        if answer is None:
            return calls
        if answer.confidence < self.settings.confidence_threshold:
            log.info(
                "model confidence %.2f for %s is below %.2f; keeping the rules' queue",
                answer.confidence,
                ticket.ref,
                self.settings.confidence_threshold,
            )
            return calls
        self.repo.set_queue(ticket.id, answer.queue, routed_by=ROUTED_BY_MODEL)
        ticket.queue, ticket.routed_by = answer.queue, ROUTED_BY_MODEL
        return calls

    def _ask(self, classifier: ModelClassifier, ticket: Ticket) -> tuple[Classification | None, int]:
        """One answer for the ticket and the calls it took, retrying failures worth it; raises
        ModelUnavailable when none came."""
        for attempt in range(1, self.settings.max_attempts + 1):
            started = self.clock.monotonic()
            try:
                answer = classifier.classify(ticket)
            except openai.APIError as err:
                log.warning("model call %d for %s failed (%s)", attempt, ticket.ref, type(err).__name__)
                if not _worth_retrying(err) or attempt == self.settings.max_attempts:
                    raise ModelUnavailable(ticket.ref, attempt) from err
                self.clock.sleep(self.settings.retry_wait)
                continue
            # Kept for the dashboard until it reads gen_ai.client.operation.duration instead.
            took_ms = (self.clock.monotonic() - started) * 1000
            log.info("model call %d for %s took %.0f ms", attempt, ticket.ref, took_ms)
            return answer, attempt
        raise ModelUnavailable(ticket.ref, self.settings.max_attempts)  # not reached: max_attempts is at least 1

    @staticmethod
    def _route_by_rules(subject: str, body: str) -> Queue:
        try:
            return route_by_keywords(subject, body)
        except Exception:  # intake must never fail because of routing; agents re-route by hand
            log.exception("keyword routing failed; ticket goes to the general queue")
            return Queue.GENERAL
