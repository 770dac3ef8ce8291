"""The weekly re-classification of the backlog: every open ticket is asked about again.

Release 2.5 runs it on Monday mornings from cron (`python -m helpdesk.cli reclassify`). Queues drift
as the shop changes (new payment methods, a new courier), so tickets the model routed months ago are
checked against today's model, and tickets the rules routed get a second chance.

Since 2.6 a run is a cascade (the small model first, the large one only when the small one is not
sure), has a budget in USD, and keeps up to `max_concurrency` requests in flight at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import openai

from helpdesk.classifier import Classification, ModelClassifier
from helpdesk.config import Settings
from helpdesk.costs import RunLedger, cost_of, nearest_rank
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)

DECIDED_BY_RULES = "rules"


class Clock(Protocol):
    def monotonic(self) -> float: ...


class SystemClock:
    """The default clock: the process's monotonic time."""

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class Result:
    """What the batch decided for one ticket."""

    ticket_id: int
    ref: str
    queue: Queue
    decided_by: str  # the name of the model whose answer was used, or "rules"
    confidence: float | None = None  # the model's confidence when a model decided


@dataclass
class BatchReport:
    """The outcome of one run: a result per ticket, in the order the tickets were given."""

    results: list[Result]
    seconds: float  # duration of the run on the clock, for the ops dashboard
    tickets_by_model: dict[str, int] = field(default_factory=dict)  # decided_by -> tickets
    cost: float = 0.0  # USD, from the usage of every answer
    latency_p50: float | None = None  # seconds per request, nearest rank; None without requests
    latency_p95: float | None = None


class BacklogReclassifier:
    """Re-classifies a list of tickets and stores each ticket's new queue.

    With a `client` (an `openai.AsyncOpenAI`), the small model is asked first and the large one
    (`settings.model`) only when the small one is not sure; the keyword rules are the fallback, and
    decide everything without a client or once the run's budget is spent.
    """

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.AsyncOpenAI | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.classifier = ModelClassifier(client, self.settings.request_timeout) if client is not None else None

    def run(self, tickets: Iterable[Ticket]) -> BatchReport:
        """Decide and store a queue for every ticket; the report keeps the tickets' order."""
        tickets = list(tickets)
        started = self.clock.monotonic()
        ledger = RunLedger(self.settings.run_budget)
        if self.classifier is None:
            results = [self._store(self._by_rules(ticket)) for ticket in tickets]
        else:
            results = asyncio.run(self._decide_all(self.classifier, tickets, ledger))
        report = BatchReport(
            results=results,
            seconds=self.clock.monotonic() - started,
            tickets_by_model=dict(Counter(result.decided_by for result in results)),
            cost=ledger.cost,
            latency_p50=nearest_rank(ledger.latencies, 50),
            latency_p95=nearest_rank(ledger.latencies, 95),
        )
        log.info("re-classified %d tickets in %.0f s for $%.4f: %s", len(results), report.seconds,
                 report.cost, report.tickets_by_model)
        return report

    async def _decide_all(self, classifier: ModelClassifier, tickets: list[Ticket], ledger: RunLedger) -> list[Result]:
        # One slot per request in flight; gather() keeps the input order whatever finishes first.
        slots = asyncio.Semaphore(self.settings.max_concurrency)
        return await asyncio.gather(*(self._decide(classifier, ticket, slots, ledger) for ticket in tickets))

    async def _decide(self, classifier: ModelClassifier, ticket: Ticket, slots: asyncio.Semaphore,
                      ledger: RunLedger) -> Result:
        assert ticket.id is not None, "only stored tickets are re-classified"
        if not ticket.is_blank:
            small = await self._ask(classifier, ticket, self.settings.small_model, slots, ledger)
            if small is not None and small.confidence >= self.settings.cascade_threshold:
                return self._store(Result(ticket.id, ticket.ref, small.queue, self.settings.small_model, small.confidence))
            large = await self._ask(classifier, ticket, self.settings.model, slots, ledger)
            if large is not None and large.confidence >= self.settings.confidence_threshold:
                return self._store(Result(ticket.id, ticket.ref, large.queue, self.settings.model, large.confidence))
        return self._store(self._by_rules(ticket))

    async def _ask(self, classifier: ModelClassifier, ticket: Ticket, model: str, slots: asyncio.Semaphore,
                   ledger: RunLedger) -> Classification | None:
        """One request within the concurrency cap and the budget; None when unusable or not sent."""
        async with slots:
            # Asked once a slot is free, right before sending: answers received meanwhile have counted.
            if not ledger.can_spend():
                log.info("budget of $%.2f spent; %s goes to the rules", ledger.budget, ticket.ref)
                return None
            sent_at = self.clock.monotonic()  # after the wait for a slot: latency is the request's own
            answer = await classifier.classify(ticket, model)
            ledger.record(cost_of(answer.usage, self.settings.prices[model]), self.clock.monotonic() - sent_at)
        return answer.classification

    def _store(self, result: Result) -> Result:
        # Stored as soon as decided: a run stopped half-way keeps what it paid for.
        routed_by = ROUTED_BY_RULES if result.decided_by == DECIDED_BY_RULES else ROUTED_BY_MODEL
        self.repo.set_queue(result.ticket_id, result.queue, routed_by=routed_by)
        return result

    def _by_rules(self, ticket: Ticket) -> Result:
        assert ticket.id is not None, "only stored tickets are re-classified"
        return Result(ticket.id, ticket.ref, self._route_by_rules(ticket), DECIDED_BY_RULES)

    @staticmethod
    def _route_by_rules(ticket: Ticket) -> Queue:
        try:
            return route_by_keywords(ticket.subject, ticket.body)
        except Exception:  # a batch must never stop because of one ticket; agents re-route by hand
            log.exception("keyword routing failed for %s; it goes to the general queue", ticket.ref)
            return Queue.GENERAL
