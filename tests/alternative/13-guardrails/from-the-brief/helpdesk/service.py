"""The helpdesk service: what the agents' console, the web form and the CLI call."""

from __future__ import annotations

import logging
import re

import openai

from helpdesk.actions import ActionRunner
from helpdesk.assistant import ReplyAssistant
from helpdesk.config import Settings
from helpdesk.models import Action, Customer, Suggestion, Ticket
from helpdesk.privacy import Masking
from helpdesk.repository import HelpdeskRepository

log = logging.getLogger(__name__)

# What the assistant may do on its own, and the values each action accepts.
ASSISTANT_MAY = {
    "add_tag": re.compile(r"[a-z0-9-]{1,30}"),
    "set_priority": re.compile(r"low|normal|high|urgent"),
}


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
            ReplyAssistant(client, self.settings.model, self.runner.names()) if client is not None else None
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
        """Ask the assistant for a draft reply, apply the actions it proposes, and return both.

        Applying the proposals saves the agent a dozen clicks per ticket: the agent only has to read
        and send the reply. An action that cannot run (an unknown name, a bad value) is skipped.
        """
        if self.assistant is None:
            raise RuntimeError("the reply assistant is off: no model client was configured")
        ticket = self.get(ticket_id)
        customer = self.customer(ticket.customer_id)
        masking = Masking(customer)
        draft = self.assistant.draft(ticket, customer, masking)
        if draft is None:
            return Suggestion(ticket.ref, None)
        problems = masking.problems(draft.reply)
        if problems:
            log.warning("assistant answer for %s withheld: %s", ticket.ref, "; ".join(sorted(set(problems))))
            return Suggestion(ticket.ref, None)
        applied: list[Action] = []
        for proposed in draft.actions:
            action = Action(proposed.name, proposed.ticket, proposed.value)
            pattern = ASSISTANT_MAY.get(action.name)
            if pattern is None or action.ticket != ticket.ref or not pattern.fullmatch(action.value):
                log.warning("assistant action denied on %s: %s", ticket.ref, action.name)
                continue
            self.runner.run(action)
            applied.append(action)
        log.info("drafted a reply for %s with %d action(s)", ticket.ref, len(applied))
        return Suggestion(ticket.ref, masking.unmask(draft.reply), applied)
