"""Helpers of kata 10's checks: building the learner's service, reading tickets, counting requests.

Everything here observes behaviour only: the service's public constructor and `submit`/`get`, the
tickets it returns and the requests that reach the (replayed) model.
"""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path
from typing import Any

from kata.checks import RemoteError, expect
from kata.checks import plain as plain_value

EMAIL = "customer@example.com"
SCHEMA_FIELDS = ("confidence", "queue")  # sorted, as SentRequest.schema_fields lists them
REASONS = (
    "answered", "repaired", "low_confidence", "refused", "truncated", "invalid_json", "invalid_queue",
    "invalid_confidence", "api_error", "blank", "no_model",
)


# --------------------------------------------------------------------------- reading tickets


def plain(value: Any) -> Any:
    """A queue, routed_by or reason as a plain value, whether the learner uses an Enum member or a string."""
    return plain_value(value)


def routed_by(ticket: Any) -> Any:
    """The ticket's `routed_by`, failing the check clearly when the attribute is missing."""
    missing = object()
    value = getattr(ticket, "routed_by", missing)
    expect(
        value is not missing,
        observed=f"the ticket returned for {getattr(ticket, 'ref', '?')} has no `routed_by` attribute",
        expected="every ticket says who decided its queue: routed_by is 'model' or 'rules' (as after kata 01)",
        hint="Keep the routed_by field of Ticket as it is.",
    )
    return plain_value(value)


def reason(ticket: Any) -> Any:
    """The ticket's `reason` as a plain value, failing the check clearly when the attribute is missing."""
    missing = object()
    value = getattr(ticket, "reason", missing)
    expect(
        value is not missing,
        observed=f"the ticket returned for {getattr(ticket, 'ref', '?')} has no `reason` attribute",
        expected="every ticket has `reason`: why it went where it went (answered, repaired, refused, ...)",
        hint="Add `reason: str | None = None` to Ticket, set it when routing, store it and read it back.",
    )
    return plain_value(value)


def show(ticket: Any) -> str:
    """`TCK-1001 went to 'billing' with routed_by='rules', reason='refused'` (no prompt, no body)."""
    return (
        f"{ticket.ref} went to {plain(ticket.queue)!r} with routed_by={routed_by(ticket)!r}, "
        f"reason={reason(ticket)!r}"
    )


def routed(ticket: Any, queue: str, by: str, why_reason: str, why: str, hint: str) -> None:
    """Expect the ticket's queue, routed_by and reason."""
    expect(
        plain(ticket.queue) == queue and routed_by(ticket) == by and reason(ticket) == why_reason,
        observed=show(ticket),
        expected=f"{queue!r} with routed_by={by!r}, reason={why_reason!r}: {why}",
        hint=hint,
    )


# --------------------------------------------------------------------------- building the service


def repository(learner: Any, db_path: Path) -> Any:
    """The learner's TicketRepository on `db_path`."""
    return learner.load("helpdesk.repository").TicketRepository(db_path)


def make_settings(learner: Any, db_path: str, **fields: Any) -> Any:
    """Settings(db_path=..., **fields), failing clearly when a field of the brief is missing."""
    settings_cls = learner.load("helpdesk.config").Settings
    shown = ", ".join(f"{name}={value!r}" for name, value in fields.items())
    try:
        inspect.signature(settings_cls).bind(db_path=db_path, **fields)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(db_path=..., {shown}) is refused ({err})",
            expected="Settings has the fields model, confidence_threshold (as before) and request_timeout "
            "(default 10.0)",
            hint="Add request_timeout: float = 10.0 to the Settings dataclass in helpdesk/config.py.",
        )
    return settings_cls(db_path=db_path, **fields)


