"""The helpdesk service: what the agents' console, the web form and the CLI call."""

from __future__ import annotations

import logging

import openai

from helpdesk.actions import ActionRunner
from helpdesk.assistant import ReplyAssistant
from helpdesk.config import Settings
from helpdesk.guardrails import Redaction, review_action, review_output
from helpdesk.models import Action, Customer, Suggestion, Ticket
from helpdesk.repository import HelpdeskRepository

log = logging.getLogger(__name__)


class HelpdeskService:
    """Customers, their tickets, the console's actions and the reply assistant.

    With a `client`, `suggest()` asks a chat model for a draft reply; without one the assistant is off.
    """

    def __init__(
        self,
        repo: HelpdeskRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.runner = ActionRunner(repo)
        self.assistant = (
            ReplyAssistant(client, self.settings.model, self.runner.names(), self.settings.request_timeout)
            if client is not None
            else None
        )

    def register_customer(self, name: str, email: str, phone: str | None = None, plan: str = "standard") -> Customer:
        """Store a customer (the account system's nightly export calls this) and return it with its id."""
        return self.repo.add_customer(Customer(None, name.strip(), email.strip(), phone, plan))

    def customer(self, customer_id: int) -> Customer:
        """Return a stored customer; raises LookupError when there is none."""
        found = self.repo.get_customer(customer_id)
        if found is None:
            raise LookupError(f"no customer with id {customer_id}")
        return found

    def open_ticket(self, customer_id: int, subject: str, body: str) -> Ticket:
        """Store a new ticket of a known customer and return it (with its id and ref)."""
        self.customer(customer_id)
        subject = subject.strip()[: self.settings.max_subject_length]
        return self.repo.add_ticket(Ticket(None, customer_id, subject, body))

    def get(self, ticket_id: int) -> Ticket:
        """Return a stored ticket; raises LookupError when there is no such ticket."""
        ticket = self.repo.get_ticket(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket with id {ticket_id}")
        return ticket

    def apply(self, action: Action) -> Ticket:
        """Run one console action for an agent and return the ticket as it is afterwards."""
        return self.runner.run(action)

    def suggest(self, ticket_id: int) -> Suggestion:
        """Ask the assistant for a draft reply, apply the actions it may apply, and return both.

        Applying the allowed proposals saves the agent a dozen clicks per ticket. What the customer
        wrote reaches the model, so an answer is untrusted input: it is shown only when it passes the
        output guard, and only the triage actions of the allow-list run, on this ticket alone.
        """
        if self.assistant is None:
            raise RuntimeError("the reply assistant is off: no model client was configured")
        ticket = self.get(ticket_id)
        customer = self.customer(ticket.customer_id)
        redaction = Redaction(customer)  # one per request: placeholders never outlive it
        draft = self.assistant.draft(ticket, customer, redaction)
        if draft is None:
            return Suggestion(ticket.ref, None)
        problem = review_output(draft.reply, redaction)
        if problem is not None:
            # Nothing of this answer is used, its actions included: it did not do what was asked.
            log.warning("blocked the assistant's answer for %s: %s", ticket.ref, problem)
            return Suggestion(ticket.ref, None)
        applied: list[Action] = []
        denied: list[Action] = []
        for proposed in draft.actions:
            action = Action(proposed.name, proposed.ticket, proposed.value)
            why = review_action(action, ticket.ref)
            if why is not None:
                # Name and target only: the value may hold a placeholder or whatever the customer typed.
                log.warning("denied %s proposed for %s: %s", action.name, ticket.ref, why)
                denied.append(action)
                continue
            try:
                self.runner.run(action)
            except (ValueError, LookupError) as err:
                log.warning("skipped %s proposed for %s (%s)", action.name, ticket.ref, type(err).__name__)
                continue
            applied.append(action)
        log.info(
            "drafted a reply for %s, applied %s, denied %d",
            ticket.ref,
            ", ".join(a.name for a in applied) or "nothing",
            len(denied),
        )
        return Suggestion(ticket.ref, redaction.restore(draft.reply), applied, denied)
