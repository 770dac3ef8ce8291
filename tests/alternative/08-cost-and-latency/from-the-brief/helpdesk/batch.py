"""The weekly re-classification of the backlog, as a cascade of two models with a budget.

A fixed pool of worker tasks (as many as `max_concurrency`) takes tickets from a queue in the order
given; each worker sends at most one request at a time, so the pool bounds the requests in flight.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import openai
from pydantic import ValidationError

from helpdesk.classifier import SYSTEM_PROMPT, Classification, user_message
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)

DECIDED_BY_RULES = "rules"
MILLION = Decimal(1_000_000)

# The structured output, written out: strict mode needs every field required and nothing else allowed.
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "classification",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "queue": {"type": "string", "enum": [q.value for q in Queue]},
                "confidence": {"type": "number"},
            },
            "required": ["queue", "confidence"],
            "additionalProperties": False,
        },
    },
}


@dataclass
class Result:
    """What the batch decided for one ticket."""

    ticket_id: int
    ref: str
    queue: Queue
    decided_by: str  # the name of the model whose answer was used, or "rules"
    confidence: float | None = None


@dataclass
class BatchReport:
    """The outcome of one run: a result per ticket, in the order the tickets were given."""

    results: list[Result]
    seconds: float
    tickets_by_model: dict[str, int] = field(default_factory=dict)
    cost: float = 0.0
    latency_p50: float | None = None
    latency_p95: float | None = None


def percentile(values: list[float], p: int) -> float | None:
    """Nearest rank: the smallest value that at least p% of the values do not exceed."""
    if not values:
        return None
    rank = -(-p * len(values) // 100)  # ceil(p * n / 100) in integers
    return sorted(values)[max(rank, 1) - 1]


class _Run:
    """The state one run shares between its workers: money spent and time taken."""

    def __init__(self, budget: float) -> None:
        self.budget = Decimal(str(budget))
        self.spent = Decimal(0)
        self.latencies: list[float] = []


class BacklogReclassifier:
    """Re-classifies a list of tickets and stores each ticket's new queue."""

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.AsyncOpenAI | None = None,
        clock: Any = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.client = client
        self.clock = clock if clock is not None else time  # the time module has monotonic() too
        for name in {self.settings.small_model, self.settings.model}:
            price = self.settings.prices.get(name)
            if not price or any(k not in price for k in ("input", "cached_input", "output")):
                raise ValueError(f"model {name!r} has no complete price in settings.prices")

    def run(self, tickets: Iterable[Ticket]) -> BatchReport:
        """Decide and store a queue for every ticket; the report keeps the tickets' order."""
        todo = list(tickets)
        t0 = self.clock.monotonic()
        state = _Run(self.settings.run_budget)
        if self.client is None:
            results = [self._rules(t) for t in todo]
        else:
            results = asyncio.run(self._pool(todo, state))
        counts: dict[str, int] = {}
        for r in results:
            self.repo.set_queue(r.ticket_id, r.queue,
                                routed_by=ROUTED_BY_RULES if r.decided_by == DECIDED_BY_RULES else ROUTED_BY_MODEL)
            counts[r.decided_by] = counts.get(r.decided_by, 0) + 1
        return BatchReport(results=results, seconds=self.clock.monotonic() - t0, tickets_by_model=counts,
                           cost=float(state.spent), latency_p50=percentile(state.latencies, 50),
                           latency_p95=percentile(state.latencies, 95))

    async def _pool(self, todo: list[Ticket], state: _Run) -> list[Result]:
        slots: list[Result | None] = [None] * len(todo)
        work: asyncio.Queue[tuple[int, Ticket]] = asyncio.Queue()
        for pair in enumerate(todo):
            work.put_nowait(pair)

        async def worker() -> None:
            while not work.empty():
                position, ticket = work.get_nowait()
                slots[position] = await self._cascade(ticket, state)

        await asyncio.gather(*(worker() for _ in range(min(self.settings.max_concurrency, len(todo)))))
        return [r for r in slots if r is not None]

    async def _cascade(self, ticket: Ticket, state: _Run) -> Result:
        s = self.settings
        if ticket.is_blank:
            return self._rules(ticket)
        for model, threshold in ((s.small_model, s.cascade_threshold), (s.model, s.confidence_threshold)):
            if state.spent >= state.budget:
                break
            answer = await self._ask(model, ticket, state)
            if answer is not None and answer.confidence >= threshold:
                return Result(ticket.id, ticket.ref, answer.queue, model, answer.confidence)  # type: ignore[arg-type]
        return self._rules(ticket)

    async def _ask(self, model: str, ticket: Ticket, state: _Run) -> Classification | None:
        started = self.clock.monotonic()
        try:
            completion = await self.client.chat.completions.create(  # type: ignore[union-attr]
                model=model,
                messages=[{"role": "system", "content": SYSTEM_PROMPT},
                          {"role": "user", "content": user_message(ticket)}],
                response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
                timeout=self.settings.request_timeout,
            )
        except openai.APIError as err:
            state.latencies.append(self.clock.monotonic() - started)
            log.warning("%s failed for %s: %s", model, ticket.ref, type(err).__name__)
            return None
        state.latencies.append(self.clock.monotonic() - started)
        state.spent += self._price(model, completion.usage)
        message = completion.choices[0].message
        if message.refusal or not message.content:
            return None
        try:
            return Classification.model_validate(json.loads(message.content))
        except (ValueError, ValidationError):
            return None

    def _price(self, model: str, usage: Any) -> Decimal:
        if usage is None:
            return Decimal(0)
        price = {k: Decimal(str(v)) for k, v in self.settings.prices[model].items()}
        details = getattr(usage, "prompt_tokens_details", None)
        cached = Decimal((details.cached_tokens or 0) if details is not None else 0)
        prompt, completion = Decimal(usage.prompt_tokens or 0), Decimal(usage.completion_tokens or 0)
        return ((prompt - cached) * price["input"] + cached * price["cached_input"]
                + completion * price["output"]) / MILLION

    def _rules(self, ticket: Ticket) -> Result:
        try:
            queue = route_by_keywords(ticket.subject, ticket.body)
        except Exception:  # a batch must never stop because of one ticket
            log.exception("keyword routing failed for %s", ticket.ref)
            queue = Queue.GENERAL
        return Result(ticket.id, ticket.ref, queue, DECIDED_BY_RULES)  # type: ignore[arg-type]
