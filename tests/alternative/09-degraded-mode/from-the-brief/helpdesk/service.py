"""The helpdesk service, with a degraded mode for model outages."""

from __future__ import annotations

import logging
import time
from typing import Protocol

import openai

from helpdesk.classifier import Classification, ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class _RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _Unavailable(Exception):
    pass


class _Breaker:
    def __init__(self, threshold: int, cooldown: float, clock: Clock) -> None:
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self.failures = 0
        self.open_until: float | None = None
        self.trial = False

    def may_call(self) -> bool:
        if self.open_until is None:
            return True
        if self.trial:
            return False
        if self.clock.monotonic() >= self.open_until:
            self.trial = True
            return True
        return False

    def succeeded(self) -> None:
        self.failures, self.open_until, self.trial = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.trial or self.failures >= self.threshold:
            self.open_until = self.clock.monotonic() + self.cooldown
            self.trial = False

    @property
    def is_open(self) -> bool:
        return self.open_until is not None and not self.trial


def _retryable(err: openai.APIError) -> bool:
    if isinstance(err, openai.APIConnectionError):
        return True
    return isinstance(err, openai.APIStatusError) and (err.status_code == 429 or err.status_code >= 500)


def _retry_after(err: openai.APIError) -> float:
    response = getattr(err, "response", None)
    try:
        return float(response.headers.get("retry-after", 0)) if response is not None else 0.0
    except ValueError:
        return 0.0


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them."""

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.clock = clock or _RealClock()
        self.client = client.with_options(max_retries=0) if client is not None else None
        self.classifier = ModelClassifier(self.client, self.settings.model) if self.client is not None else None
        self._breaker = _Breaker(self.settings.breaker_threshold, self.settings.breaker_cooldown, self.clock)

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        started = self.clock.monotonic()
        subject = subject.strip()[: self.settings.max_subject_length]
        try:
            queue = route_by_keywords(subject, body)
        except Exception:
            queue = Queue.GENERAL
        ticket = self.repo.add(
            Ticket(id=None, subject=subject, body=body, customer_email=customer_email, queue=queue,
                   routed_by=ROUTED_BY_RULES)
        )
        if self.classifier is None or ticket.is_blank or ticket.id is None:
            return ticket
        try:
            answer = self._classify(ticket, started + self.settings.ticket_budget)
        except _Unavailable as why:
            log.warning("%s routed by rules in degraded mode: %s", ticket.ref, why)
            self.repo.mark_degraded(ticket.id)
            ticket.degraded = True
            return ticket
        if answer is not None and answer.confidence >= self.settings.confidence_threshold:
            self.repo.set_queue(ticket.id, answer.queue, routed_by=ROUTED_BY_MODEL)
            ticket.queue, ticket.routed_by = answer.queue, ROUTED_BY_MODEL
        return ticket

    def _classify(self, ticket: Ticket, deadline: float) -> Classification | None:
        assert self.classifier is not None and self.client is not None
        s = self.settings
        for attempt in range(s.max_attempts):
            if not self._breaker.may_call():
                raise _Unavailable("breaker open")
            # Only start a call that can finish (time out) inside the budget.
            if deadline - self.clock.monotonic() < s.request_timeout:
                raise _Unavailable("not enough budget left for a call")
            try:
                answer = self.classifier.classify(ticket, self.client.with_options(timeout=s.request_timeout))
            except openai.APIError as err:
                if not _retryable(err):
                    raise _Unavailable(f"not retryable: {err}") from err
                self._breaker.failed()
                if attempt + 1 >= s.max_attempts or self._breaker.is_open:
                    raise _Unavailable("gave up") from err
                pause = s.backoff_base * 2**attempt
                if isinstance(err, openai.RateLimitError):
                    pause = max(pause, _retry_after(err))
                if self.clock.monotonic() + pause > deadline:
                    raise _Unavailable("wait beyond budget") from err
                self.clock.sleep(pause)
            else:
                self._breaker.succeeded()
                return answer
        raise _Unavailable("no attempts")

    def get(self, ticket_id: int) -> Ticket:
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket
