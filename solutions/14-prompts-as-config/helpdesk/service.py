"""The helpdesk service: what the web form, the mail gateway and the CLI call."""

from __future__ import annotations

import logging

import openai

from helpdesk.classifier import Classification, ModelClassifier, ModelNotFound
from helpdesk.config import Settings
from helpdesk.models import ROUTED_BY_MODEL, ROUTED_BY_RULES, Queue, RoutedBy, Ticket
from helpdesk.registry import PromptRegistry
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
    one, the rules route everything, exactly as before the model was introduced. The prompt and the
    model are the registry version that `settings.prompt_label` points at, read once, here: a label that
    does not resolve stops the start-up (PromptNotFound) instead of routing with some other prompt.
    """

    def __init__(
        self,
        repo: TicketRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.classifier: ModelClassifier | None = None
        # Set once the API has said the model does not exist: asking again would only fail again.
        self.retired_model: str | None = None
        if client is not None:
            registry = PromptRegistry(self.settings.prompts_dir)
            prompt = registry.resolve(self.settings.prompt_name, self.settings.prompt_label)
            self.classifier = ModelClassifier(client, prompt, timeout=self.settings.request_timeout)
            log.info(
                "routing with prompt %s@%s: version %d on %s",
                prompt.name, self.settings.prompt_label, prompt.version, prompt.model,
            )

    def submit(self, subject: str, body: str, customer_email: str) -> Ticket:
        """Store a new ticket routed to a queue and return it (with its id, ref, `routed_by` and the
        prompt version sent to the model for it)."""
        subject = subject.strip()[: self.settings.max_subject_length]
        new = Ticket(
            id=None,
            subject=subject,
            body=body,
            customer_email=customer_email,
            queue=route_by_rules(subject, body),
            routed_by=ROUTED_BY_RULES,
        )
        # The model is asked unless there is nothing to classify or it is known to be gone; the ticket
        # records the prompt version it is asked with (None: no prompt was involved).
        classifier = None if new.is_blank or self.retired_model else self.classifier
        if classifier is not None:
            new.prompt_version = classifier.prompt.version
        # Stored first, routed by the rules: the ref the model needs only exists once the row does, and
        # the ticket is never lost whatever happens with the model call.
        ticket = self.repo.add(new)
        if classifier is not None:
            self._route_by_model(classifier, ticket)
        log.info("ticket %s routed to %s by %s", ticket.ref, ticket.queue.value, ticket.routed_by)
        return ticket

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket

    def _route_by_model(self, classifier: ModelClassifier, ticket: Ticket) -> None:
        try:
            answer = classifier.classify(ticket)
        except ModelNotFound as err:
            self.retired_model = err.model
            prompt = classifier.prompt
            # Loud, once: this is no bad answer but a configuration that needs a person.
            log.error(
                "model %s of prompt %s@%s (version %d) is retired or unknown (model_not_found): tickets go to "
                "the keyword rules until %s points at a version with a model the API knows",
                err.model, prompt.name, self.settings.prompt_label, prompt.version, self.settings.prompt_label,
            )
            return
        queue, routed_by = decide_queue(answer, ticket.queue, self.settings.confidence_threshold)
        if routed_by == ROUTED_BY_MODEL and ticket.id is not None:
            self.repo.set_queue(ticket.id, queue, routed_by=routed_by)
            ticket.queue, ticket.routed_by = queue, routed_by


def route_by_rules(subject: str, body: str) -> Queue:
    """The keyword rules' queue; GENERAL if the table itself fails (intake must never fail on routing)."""
    try:
        return route_by_keywords(subject, body)
    except Exception:  # agents re-route by hand
        log.exception("keyword routing failed; ticket goes to the general queue")
        return Queue.GENERAL
