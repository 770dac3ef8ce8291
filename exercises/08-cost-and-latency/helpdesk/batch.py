"""The weekly re-classification of the backlog: every open ticket is asked about again.

Release 2.5 runs it on Monday mornings from cron (`python -m helpdesk.cli reclassify`). Queues drift
as the shop changes (new payment methods, a new courier), so tickets the model routed months ago are
checked against today's model, and tickets the rules routed get a second chance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

import openai

from helpdesk.classifier import ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)

DECIDED_BY_RULES = "rules"


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
    seconds: float  # wall-clock duration of the run, for the ops dashboard


class BacklogReclassifier:
    """Re-classifies a list of tickets and stores each ticket's new queue.

    With a `client`, the model named by `settings.model` decides each ticket and the keyword rules are
    the fallback; without one, the rules decide everything.
    """

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.classifier = ModelClassifier(client, self.settings.model) if client is not None else None

    def run(self, tickets: Iterable[Ticket]) -> BatchReport:
        """Decide and store a queue for every ticket; one ticket at a time."""
        # TODO(hd-771): 3 h 40 min last Monday for 2,300 tickets. Parallelise "when we have time".
        started = time.monotonic()
        results = []
        for ticket in tickets:
            result = self._decide(ticket)
            routed_by = ROUTED_BY_RULES if result.decided_by == DECIDED_BY_RULES else ROUTED_BY_MODEL
            self.repo.set_queue(result.ticket_id, result.queue, routed_by=routed_by)
            results.append(result)
        report = BatchReport(results=results, seconds=time.monotonic() - started)
        log.info("re-classified %d tickets in %.0f s", len(results), report.seconds)
        return report

    def _decide(self, ticket: Ticket) -> Result:
        assert ticket.id is not None, "only stored tickets are re-classified"
        if self.classifier is not None and not ticket.is_blank:
            answer = self.classifier.classify(ticket)
            if answer is not None and answer.confidence >= self.settings.confidence_threshold:
                return Result(ticket.id, ticket.ref, answer.queue, self.settings.model, answer.confidence)
        return Result(ticket.id, ticket.ref, self._route_by_rules(ticket), DECIDED_BY_RULES)

    @staticmethod
    def _route_by_rules(ticket: Ticket) -> Queue:
        try:
            return route_by_keywords(ticket.subject, ticket.body)
        except Exception:  # a batch must never stop because of one ticket; agents re-route by hand
            log.exception("keyword routing failed for %s; it goes to the general queue", ticket.ref)
            return Queue.GENERAL
