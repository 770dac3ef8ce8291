"""Masking personal data for one model request, and unmasking the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpdesk.models import Customer

TOKEN = re.compile(r"<(?:NAME|EMAIL|PHONE|CARD)_\d+>")
# One alternation, tried left to right at each position: e-mail, then card, then phone.
SENSITIVE = re.compile(
    r"(?P<EMAIL>[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})"
    r"|(?P<CARD>(?<![\w+(])[1-9](?:[ -]?[0-9]){12,18}(?![\w]))"
    r"|(?P<PHONE>(?<![\w+(])(?:\+|\((?=[0-9])|(?=0))[0-9](?:[ -]?\)? ?\(?[0-9])*)"
)


def _key(kind: str, value: str) -> str:
    return re.sub(r"[^0-9]", "", value) if kind in ("CARD", "PHONE") else value.casefold()


@dataclass
class Masking:
    """Placeholder table of a single request."""

    customer: Customer
    table: dict[str, str] = field(default_factory=dict)  # "<EMAIL_2>" -> "m.x@y.example"
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.token("NAME", self.customer.name)
        self.token("EMAIL", self.customer.email)
        if self.customer.phone:
            self.token("PHONE", self.customer.phone)
        self.name_words = {w.casefold() for w in self.customer.name.split() if len(w) > 1}

    def token(self, kind: str, value: str) -> str:
        for placeholder, known in self.table.items():
            if placeholder.startswith(f"<{kind}_") and known == value:
                return placeholder
        self.counters[kind] = self.counters.get(kind, 0) + 1
        placeholder = f"<{kind}_{self.counters[kind]}>"
        self.table[placeholder] = value
        return placeholder

    def mask(self, text: str) -> str:
        for placeholder, value in list(self.table.items()):
            if not placeholder.startswith("<NAME"):
                text = text.replace(value, placeholder)
        text = SENSITIVE.sub(self._masked, text)
        return re.sub(r"\b\w+\b", lambda m: "<NAME_1>" if m.group().casefold() in self.name_words else m.group(),
                      text)

    def _masked(self, match: re.Match[str]) -> str:
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "PHONE" and not 8 <= len(re.sub(r"[^0-9]", "", value)) <= 15:
            return value
        return self.token(kind, value)

    def unmask(self, text: str) -> str:
        return TOKEN.sub(lambda m: self.table.get(m.group(), m.group()), text)

    def problems(self, answer: str) -> list[str]:
        """What makes a model answer unfit to show (before unmasking it)."""
        found = [f"unknown {t}" for t in TOKEN.findall(answer) if t not in self.table]
        given = {(p[1:].split("_")[0], _key(p[1:].split("_")[0], v)) for p, v in self.table.items()}
        for match in SENSITIVE.finditer(self.unmask(answer)):
            kind = match.lastgroup or ""
            value = match.group()
            if kind == "PHONE" and not 8 <= len(re.sub(r"[^0-9]", "", value)) <= 15:
                continue
            if (kind, _key(kind, value)) not in given:
                found.append(f"{kind.lower()} not given")
        return found
