"""Helpers of kata 09's checks: building the learner's service, reading tickets, timing requests.

Everything here observes behaviour only: the service's public constructor and `submit`/`get`, the
tickets it returns, the requests that reach the (replayed) model and the time on the injected fake clock.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kata.checks import RemoteError, expect
from kata.checks import plain as plain_value

EMAIL = "customer@example.com"
TOLERANCE = 1e-6  # seconds: fake-clock arithmetic is exact up to float rounding

# The defaults the brief promises; a check relying on one says so in its message.
DEFAULTS = {
    "request_timeout": 10.0,
    "max_attempts": 3,
    "backoff_base": 0.5,
    "breaker_threshold": 5,
    "breaker_cooldown": 60.0,
    "ticket_budget": 20.0,
}


# --------------------------------------------------------------------------- reading tickets


def plain(value: Any) -> Any:
    """A queue or routed_by as a plain value, whether the learner uses an Enum member or a string."""
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


def degraded(ticket: Any) -> bool:
    """The ticket's `degraded` flag as a bool, failing the check when it is missing or not a flag."""
    missing = object()
    value = getattr(ticket, "degraded", missing)
    expect(
        value is not missing,
        observed=f"the ticket returned for {getattr(ticket, 'ref', '?')} has no `degraded` attribute",
        expected="every ticket has `degraded`: True when the model could not be used because of a failure",
        hint="Add `degraded: bool = False` to Ticket, set it when the model fails, store it and read it back.",
    )
    expect(
        value in (True, False),  # 1 and 0 from SQLite compare equal to True and False
        observed=f"{getattr(ticket, 'ref', '?')} has degraded={value!r}",
        expected="degraded is True or False",
        hint="Convert the stored column back to a bool when reading the ticket.",
    )
    return bool(value)


def show(ticket: Any) -> str:
    """`TCK-1001 went to 'billing' with routed_by='rules', degraded=True` (no prompt, no body)."""
    return (
        f"{ticket.ref} went to {plain(ticket.queue)!r} with routed_by={routed_by(ticket)!r}, "
        f"degraded={degraded(ticket)}"
    )


def seconds(value: float) -> str:
    """A duration for messages: `2 s`, `0.5 s`."""
    return f"{value:.6g} s"


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
            expected="Settings has the fields request_timeout (10.0), max_attempts (3), backoff_base (0.5), "
            "breaker_threshold (5), breaker_cooldown (60.0) and ticket_budget (20.0)",
            hint="Add the six fields, with these defaults, to the Settings dataclass in helpdesk/config.py.",
        )
    return settings_cls(db_path=db_path, **fields)


def make_service(learner: Any, repo: Any, client: Any, clock: Any, **fields: Any) -> Any:
    """HelpdeskService(repo, settings=Settings(db_path=..., **fields), client=client, clock=clock)."""
    settings = make_settings(learner, repo.db_path, **fields)
    service_cls = learner.load("helpdesk.service").HelpdeskService
    try:
        inspect.signature(service_cls).bind(repo, settings=settings, client=client, clock=clock)
    except TypeError as err:
        expect(
            False,
            observed=f"HelpdeskService(repo, settings=..., client=..., clock=...) is refused ({err})",
            expected="HelpdeskService(repo, settings=None, client=None, clock=None); the clock has "
            "monotonic() and sleep(seconds)",
            hint="Add a `clock` parameter (default: the system clock) and do every wait through it.",
        )
    return service_cls(repo, settings=settings, client=client, clock=clock)


# --------------------------------------------------------------------------- a legacy database

# The tickets table exactly as the legacy release (2.4, the starter of this kata) creates it: routed_by,
# but no degraded column yet.
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


# --------------------------------------------------------------------------- requests and time