def make_service(learner: Any, repo: Any, client: Any, **fields: Any) -> Any:
    """HelpdeskService(repo, settings=Settings(db_path=..., **fields), client=client)."""
    settings = make_settings(learner, repo.db_path, **fields)
    service_cls = learner.load("helpdesk.service").HelpdeskService
    try:
        inspect.signature(service_cls).bind(repo, settings=settings, client=client)
    except TypeError as err:
        expect(
            False,
            observed=f"HelpdeskService(repo, settings=..., client=...) is refused ({err})",
            expected="HelpdeskService(repo, settings=None, client=None), as in the legacy service",
            hint="Keep the constructor of HelpdeskService as it is.",
        )
    return service_cls(repo, settings=settings, client=client)


# --------------------------------------------------------------------------- a legacy database

# The tickets table exactly as the legacy release (2.4, the starter of this kata) creates it: routed_by,
# but no reason column yet.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    queue          TEXT NOT NULL DEFAULT 'general',
    created_at     TEXT NOT NULL,
    sla_bucket     TEXT,
    routed_by      TEXT NOT NULL DEFAULT 'rules'
)
"""

# (subject, body, queue, routed_by) of the tickets already in the legacy database: TCK-1001, TCK-1002.
LEGACY_TICKETS = [
    ("Checkout page is blank", "The checkout page stays white in Safari.", "technical", "model"),
    ("Invoice 4410 missing", "Please send me the invoice for my May order.", "billing", "rules"),
]


def legacy_database(path: Path) -> None:
    """An SQLite file as the legacy release leaves it, with its tickets (built by the grader, not the learner)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(LEGACY_SCHEMA)
        conn.executemany(
            "INSERT INTO tickets (subject, body, customer_email, queue, created_at, routed_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(subject, body, EMAIL, queue, "2025-03-04T10:15:00+00:00", by) for subject, body, queue, by in
             LEGACY_TICKETS],
        )
        conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------------------- requests


def about(sent_requests: list[Any], ref: str) -> list[Any]:
    """The requests whose user message carries `ref`."""
    return [r for r in sent_requests if ref in r.records]


def _calls(count: int, why: str) -> str:
    return f"{'no request' if count == 0 else f'exactly {count}'}: {why}"


def submit(
    service: Any, sent_requests: list[Any], subject: str, body: str, *, calls: int, why: str, hint: str
) -> tuple[Any, list[Any]]:
    """Submit one ticket and expect exactly `calls` model requests about it.

    Returns the ticket and its requests. A request beyond the recorded answers is reported as a wrong
    number of requests, which is what it is, rather than as a replay problem; any other exception the
    learner's code raises is reported as such: `submit()` must never raise because of the model.
    """
    before = len(sent_requests)
    try:
        ticket = service.submit(subject, body, EMAIL)
    except RemoteError as err:
        made = sent_requests[before:]
        refs = ", ".join(sorted({ref for request in made for ref in request.records})) or "the ticket"
        if err.is_a("NoRecordingMatched"):
            expect(
                False,
                observed=f"{len(made)} model request(s) about {refs}: more than this check has recorded "
                "answers for",
                expected=_calls(calls, why),
                hint=hint,
            )
        where = f" at {err.where.splitlines()[0]}" if err.where else ""
        first_line = err.text.splitlines()[0] if err.text else ""
        expect(
            False,
            observed=f"submit() raised {err.type_name}{': ' + first_line if first_line else ''}{where}, "
            f"after {len(made)} model request(s) about {refs}",
            expected=f"submit() returns the stored ticket, whatever the model answers ({why})",
            hint="An answer is data: judge it without letting any exception out of submit(), and fall back "
            "to the keyword rules with the reason.",
        )
        raise
    made = about(sent_requests, ticket.ref)
    expect(
        len(made) == calls,
        observed=f"{len(made)} model request(s) about {ticket.ref}",
        expected=_calls(calls, why),
        hint=hint,
    )
    return ticket, made


def text_of(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of a list of parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def messages_of(request: Any) -> list[Any]:
    """The `messages` of a chat request's body ([] when it has none)."""
    messages = request.body.get("messages") if isinstance(request.body, dict) else None
    return messages if isinstance(messages, list) else []
