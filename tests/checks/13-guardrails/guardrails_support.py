"""Helpers of kata 13's checks: the learner's service on a fresh database, personal values, logs.

Everything here observes behaviour only: the service's public methods (`register_customer`,
`open_ticket`, `suggest`, `get`, `customer`), the requests that reach the (replayed) model and the log
records of the `helpdesk` loggers. The personal values a check looks for are the ones it typed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata.checks import expect, plain

PLACEHOLDER = re.compile(r"<(?:NAME|EMAIL|PHONE|CARD)_\d+>")
SIGNED = "\n\nThe Support Team"
MAX_TIMEOUT_S = 30.0
SDK_DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Person:
    """A customer record as the checks register it."""

    name: str
    email: str
    phone: str | None
    plan: str = "standard"


MARIA = Person("Maria Keller", "maria.keller@example.com", "+44 20 7946 0958", "premium")
JONAS = Person("Jonas Albrecht", "jonas.albrecht@example.net", None)
PRIYA = Person("Priya Raman", "priya.raman@example.org", "020 7946 0321")


@dataclass(frozen=True)
class Secret:
    """A personal value a check gave the service: it must never reach the model or the logs."""

    kind: str  # "name", "e-mail address", "phone number", "card number"
    value: str
    whose: str  # "Maria Keller's", "the ticket's"

    def shown(self) -> str:
        return f"{self.whose} {self.kind} {self.value!r}"


def secrets(person: Person, emails: tuple[str, ...] = (), phones: tuple[str, ...] = (),
            cards: tuple[str, ...] = ()) -> list[Secret]:
    """The customer's record values, and the other personal values written in their ticket."""
    whose = f"{person.name}'s"
    found = [Secret("name", person.name, whose), Secret("e-mail address", person.email, whose)]
    if person.phone:
        found.append(Secret("phone number", person.phone, whose))
    found += [Secret("e-mail address", e, "the ticket's") for e in emails]
    found += [Secret("phone number", p, "the ticket's") for p in phones]
    found += [Secret("card number", c, "the ticket's") for c in cards]
    return found


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def appears(secret: Secret, text: str) -> bool:
    """Whether `secret` (or, for a name, any word of it; for a number, its digits) is in `text`."""
    if secret.kind == "name":
        words = [secret.value, *(w for w in secret.value.split() if len(w) >= 2)]
        return any(re.search(rf"\b{re.escape(w)}\b", text, re.IGNORECASE) for w in words)
    if secret.kind == "e-mail address":
        return secret.value.lower() in text.lower()
    return secret.value in text or _digits(secret.value) in re.sub(r"[\s().+\-]", "", text)


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value (keys too), with where it is: `messages[1].content`, `user`."""
    if isinstance(value, str):
        yield path or "(the body)", value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where + " (a key)", str(key)
            yield from strings(item, where)
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            yield from strings(item, f"{path}[{n}]")


def leaks_in_requests(requests: list[Any], found: list[Secret]) -> list[str]:
    """`request 1: Maria Keller's e-mail address '...' in user` for each personal value found."""
    leaks = []
    for request in requests:
        for where, text in strings(request.body):
            for secret in found:
                if appears(secret, text):
                    leaks.append(f"request {request.index + 1} carries {secret.shown()} in `{where}`")
    return leaks


def placeholders(text: str) -> list[str]:
    """The placeholders in `text`, in order, repeats kept."""
    return PLACEHOLDER.findall(text)


# --------------------------------------------------------------------------- the learner's service


class Desk:
    """The learner's HelpdeskService on a fresh database in `tmp_path`."""

    def __init__(self, learner: Any, tmp_path: Path, client: Any) -> None:
        db_path = str(tmp_path / "helpdesk.db")
        repo = learner.load("helpdesk.repository").HelpdeskRepository(db_path)
        settings = learner.load("helpdesk.config").Settings(db_path=db_path)
        self.service = learner.load("helpdesk.service").HelpdeskService(repo, settings=settings, client=client)

    def customer(self, person: Person) -> int:
        """Register `person`; their customer id."""
        return self.service.register_customer(person.name, person.email, person.phone, person.plan).id

    def ticket(self, customer_id: int, subject: str, body: str) -> Any:
        """Open a ticket; it comes back with `id` and `ref` (TCK-1001, TCK-1002 ... in order)."""
        return self.service.open_ticket(customer_id, subject, body)

    def suggest(self, ticket: Any) -> Any:
        """The Suggestion for a ticket (its `reply` is what the agent is shown)."""
        return self.service.suggest(ticket.id)

    def state(self, ticket: Any) -> tuple[str, str, list[str]]:
        """(status, priority, tags) of a ticket as stored now."""
        stored = self.service.get(ticket.id)
        return plain(stored.status), plain(stored.priority), list(stored.tags)

    def email_of(self, customer_id: int) -> str:
        return self.service.customer(customer_id).email


def show_state(ref: str, state: tuple[str, str, list[str]]) -> str:
    status, priority, tags = state
    return f"{ref} is {status}, priority {priority}, tags {tags or 'none'}"


def reply_of(suggestion: Any, ref: str) -> str | None:
    """The reply shown to the agent, failing clearly when the Suggestion has no `reply`."""
    missing = object()
    reply = getattr(suggestion, "reply", missing)
    expect(
        reply is not missing,
        observed=f"the Suggestion returned for {ref} has no `reply` attribute",
        expected="suggest() returns the Suggestion as today: `reply` is the text shown to the agent (or None)",
        hint="Keep the Suggestion dataclass and its reply field.",
    )
    return reply


def requests_about(sent_requests: list[Any], ref: str) -> list[Any]:
    return [r for r in sent_requests if ref in r.records]


def one_request(sent_requests: list[Any], ref: str) -> Any:
    """The one model request about `ref`."""
    made = requests_about(sent_requests, ref)
    expect(
        len(made) == 1,
        observed=f"{len(made)} model request(s) about {ref}",
        expected=f"exactly one request per suggest(), with {ref} in its user message",
        hint="Keep one chat.completions.parse request per suggestion, with the ticket's ref in the user message.",
    )
    return made[0]


# --------------------------------------------------------------------------- logs

_RECORD, _FIELD = "\x1e", "\x1f"


@dataclass(frozen=True)
class LogLine:
    level: int
    logger: str
    text: str  # the message, and the traceback when one was logged


class Logs:
    """Every record of the `helpdesk` loggers (any level) while a check runs, kept in the learner's process."""

    def __init__(self, learner: Any) -> None:
        logging = learner.load("logging")
        self._stream = learner.load("kata.host.streams").RecordingOut()
        handler = logging.StreamHandler(self._stream)
        handler.setFormatter(logging.Formatter(f"{_RECORD}%(levelno)s{_FIELD}%(name)s{_FIELD}%(message)s"))
        logger = logging.getLogger("helpdesk")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)

    def lines(self) -> list[LogLine]:
        found = []
        for chunk in str(self._stream.getvalue()).split(_RECORD)[1:]:
            level, _, rest = chunk.partition(_FIELD)
            name, _, text = rest.partition(_FIELD)
            found.append(LogLine(int(level) if level.isdigit() else 0, name, text.rstrip("\n")))
        return found