class RequestClock:
    """Notes the fake clock's reading when each request is sent; optionally simulates its time-out.

    `note` is the `on_request` callback of the `openai_client` fixture. A simulated time-out costs the
    request's own time-out on the fake clock, as a real one would.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.sent_at: dict[int, float] = {}

    def note(self, request: Any) -> None:
        self.sent_at[request.index] = self.clock.monotonic()

    def on_timeout(self, request: Any) -> None:
        """Let the request's time-out pass on the fake clock (0 when it has none)."""
        self.clock.advance(request.timeout or 0)

    def gaps(self, requests: list[Any]) -> list[float]:
        """Seconds between consecutive requests (waits plus the time the earlier call took)."""
        times = [self.sent_at[r.index] for r in requests]
        return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def client_and_times(openai_client: Any, clock: Any, time_out: Callable[[Any], bool] | None = None) -> tuple[Any, Any]:
    """A replaying SDK client whose requests are timed on `clock`.

    It is built like a caller's `openai.OpenAI()`: the SDK's own two retries and 600 s time-out are on,
    so a service that leaves them on shows it (extra requests, `x-stainless-retry-count` above 0).
    """
    timer = RequestClock(clock)
    client = openai_client(timeout_on=time_out, on_timeout=timer.on_timeout, on_request=timer.note, sdk_defaults=True)
    return client, timer


def about(sent_requests: list[Any], ref: str) -> list[Any]:
    """The requests whose user message carries `ref`."""
    return [r for r in sent_requests if ref in r.records]


def no_sdk_retries(requests: list[Any]) -> None:
    """Expect that every request was an attempt of the service's own policy, none a retry of the SDK's."""
    retried = [r for r in requests if r.retry_count > 0]
    if not retried:
        return
    first = retried[0]
    refs = ", ".join(first.records) or "the ticket"
    expect(
        False,
        observed=f"{len(retried)} of the {len(requests)} request(s) about {refs} were the SDK's own retries "
        f"(x-stainless-retry-count: {first.retry_count} on request {first.index + 1}), on top of the service's",
        expected="every request is an attempt of the service's policy: the SDK's own retries (2 on a client "
        "built like openai.OpenAI(), as the injected one is) never add attempts behind its back",
        hint="The client handed to HelpdeskService comes with the SDK's defaults. Make the service's retry "
        "policy the only one for its model calls, whatever the caller configured.",
    )


def _calls(count: int, why: str) -> str:
    return f"{'no request' if count == 0 else f'exactly {count}'}: {why}"


def submit(
    service: Any, clock: Any, sent_requests: list[Any], subject: str, body: str, *, calls: int, why: str, hint: str
) -> tuple[Any, float, list[Any]]:
    """Submit one ticket and expect exactly `calls` model requests about it.

    Returns the ticket, the seconds it took on the fake clock and its requests. A request beyond the
    recorded answers is reported as a wrong number of requests, which is what it is, rather than as a
    replay problem.
    """
    before = len(sent_requests)
    start = clock.monotonic()
    try:
        ticket = service.submit(subject, body, EMAIL)
    except RemoteError as err:
        if not err.is_a("NoRecordingMatched"):
            raise
        made = sent_requests[before:]
        no_sdk_retries(made)
        refs = sorted({ref for request in made for ref in request.records})
        expect(
            False,
            observed=f"{len(made)} model request(s) about {', '.join(refs) or 'the ticket'}: "
            "more than this check has recorded answers for",
            expected=_calls(calls, why),
            hint=hint,
        )
        raise
    took = clock.monotonic() - start
    made = about(sent_requests, ticket.ref)
    no_sdk_retries(made)
    expect(
        len(made) == calls,
        observed=f"{len(made)} model request(s) about {ticket.ref}",
        expected=_calls(calls, why),
        hint=hint,
    )
    return ticket, took, made


def no_real_sleep(real_sleeps: list[float]) -> None:
    """Expect that nothing called time.sleep."""
    expect(
        not real_sleeps,
        observed=f"time.sleep was called with {', '.join(seconds(s) for s in real_sleeps)}",
        expected="every wait goes through the injected clock: clock.sleep(seconds)",
        hint="Keep the clock given to HelpdeskService and call its sleep(); only the default clock may use "
        "time.sleep. The SDK's own retries sleep with time.sleep too: keep them out of the service's calls.",
    )
