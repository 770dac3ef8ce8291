"""Helpers of the kata 02 checks: the brief's rules written out independently of any solution.

The timestamp parser, the duplicate rule, the line format, the token estimate and the chunking rule
below are the ones the brief states; the checks compute what they expect from the fixture data with
them, so a change of the data changes the expectations with it.
"""

from __future__ import annotations

import csv
import email.utils
import inspect
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kata.checks import expect

DEFAULT_MODEL = "gpt-4o-mini"
MESSAGE_OVERHEAD_TOKENS = 4

# Budgets used by the checks: (chunk_tokens, max_request_tokens).
ROOMY = (150, 450)
TIGHT = (100, 350)

CHECKOUT = {
    "file": "checkout-outage.csv",
    "title": "checkout: elevated 5xx after payments deploy",
    "severity": 2,
    "started_at": datetime(2024, 3, 5, 14, 2, tzinfo=UTC),
}
DNS = {
    "file": "dns-blip.csv",
    "title": "dns: resolver timeouts in eu-west",
    "severity": 3,
    "started_at": datetime(2024, 3, 7, 8, 40, tzinfo=UTC),
}

# The chunk summaries and final summaries the stand-in was scripted with (fixtures/.../standin.toml).
CHECKOUT_PARTS = (
    "Checkout latency, then 5xx errors, rose after payments deploy 7f3c; Dana declared the incident "
    "and the payments-gateway pool was exhausted.",
    "TLS timeouts to the card processor stopped checkouts; the status page went up and deploy 7f3c "
    "was rolled back to 6a1e.",
    "Errors fell below 0.5%; the card processor was ruled out and the pool size in 7f3c blamed. "
    "Resolved at 15:03; Priya owns the postmortem.",
)
CHECKOUT_TIGHT_PARTS = (
    "Latency, then 5xx errors on checkout after deploy 7f3c; incident declared, Dana in command.",
    "Gateway pool exhausted, TLS timeouts to the card processor, customers told on the status page.",
    "Deploy 7f3c rolled back to 6a1e after escalation; pool usage and 5xx rate going down.",
    "Errors below 0.5%, card processor ruled out, resolved at 15:03; Priya owns the postmortem.",
)
CHECKOUT_SUMMARY = (
    "Payments deploy 7f3c shrank the payments-gateway connection pool, so from about 14:00 UTC "
    "checkout returned 5xx errors and some customers could not pay. The deploy was rolled back to "
    "6a1e at 14:12, errors fell below 0.5% by 14:31 and the incident was resolved at 15:03. "
    "The card processor was ruled out. Priya owns the postmortem, due Friday."
)
DNS_SUMMARY = (
    "Resolver-2 in eu-west ran out of memory and flapped, so internal name lookups failed with "
    "SERVFAIL for about twelve minutes. It was restarted with a 2 GiB memory limit at 08:47 UTC; "
    "resolution recovered and the alert resolved at 08:52."
)


# --------------------------------------------------------------------------- the brief's rules


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


def request_tokens(body: dict[str, Any]) -> int:
    """The brief's size of a request: per message, 4 tokens of framing plus its content's estimate."""
    return sum(MESSAGE_OVERHEAD_TOKENS + estimate_tokens(_content_text(m.get("content")))
               for m in body.get("messages") or [] if isinstance(m, dict))


def parse_utc(raw: str) -> datetime:
    """The four timestamp formats of the brief, as aware UTC datetimes (to the second)."""
    raw = raw.strip()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        whole, _, fraction = raw.partition(".")
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(whole))
        return moment + timedelta(microseconds=int((fraction + "000000")[:6]))
    if raw[:1].isalpha():
        return email.utils.parsedate_to_datetime(raw).astimezone(UTC)
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Row:
    at: datetime
    source: str
    message: str

    @property
    def line(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}Z [{self.source}] {self.message}"


def prepared(raw_events: list[tuple[str, str, str]]) -> list[Row]:
    """The brief's preparation: UTC, stripped, no empty message, no duplicate, time order (stable)."""
    rows: list[Row] = []
    for at, source, message in raw_events:
        row = Row(parse_utc(at), source.strip(), message.strip())
        if row.message and row not in rows:
            rows.append(row)
    return sorted(rows, key=lambda r: r.at)


