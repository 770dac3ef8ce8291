"""Helpers of kata 08's checks: building the learner's batch, running it, reading its report and requests.

Everything here observes behaviour only: the public constructors, `run(tickets)`, the report it returns,
the tickets stored, the requests that reach the (replayed) model and the time on the injected fake clock.
Expected costs and percentiles are computed here, from the token counts the stand-in script gives each
answer (fixtures/08-cost-and-latency/standin.toml) and the prices a check configures.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kata.checks import RemoteError, expect, plain

EMAIL = "customer@example.com"
TOLERANCE = 1e-9  # USD and seconds: sums of a handful of products, exact up to float rounding
SMALL, LARGE = "gpt-4o-mini", "gpt-4o"  # the default model names the brief promises

# The defaults the brief promises; a check relying on one says so in its message.
DEFAULTS: dict[str, Any] = {
    "small_model": SMALL,
    "model": LARGE,
    "cascade_threshold": 0.8,
    "confidence_threshold": 0.6,
    "run_budget": 5.0,
    "max_concurrency": 4,
    "request_timeout": 30.0,
}
DEFAULT_PRICES = {
    SMALL: {"input": 0.15, "cached_input": 0.075, "output": 0.60},
    LARGE: {"input": 2.50, "cached_input": 1.25, "output": 10.00},
}

# --------------------------------------------------------------------------- tickets

# A ticket of a check: (subject, body, the keyword rules' queue). The rules' queue is noted so a check
# can tell the rules from a model: wherever a model's answer is used, it differs from it.
Spec = tuple[str, str, str]


def add_tickets(learner: Any, repo: Any, specs: Sequence[Spec]) -> list[Any]:
    """Store the tickets with the learner's repository (refs TCK-1001, TCK-1002, ... in this order)."""
    ticket_cls = learner.load("helpdesk.models").Ticket
    return [repo.add(ticket_cls(id=None, subject=s, body=b, customer_email=EMAIL)) for s, b, _ in specs]


def repository(learner: Any, db_path: Path) -> Any:
    """The learner's TicketRepository on `db_path`."""
    return learner.load("helpdesk.repository").TicketRepository(db_path)


# --------------------------------------------------------------------------- building the batch


def make_settings(learner: Any, db_path: str, **fields: Any) -> Any:
    """Settings(db_path=..., **fields), failing clearly when a field of the brief is missing."""
    settings_cls = learner.load("helpdesk.config").Settings
    shown = ", ".join(f"{name}=..." for name in fields)
    try:
        inspect.signature(settings_cls).bind(db_path=db_path, **fields)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(db_path=..., {shown}) is refused ({err})",
            expected="Settings has the fields small_model, model, cascade_threshold, confidence_threshold, "
            "prices, run_budget, max_concurrency and request_timeout",
            hint="Add the new fields, with the defaults of the brief, to the Settings dataclass in helpdesk/config.py.",
        )
    return settings_cls(db_path=db_path, **fields)


def make_batch(learner: Any, repo: Any, client: Any, clock: Any, **fields: Any) -> Any:
    """BacklogReclassifier(repo, settings=Settings(db_path=..., **fields), client=client, clock=clock)."""
    settings = make_settings(learner, repo.db_path, **fields)
    batch_cls = learner.load("helpdesk.batch").BacklogReclassifier
    try:
        inspect.signature(batch_cls).bind(repo, settings=settings, client=client, clock=clock)
    except TypeError as err:
        expect(
            False,
            observed=f"BacklogReclassifier(repo, settings=..., client=..., clock=...) is refused ({err})",
            expected="BacklogReclassifier(repo, settings=None, client=None, clock=None); the client is an "
            "openai.AsyncOpenAI, the clock has monotonic()",
            hint="Add a `clock` parameter (default: the system clock) and take the client as an AsyncOpenAI.",
        )
    return batch_cls(repo, settings=settings, client=client, clock=clock)


RUN_HINT = ("Ask the small model first, the large one only when the small one gives no usable answer at or above "
            "cascade_threshold, each at most once per ticket, and nothing once the budget is spent.")


def run(batch: Any, tickets: list[Any], sent_requests: list[Any], why: str, hint: str = RUN_HINT) -> Any:
    """`batch.run(tickets)`; a request beyond the recorded answers is reported as a request too many."""
    before = len(sent_requests)
    try:
        return batch.run(tickets)
    except RemoteError as err:
        if not err.is_a("NoRecordingMatched"):
            raise
        extra = [r for r in sent_requests[before:] if not r.answered]
        shown = ", ".join(f"{', '.join(r.records) or 'no ticket'} to {r.model!r}" for r in extra[:3])
        expect(
            False,
            observed=f"the run sent a request this check has no recorded answer for ({shown})",
            expected=why,
            hint="Ask the small model first, the large one only when the small one gives no usable answer at or "
            "above cascade_threshold, each at most once per ticket, and nothing once the budget is spent.",
        )
        raise


