"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging

import openai

from helpdesk import promptstore
from helpdesk.classifier import Classification, ModelClassifier, RetiredModel
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, RoutedBy, Ticket
from helpdesk.repository import TicketRepository
from helpdesk.rules import route_by_keywords

log = logging.getLogger(__name__)
alerts = logging.getLogger("helpdesk.alerts")


def decide_queue(answer: Classification | None, rules_queue: Queue, threshold: float) -> tuple[Queue, RoutedBy]:
    """The model's queue when its answer is usable and confident enough, else the rules'."""
    if answer is None or answer.confidence < threshold:
        return rules_queue, ROUTED_BY_RULES
    return answer.queue, ROUTED_BY_MODEL


class HelpdeskService:
    """Takes in support tickets, routes them to a team queue and stores them."""

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.classifier: ModelClassifier | None = None
        self.version: int | None = None
        self._model_gone = False
        if client is not None:
            s = self.settings
            prompt = promptstore.lookup(s.prompts_dir, s.prompt_name, s.prompt_label)
            self.version = prompt["version"]
            self.classifier = ModelClassifier(client, prompt["model"], prompt["system_prompt"])

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it."""
        subject = subject.strip()[: self.settings.max_subject_length]
        ticket = self.repo.add(
            Ticket(id=None, subject=subject, body=body, customer_email=customer_email,
                   queue=route_by_rules(subject, body), routed_by=ROUTED_BY_RULES)
        )
        if self.classifier is None or self._model_gone or ticket.is_blank or ticket.id is None:
            return ticket
        assert self.version is not None
        self.repo.set_prompt_version(ticket.id, self.version)
        ticket.prompt_version = self.version
        try:
            answer = self.classifier.classify(ticket)
        except RetiredModel:
            self._model_gone = True
            alerts.critical(
                "model_not_found: the API no longer serves %s (label %s of %s, version %s); "
                "routing by keywords until the label is migrated",
                self.classifier.model, self.settings.prompt_label, self.settings.prompt_name, self.version,
            )
            return ticket
        queue, routed_by = decide_queue(answer, ticket.queue, self.settings.confidence_threshold)
        if routed_by == ROUTED_BY_MODEL:
            self.repo.set_queue(ticket.id, queue, routed_by=routed_by)
            ticket.queue, ticket.routed_by = queue, routed_by
        return ticket

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket


def route_by_rules(subject: str, body: str) -> Queue:
    """The keyword rules' queue; GENERAL if the table itself fails."""
    try:
        return route_by_keywords(subject, body)
    except Exception:
        log.exception("keyword routing failed; ticket goes to the general queue")
        return Queue.GENERAL