def read_export(path: Path) -> list[tuple[str, str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [(r["at"].strip(), r["source"].strip(), r["message"]) for r in csv.DictReader(handle)]


def chunks_of(rows: list[Row], chunk_tokens: int) -> list[list[Row]]:
    """The brief's greedy chunking rule."""
    chunks: list[list[Row]] = []
    current: list[Row] = []
    size = 0
    for row in rows:
        cost = estimate_tokens(row.line)
        if current and size + cost > chunk_tokens:
            chunks.append(current)
            current, size = [], 0
        current.append(row)
        size += cost
    if current:
        chunks.append(current)
    return chunks


# --------------------------------------------------------------------------- driving learner code


def recording_out(learner: Any) -> Any:
    """A text stream in the learner's process that remembers each write (`.writes`, `.getvalue()`),
    like a terminal that sees text as it comes."""
    return learner.load("kata.host.streams").RecordingOut()


def repository(learner: Any, db_path: Path) -> Any:
    return learner.load("oncall.repository").IncidentRepository(db_path)


def service(learner: Any, db_path: Path, client: Any, *, budget: tuple[int, int] = ROOMY,
            model: str = DEFAULT_MODEL) -> Any:
    """OncallService(repo, settings=Settings(...), client=client), with a clear message when the brief's
    signatures are missing (as in the starter)."""
    settings_cls = learner.load("oncall.config").Settings
    service_cls = learner.load("oncall.service").OncallService
    chunk_tokens, max_request_tokens = budget
    fields = {"db_path": str(db_path), "model": model, "max_request_tokens": max_request_tokens,
              "chunk_tokens": chunk_tokens}
    try:
        inspect.signature(settings_cls).bind(**fields)
    except TypeError as err:
        expect(False,
               observed=f"Settings(db_path=..., model={model!r}, max_request_tokens={max_request_tokens}, "
               f"chunk_tokens={chunk_tokens}) is refused ({err})",
               expected="Settings has the fields model, max_request_tokens and chunk_tokens",
               hint="Add the three fields to the Settings dataclass in oncall/config.py.")
    settings = settings_cls(**fields)
    repo = repository(learner, db_path)
    try:
        inspect.signature(service_cls).bind(repo, settings=settings, client=client)
    except TypeError as err:
        expect(False,
               observed=f"OncallService(repo, settings=..., client=...) is refused ({err})",
               expected="OncallService(repo, settings=None, client=None), client being an openai.OpenAI",
               hint="Add a `client` parameter (default None) to OncallService and keep it for the model calls.")
    return service_cls(repo, settings=settings, client=client)


def open_incident(svc: Any, spec: dict[str, Any], data: Path | None = None) -> Any:
    """Open the incident of `spec` and import its timeline export (the legacy importer)."""
    incident = svc.open_incident(spec["title"], spec["severity"], spec["started_at"])
    if data is not None:
        svc.import_events(incident.id, data / spec["file"])
    return incident


def digest(svc: Any, incident_id: int, out: Any) -> str:
    """service.digest(incident_id, out=out), with a clear message when `out` is not accepted."""
    try:
        inspect.signature(svc.digest).bind(incident_id, out=out)
    except TypeError as err:
        expect(False,
               observed=f"OncallService.digest(incident_id, out=...) is refused ({err})",
               expected="digest(incident_id, out=None): the digest is written to `out` as it is built",
               hint="Add an `out` parameter (a text stream, default None) to OncallService.digest.")
    return svc.digest(incident_id, out=out)


def header(spec: dict[str, Any], ref: str) -> tuple[str, str]:
    """The two header lines of the legacy digest, from the incident's data."""
    return (f"[{ref}] SEV{spec['severity']} {spec['title']}",
            f"Started: {spec['started_at']:%Y-%m-%d %H:%M} UTC")


def events_in(text: str, rows: list[Row]) -> list[tuple[int, Row]]:
    """(position, row) of every event message found in a request's user text, by position."""
    found = [(text.find(r.message), r) for r in rows if r.message in text]
    return sorted(found, key=lambda pair: pair[0])


def short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