# --------------------------------------------------------------------------- reading the report


def results_of(report: Any) -> list[Any]:
    """The report's results, failing clearly when the attribute is missing."""
    results = getattr(report, "results", None)
    expect(
        isinstance(results, list),
        observed=f"run() returned {type(report).__name__} without a `results` list",
        expected="a report whose `results` holds one result per ticket, in the order the tickets were given",
        hint="Keep BatchReport.results as it is and add the new fields beside it.",
    )
    return results  # type: ignore[return-value]


def by_ref(report: Any) -> dict[str, Any]:
    """Results by ticket ref (the order is graded by its own check)."""
    return {result.ref: result for result in results_of(report)}


def field(report: Any, name: str, expected: str) -> Any:
    """A field of the report, failing clearly when it is missing."""
    missing = object()
    value = getattr(report, name, missing)
    expect(
        value is not missing,
        observed=f"the report has no `{name}`",
        expected=expected,
        hint="Add tickets_by_model, cost, latency_p50 and latency_p95 to the report run() returns.",
    )
    return value


def decision(result: Any) -> str:
    """`TCK-1001: 'billing' by 'gpt-4o-mini'`."""
    return f"{result.ref}: {plain(result.queue)!r} decided by {plain(result.decided_by)!r}"


def decided(report: Any, ref: str, queue: str, by: str, why: str, hint: str) -> None:
    """Expect that the ticket `ref` went to `queue`, decided by `by` (a model name or 'rules')."""
    results = by_ref(report)
    expect(ref in results, observed=f"the report has no result for {ref}", expected=f"a result for {ref}: {why}",
           hint="Return one result per ticket given to run().")
    result = results[ref]
    expect(
        plain(result.queue) == queue and plain(result.decided_by) == by,
        observed=decision(result),
        expected=f"{queue!r} decided by {by!r}: {why}",
        hint=hint,
    )


def stored(learner: Any, db_path: Path, ticket: Any, queue: str, routed_by: str) -> None:
    """Expect the ticket stored with this queue and routed_by, read through a new repository."""
    again = repository(learner, db_path).get(ticket.id)
    expect(
        again is not None and plain(again.queue) == queue and plain(again.routed_by) == routed_by,
        observed=f"{ticket.ref} is stored with queue {plain(again.queue)!r} and routed_by {plain(again.routed_by)!r}"
        if again is not None else f"{ticket.ref} is not stored",
        expected=f"queue {queue!r} and routed_by {routed_by!r}, stored by the run as before",
        hint="Store each ticket's decision as the batch did: the queue, and routed_by 'model' or 'rules'.",
    )


# --------------------------------------------------------------------------- requests


def about(sent_requests: list[Any], ref: str, model: str | None = None) -> list[Any]:
    """The requests whose user message carries `ref` (to `model`, when given)."""
    return [r for r in sent_requests if ref in r.records and (model is None or r.model == model)]


def asked(sent_requests: list[Any], ref: str, models: list[str], why: str, hint: str) -> list[Any]:
    """Expect exactly these requests about `ref`, to these models in this order; returns them."""
    made = about(sent_requests, ref)
    expect(
        [r.model for r in made] == models,
        observed=f"requests about {ref}: " + (", ".join(repr(r.model) for r in made) or "none"),
        expected=("no request" if not models else ", then ".join(repr(m) for m in models)) + f": {why}",
        hint=hint,
    )
    return made


def show_models(requests: list[Any]) -> str:
    return ", ".join(f"{', '.join(r.records) or '-'} to {r.model!r}" for r in requests) or "none"


# --------------------------------------------------------------------------- money and time


def cost(usage: tuple[int, int, int], price: dict[str, float]) -> float:
    """USD of one answer billed (prompt, cached, completion) tokens; cached tokens are part of the prompt."""
    prompt, cached, completion = usage
    return ((prompt - cached) * price["input"] + cached * price["cached_input"]
            + completion * price["output"]) / 1_000_000


def usd(value: Any) -> str:
    return f"${value:.7f}" if isinstance(value, int | float) else repr(value)


def close(a: Any, b: float) -> bool:
    return isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(a, b, rel_tol=1e-9,
                                                                                    abs_tol=TOLERANCE)


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The smallest value that at least `percent`% of the values do not exceed."""
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def seconds(value: Any) -> str:
    return f"{value:.6g} s" if isinstance(value, int | float) else repr(value)


def clock_advancer(clock: Any, latency: Callable[[Any], float]) -> Callable[[Any], None]:
    """An `on_request` callback: each request takes `latency(request)` seconds on the fake clock."""

    def on_request(request: Any) -> None:
        clock.advance(latency(request))

    return on_request
