"""Helpers of kata 11's checks: building the learner's service with recording telemetry, reading spans.

The recorders live in the learner's process (kata.host.telemetry: a real OpenTelemetry SDK TracerProvider
with an in-memory exporter, a MeterProvider with an in-memory reader, a logging recorder); the checks read
what they recorded as plain data. Everything observed is what the brief promises: spans, metrics, log
records, the requests that reached the (replayed) model and the tickets `submit()` returns.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kata.checks import expect, plain

EMAIL = "noor.haddad@example.org"
MODEL = "gpt-4o-mini"
PROMPT_VERSION = "triage-v3"  # the brief pins it: classifier.PROMPT_VERSION of the legacy service
CALL_SECONDS = 0.75  # how long each request takes on the fake clock (it moves on while the request is in flight)

# Keys the GenAI conventions reserve for message content (opt-in, sensitive): never set here.
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.prompt",
                "gen_ai.completion")
# The SDK's own loggers: their debug output is the SDK's business, not the service's.
SDK_LOGGERS = ("openai", "httpx", "httpx2", "httpcore", "httpcore2")


class Recorders:
    """The telemetry a check hands to the learner's service, built in the learner's process."""

    def __init__(self, learner: Any) -> None:
        host = learner.load("kata.host.telemetry")
        self.span_recorder = host.SpanRecorder()
        self.metric_recorder = host.MetricRecorder()
        self.log_stream = learner.load("kata.host.streams").RecordingOut()
        self._log_read = 0

    def spans(self) -> list[dict[str, Any]]:
        return list(self.span_recorder.spans())

    def metrics(self) -> list[dict[str, Any]]:
        return list(self.metric_recorder.metrics())

    def clear_spans(self) -> None:
        self.span_recorder.clear()

    def new_log_text(self) -> str:
        """What was written to the log stream since the last call."""
        text = self.log_stream.getvalue()
        new, self._log_read = text[self._log_read:], len(text)
        return new


def latency_client(openai_client: Any, clock: Any, **options: Any) -> Any:
    """A replaying SDK client whose every request takes CALL_SECONDS on the fake clock (a simulated
    time-out takes the request's own time-out instead)."""

    def in_flight(request: Any) -> None:
        clock.advance(CALL_SECONDS)

    def timed_out(request: Any) -> None:
        clock.advance(request.timeout or 0)

    return openai_client(on_request=in_flight, on_timeout=timed_out, **options)


def make_service(learner: Any, tmp_path: Path, client: Any, clock: Any, recorders: Recorders | None,
                 **fields: Any) -> Any:
    """HelpdeskService(repo, settings=Settings(db_path=..., **fields), client=..., clock=..., and the
    recorders' providers and log stream), failing clearly when the constructor refuses them."""
    db_path = str(tmp_path / "helpdesk.db")
    settings = learner.load("helpdesk.config").Settings(db_path=db_path, **fields)
    repo = learner.load("helpdesk.repository").TicketRepository(db_path)
    service_cls = learner.load("helpdesk.service").HelpdeskService
    kwargs: dict[str, Any] = {"settings": settings, "client": client, "clock": clock}
    if recorders is not None:
        kwargs.update(tracer_provider=recorders.span_recorder.provider,
                      meter_provider=recorders.metric_recorder.provider, log_stream=recorders.log_stream)
    try:
        inspect.signature(service_cls).bind(repo, **kwargs)
    except TypeError as err:
        expect(
            False,
            observed=f"HelpdeskService(repo, {', '.join(f'{k}=...' for k in kwargs)}) is refused ({err})",
            expected="HelpdeskService(repo, settings=None, client=None, clock=None, tracer_provider=None, "
            "meter_provider=None, log_stream=None)",
            hint="Add the three telemetry parameters, defaulting to None, and use what they give you.",
        )
    return service_cls(repo, **kwargs)


def submit(service: Any, recorders: Recorders, subject: str, body: str) -> tuple[Any, list[dict[str, Any]]]:
    """Submit one ticket; returns it and the spans that ended during its `submit()`."""
    recorders.clear_spans()
    ticket = service.submit(subject, body, EMAIL)
    return ticket, recorders.spans()


def about(sent_requests: list[Any], ref: str) -> list[Any]:
    """The requests whose user message carries `ref`."""
    return [r for r in sent_requests if ref in r.records]


# --------------------------------------------------------------------------- reading spans


def is_call_span(span: dict[str, Any]) -> bool:
    """A span of a model call: it says so with gen_ai.operation.name, or at least by its name."""
    return "gen_ai.operation.name" in span["attributes"] or span["name"].startswith("chat")


def call_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model-call spans, in the order they started."""
    return sorted((s for s in spans if is_call_span(s)), key=lambda s: s["start_ns"] or 0)


def describe(spans: list[dict[str, Any]]) -> str:
    """`helpdesk.submit (INTERNAL), chat gpt-4o-mini (CLIENT, child of helpdesk.submit)` for messages."""
    if not spans:
        return "no span at all"
    names = {s["span_id"]: s["name"] for s in spans}
    shown = []
    for span in spans:
        parent = span["parent_span_id"]
        where = "" if parent is None else f", child of {names.get(parent, 'a span outside this ticket')}"
        shown.append(f"{span['name']!r} ({span['kind']}{where})")
    return ", ".join(shown)


def ticket_span(spans: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    """The one `helpdesk.submit` span of a ticket's `submit()`, failing the check otherwise."""
    found = [s for s in spans if s["name"] == "helpdesk.submit"]
    expect(
        len(found) == 1,
        observed=f"submitting {ref} ended {len(found)} span(s) named 'helpdesk.submit'; its spans: {describe(spans)}",
        expected="exactly one span named 'helpdesk.submit' per submit() call",
        hint="Wrap the whole of submit() in one span named helpdesk.submit, made with the injected tracer_provider.",
    )
    return found[0]


def descends_from(span: dict[str, Any], ancestor: dict[str, Any], spans: list[dict[str, Any]]) -> bool:
    """True when `ancestor` is on the chain of parents of `span` (within the same trace)."""
    if span["trace_id"] != ancestor["trace_id"]:
        return False
    by_id = {s["span_id"]: s for s in spans}
    parent, seen = span["parent_span_id"], set()
    while parent is not None and parent not in seen:
        if parent == ancestor["span_id"]:
            return True
        seen.add(parent)
        parent = by_id[parent]["parent_span_id"] if parent in by_id else None
    return False


def shown_attributes(span: dict[str, Any], keys: Iterable[str]) -> str:
    """`gen_ai.request.model='gpt-4o-mini', error.type=(missing)` for messages."""
    attributes = span["attributes"]
    return ", ".join(f"{k}={attributes[k]!r}" if k in attributes else f"{k}=(missing)" for k in keys)


# --------------------------------------------------------------------------- reading metrics


def instrument(metrics: list[dict[str, Any]], name: str, hint: str) -> dict[str, Any]:
    """The recorded instrument named `name`, failing the check when there is none."""
    found = [m for m in metrics if m["name"] == name]
    names = sorted({m["name"] for m in metrics})
    expect(
        len(found) >= 1,
        observed="the meter provider recorded " + (f"the metrics {', '.join(names)}" if names else "no metric at all"),
        expected=f"a histogram named {name!r}",
        hint=hint,
    )
    return found[0]


def points(metric: dict[str, Any]) -> list[dict[str, Any]]:
    return list(metric["points"])


# --------------------------------------------------------------------------- reading logs


def log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def json_record(line: str, ref: str) -> dict[str, Any]:
    """A log line as a JSON object, failing the check when it is not one."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    expect(
        isinstance(record, dict),
        observed=f"the log line written for {ref} is not a JSON object: {line[:160]!r}",
        expected="one JSON object per line, e.g. {\"ticket\": \"TCK-1001\", \"queue\": \"billing\", ...}",
        hint="Write json.dumps(record) followed by a newline, one line per submit(); nothing else on the stream.",
    )
    return record  # type: ignore[return-value]


def leaks(text: str, needles: Iterable[str]) -> list[str]:
    """The needles (personal data, content) found in `text`, case-insensitively."""
    lowered = text.lower()
    return [needle for needle in needles if needle.lower() in lowered]


def value_text(value: Any) -> str:
    """An attribute value as searchable text (a list's items joined)."""
    if isinstance(value, list | tuple):
        return " | ".join(str(item) for item in value)
    return str(plain(value))
