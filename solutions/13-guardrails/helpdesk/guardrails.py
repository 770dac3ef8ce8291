"""Guardrails around the reply assistant: what may leave the building, what may come back, what may run.

Three independent pieces, none of which knows about the model call itself:

- `Redaction` (one per request) swaps personal data for placeholders before a prompt is sent and puts
  the values back into the answer the agent sees (OWASP LLM02, sensitive information disclosure);
- `review_output` refuses an answer that mentions a placeholder this request never had or personal data
  the customer never gave (LLM05, improper output handling);
- `review_action` lets the assistant run only the triage actions of the allow-list, on its own ticket,
  with valid values (LLM06, excessive agency; and so LLM01, prompt injection, has nothing to steer).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from helpdesk.models import Action, Customer, Priority

PLACEHOLDER = re.compile(r"<(NAME|EMAIL|PHONE|CARD)_(\d+)>")
EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 13 to 19 digits, the first not 0, grouped by single spaces or dashes; not part of a longer number or word.
CARD = re.compile(r"(?<![\w+(])[1-9](?:[ -]?\d){12,18}(?!\w)")
# Starts with +, ( or 0; digits with single spaces or dashes between them and a group in parentheses.
PHONE = re.compile(r"(?<![\w+(])(?:\+|\((?=\d)|(?=0))\d(?:[ -]?\)? ?\(?\d)*")
PHONE_DIGITS = range(8, 16)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _same(kind: str, value: str) -> str:
    """The form two values of a kind are compared in: digits for numbers, lower case for e-mails."""
    return _digits(value) if kind in ("PHONE", "CARD") else value.lower()


def _phones(text: str) -> list[re.Match[str]]:
    return [m for m in PHONE.finditer(text) if len(_digits(m.group())) in PHONE_DIGITS]


class Redaction:
    """The placeholders of ONE request: build a new one for every request, never share one.

    Values are numbered per kind in the order they are first seen, and the customer record is seen
    first (name, e-mail, phone), so `<EMAIL_1>` is always the customer's own address. The same text
    always gets the same placeholder.
    """

    def __init__(self, customer: Customer) -> None:
        self._placeholders: dict[tuple[str, str], str] = {}
        self.values: dict[str, str] = {}  # placeholder -> the value it stands for
        self._name = self._placeholder("NAME", customer.name.strip())
        # The record's own values, replaced as stored even where no pattern would recognise them.
        self._record = {customer.email: self._placeholder("EMAIL", customer.email)}
        if customer.phone:
            self._record[customer.phone] = self._placeholder("PHONE", customer.phone)
        words = customer.name.split()
        forms = [r"\s+".join(map(re.escape, words))] + [re.escape(w) for w in words if len(w) >= 2]
        self._name_forms = re.compile(rf"\b(?:{'|'.join(forms)})\b", re.IGNORECASE) if words else None

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._placeholders:
            number = 1 + sum(1 for known, _ in self._placeholders if known == kind)
            self._placeholders[key] = f"<{kind}_{number}>"
            self.values[self._placeholders[key]] = value
        return self._placeholders[key]

    def redact(self, text: str) -> str:
        """`text` with every personal value replaced by its placeholder."""
        # E-mails first: an address can contain the customer's name, or digits that look like a phone.
        text = EMAIL.sub(lambda m: self._placeholder("EMAIL", m.group()), text)
        for value, placeholder in self._record.items():
            text = text.replace(value, placeholder)
        # Cards before phones: a group of a card number can look like the start of a phone number.
        text = CARD.sub(lambda m: self._placeholder("CARD", m.group()), text)
        pieces, last = [], 0
        for match in _phones(text):
            pieces += [text[last:match.start()], self._placeholder("PHONE", match.group())]
            last = match.end()
        text = "".join([*pieces, text[last:]])
        return self._name_forms.sub(self._name, text) if self._name_forms is not None else text

    def restore(self, text: str) -> str:
        """`text` with this request's placeholders turned back into their values (the name in full)."""
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(), m.group()), text)

    def unknown_placeholders(self, text: str) -> list[str]:
        """Placeholders in `text` that this request never had."""
        return [m.group() for m in PLACEHOLDER.finditer(text) if m.group() not in self.values]

    def foreign_values(self, text: str) -> list[str]:
        """Kinds of personal data in `text` (an answer, placeholders still in) that the customer did not give."""
        given = {(kind, _same(kind, self.values[p])) for (kind, _), p in self._placeholders.items()}
        found = [("EMAIL", m.group()) for m in EMAIL.finditer(text)]
        found += [("CARD", m.group()) for m in CARD.finditer(text)]
        found += [("PHONE", m.group()) for m in _phones(CARD.sub(" ", text))]
        return [kind.lower() for kind, value in found if (kind, _same(kind, value)) not in given]


def review_output(reply: str, redaction: Redaction) -> str | None:
    """Why the model's reply must not be shown (None when it may): said without the values themselves."""
    unknown = redaction.unknown_placeholders(reply)
    if unknown:
        return f"it uses placeholders the request did not have ({', '.join(sorted(set(unknown)))})"
    foreign = redaction.foreign_values(reply)
    if foreign:
        return f"it contains personal data the customer did not give ({', '.join(sorted(set(foreign)))})"
    return None


TAG = re.compile(r"[a-z0-9-]{1,30}")
PRIORITIES = {p.value for p in Priority}

# The only actions the assistant may run by itself, with the check of their value. Everything else
# the console offers (closing, reopening, changing an e-mail address ...) stays with the agents.
ASSISTANT_ACTIONS: dict[str, Callable[[str], bool]] = {
    "add_tag": lambda value: TAG.fullmatch(value) is not None,
    "set_priority": lambda value: value in PRIORITIES,
}


def review_action(action: Action, ticket_ref: str) -> str | None:
    """Why the assistant may not run `action` on the ticket `ticket_ref` (None when it may)."""
    valid = ASSISTANT_ACTIONS.get(action.name)
    if valid is None:
        return "not an action the assistant may run"
    if action.ticket != ticket_ref:
        return "it targets another ticket"
    if not valid(action.value):
        return "its value is not valid"
    return None
