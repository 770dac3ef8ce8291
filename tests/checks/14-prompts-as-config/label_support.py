"""Helpers of kata 14's checks: the prompt registry on disk, the learner's service and migration, logs.

Everything here observes behaviour only: the service's public constructor and `submit`/`get`, the
tickets it returns, `migrate_model`'s report, the requests that reach the (replayed) model, the log
records of the `helpdesk` loggers, and the registry files whose layout the brief fixes. The checks keep
their registry in `tmp_path`: a copy of the kit's (`fixtures/14-prompts-as-config/data/prompts`), which
a check may change the way an operator would (add a version, add or move a label).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kata.checks import RemoteError, expect, learner_file
from kata.checks import plain as plain_value

EMAIL = "customer@example.com"
NAME = "ticket-routing"  # the prompt the service routes with (the default of Settings.prompt_name)
RETIRED = "gpt-4o-mini-2024-07-18"  # the model of versions 3 and 4 in the kit's registry
NEW_MODEL = "gpt-4.1-mini-2025-04-14"  # the migration's target
MISSPELT = "gpt-4.1-mni"  # a model the API does not know
MAX_TIMEOUT = 30.0  # seconds: the brief's cap on every request's read time-out


# --------------------------------------------------------------------------- the registry on disk


def registry(kata_data: Path, tmp_path: Path) -> Path:
    """A fresh copy of the kit's registry in `tmp_path`; returns its root (Settings.prompts_dir)."""
    root = tmp_path / "prompts"
    shutil.copytree(kata_data / "prompts", root, copy_function=shutil.copyfile)
    # The kit's data may be read-only; the copy is the learner's to write (a migration adds a version).
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return root


def kit_version(kata_data: Path, version: int) -> dict[str, Any]:
    """A version file of the kit's registry (the checks' own copy, never one the learner wrote)."""
    return json.loads((kata_data / "prompts" / NAME / "versions" / f"{version}.json").read_text(encoding="utf-8"))


def kit_version_bytes(kata_data: Path, version: int) -> bytes:
    return (kata_data / "prompts" / NAME / "versions" / f"{version}.json").read_bytes()


def _safe_target(root: Path, relative: str) -> Path:
    """`root/relative`, after making sure no folder on the way is a link (learner code ran in there)."""
    path = root / relative
    folder = path.parent
    while True:
        if folder.is_symlink() or not folder.is_dir():
            raise RuntimeError(f"{folder} is no longer a plain folder")
        if folder == root.parent:
            break
        folder = folder.parent
    return path


def write_file(root: Path, relative: str, document: dict[str, Any]) -> None:
    """Write a registry file as an operator would, replacing what is there (never through a link)."""
    path = _safe_target(root, relative)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")


def write_labels(root: Path, labels: dict[str, int]) -> None:
    write_file(root, f"{NAME}/labels.json", labels)


def add_version(root: Path, version: int, model: str, system_prompt: str) -> None:
    write_file(root, f"{NAME}/versions/{version}.json",
               {"version": version, "model": model, "system_prompt": system_prompt, "note": "written by the check"})


def read_json(path: Path, what: str) -> Any:
    """A registry file as the learner's code left it (read safely), failing clearly when unreadable."""
    data = learner_file(path)
    expect(
        data is not None,
        observed=f"{what} ({path.name}) is missing or not a regular file",
        expected=f"{what} as the brief lays it out",
        hint="Keep the registry's layout: <prompts_dir>/<prompt_name>/labels.json and versions/<n>.json.",
    )
    try:
        return json.loads(data or b"")
    except ValueError:
        expect(
            False,
            observed=f"{what} ({path.name}) is not valid JSON: {data[:120]!r}",
            expected=f"{what} as a JSON object",
            hint="Write registry files with json.dump.",
        )


def labels_now(root: Path) -> Any:
    return read_json(root / NAME / "labels.json", "labels.json")


def version_files(root: Path) -> list[str]:
    """The version files (`<n>.json`) in versions/, by number (listing a folder opens no learner file)."""
    found = [path for path in (root / NAME / "versions").iterdir() if path.suffix == ".json" and path.stem.isdigit()]
    return [path.name for path in sorted(found, key=lambda path: int(path.stem))]


# --------------------------------------------------------------------------- golden sets


def golden_frame(kata_data: Path, refs: list[str] | None = None) -> pd.DataFrame:
    """The kit's golden set as the brief says the checks pass it (text columns), or some of its rows."""
    frame = pd.read_csv(kata_data / "golden_set.csv", dtype="str", keep_default_na=False)
    return _rows(frame, refs)


def baseline_frame(kata_data: Path, refs: list[str] | None = None) -> pd.DataFrame:
    frame = pd.read_csv(kata_data / "baseline_predictions.csv", dtype="str", keep_default_na=False)
    return _rows(frame, refs)


def _rows(frame: pd.DataFrame, refs: list[str] | None) -> pd.DataFrame:
    if refs is not None:
        frame = frame[frame["ref"].isin(refs)].reset_index(drop=True)
    return frame


def frame_of(columns: list[str], rows: list[tuple[str, ...]]) -> pd.DataFrame:
    return pd.DataFrame({name: [row[i] for row in rows] for i, name in enumerate(columns)}, dtype="str")


# --------------------------------------------------------------------------- the learner's service


def plain(value: Any) -> Any:
    return plain_value(value)


def make_settings(learner: Any, db_path: Path, **fields: Any) -> Any:
    """Settings(db_path=..., **fields), failing clearly when a field of the brief is missing."""
    settings_cls = learner.load("helpdesk.config").Settings
    try:
        inspect.signature(settings_cls).bind(db_path=str(db_path), **fields)
    except TypeError as err:
        listed = ", ".join(f"{name}=..." for name in fields)
        expect(
            False,
            observed=f"Settings(db_path=..., {listed}) is refused ({err})",
            expected="Settings has the fields prompts_dir, prompt_name ('ticket-routing') and prompt_label "
            "('production'), besides the existing ones",
            hint="Add the registry's settings to the Settings dataclass in helpdesk/config.py.",
        )
    return settings_cls(db_path=str(db_path), **fields)


def repository(learner: Any, db_path: Path) -> Any:
    return learner.load("helpdesk.repository").TicketRepository(db_path)


def service(learner: Any, db_path: Path, client: Any, **fields: Any) -> Any:
    """HelpdeskService(TicketRepository(db_path), settings=Settings(db_path=..., **fields), client=client)."""
    settings = make_settings(learner, db_path, **fields)
    service_cls = learner.load("helpdesk.service").HelpdeskService
    return service_cls(repository(learner, db_path), settings=settings, client=client)


def prompt_version(ticket: Any) -> Any:
    """The ticket's `prompt_version`, failing clearly when the attribute is missing."""
    missing = object()
    value = getattr(ticket, "prompt_version", missing)
    expect(
        value is not missing,
        observed=f"the ticket returned for {getattr(ticket, 'ref', '?')} has no `prompt_version` attribute",
        expected="every ticket records prompt_version: the version sent to the model for it, or None",
        hint="Add `prompt_version: int | None = None` to Ticket, set it when the service asks the model, "
        "store it and read it back.",
    )
    return value


def routed(ticket: Any) -> str:
    """`TCK-1001 went to 'billing' (routed_by='rules', prompt_version=4)`."""
    return (f"{ticket.ref} went to {plain(ticket.queue)!r} (routed_by={plain(ticket.routed_by)!r}, "
            f"prompt_version={prompt_version(ticket)!r})")


def same_version(value: Any, version: int | None) -> bool:
    if version is None:
        return value is None
    return isinstance(value, int) and not isinstance(value, bool) and value == version


def submit(svc: Any, sent_requests: list[Any], subject: str, body: str, *, calls: int, why: str,
           hint: str) -> tuple[Any, list[Any]]:
    """Submit one ticket and expect exactly `calls` model requests for it; returns the ticket and them.

    A request beyond the recorded answers is reported as a wrong number of requests, which it is.
    """
    before = len(sent_requests)
    try:
        ticket = svc.submit(subject, body, EMAIL)
    except RemoteError as err:
        if not err.is_a("NoRecordingMatched"):
            raise
        made = sent_requests[before:]
        models = ", ".join(sorted({str(r.model) for r in made}))
        wanted = f"{'no request' if calls == 0 else f'exactly {calls} request(s)'}: {why}"
        if len(made) > calls:
            expect(
                False,
                observed=f"{len(made)} model request(s) for the ticket (model {models}): more than this check has "
                "recorded answers for",
                expected=wanted,
                hint=hint,
            )
        expect(
            False,
            observed=f"the request for the ticket asked for the model {models}, which this check has no recorded "
            "answer for",
            expected=wanted + "; the recordings answer the model of the version the label points at",
            hint="Send the model of the version Settings.prompt_label points at now (read labels.json when the "
            "service is built).",
        )
        raise
    made = [r for r in sent_requests[before:] if ticket.ref in r.records]
    expect(
        len(sent_requests) - before == calls and len(made) == calls,
        observed=f"{len(sent_requests) - before} model request(s) while {ticket.ref} was submitted",
        expected=f"{'no request' if calls == 0 else f'exactly {calls} request(s), about {ticket.ref}'}: {why}",
        hint=hint,
    )
    return ticket, made


def system_text(body: dict[str, Any]) -> str:
    """The system (or developer) message of a chat request."""
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") in ("system", "developer"):
            content = message.get("content")
            if isinstance(content, list):
                return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
    return ""


def expect_prompt(request: Any, document: dict[str, Any], what: str, hint: str) -> None:
    """Expect that `request` was sent with the model and the system prompt of a version file."""
    ref = ", ".join(request.records) or "the ticket"
    expect(
        request.model == document["model"],
        observed=f"the request about {ref} asked for the model {request.model!r}",
        expected=f"{document['model']!r}, the model of version {document['version']} ({what})",
        hint=hint,
    )
    expect(
        document["system_prompt"] in system_text(request.body),
        observed=f"the request about {ref} does not carry the system prompt of version {document['version']}",
        expected=f"the system message is the system_prompt of version {document['version']} ({what}), as written "
        "in its file",
        hint=hint,
    )


def expect_usual_request(request: Any) -> None:
    """The service's request as before: structured output with the fields queue and confidence, one ticket."""
    ref = ", ".join(request.records) or "no ref"
    expect(
        request.path.endswith("/chat/completions") and request.structured
        and set(request.schema_fields) == {"queue", "confidence"} and len(request.records) == 1,
        observed=f"a request to {request.path} (structured: {request.structured}, schema fields: "
        f"{', '.join(request.schema_fields) or 'none'}, refs: {ref})",
        expected="chat.completions.parse with the schema fields queue and confidence, one ticket's ref in the "
        "user message",
        hint="Keep the classifier's request as it is; only its model and system prompt come from the registry.",
    )


# --------------------------------------------------------------------------- the legacy database

# The tickets table exactly as the legacy release (2.7, the starter of this kata) creates it.
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
    """An SQLite file as the legacy release leaves it, with its tickets (built by the grader)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(LEGACY_SCHEMA)
        conn.executemany(
            "INSERT INTO tickets (subject, body, customer_email, queue, created_at, routed_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(s, b, EMAIL, q, "2026-03-20T10:15:00+00:00", by) for s, b, q, by in LEGACY_TICKETS],
        )
        conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------------------- the migration


def migrate(learner: Any, new_model: str, golden: pd.DataFrame, baseline: pd.DataFrame, client: Any,
            settings: Any) -> Any:
    """`helpdesk.migration.migrate_model(new_model, golden, baseline, client, settings=settings)`."""
    try:
        module = learner.load("helpdesk.migration")
    except RemoteError as err:
        if not (err.is_a("ModuleNotFoundError") and "'helpdesk.migration'" in err.text):
            raise
        expect(
            False,
            observed="there is no module helpdesk.migration",
            expected="helpdesk.migration with migrate_model(new_model, golden, baseline, client, settings=None)",
            hint="Create helpdesk/migration.py; it may call code you put in other modules.",
        )
    found = getattr(module, "migrate_model", None)
    expect(
        callable(found),
        observed="helpdesk.migration has no function migrate_model",
        expected="migrate_model(new_model, golden, baseline, client, settings=None), as the brief describes it",
        hint="Define migrate_model in helpdesk/migration.py, or import it there.",
    )
    return found(new_model, golden, baseline, client, settings=settings)  # type: ignore[misc]


@dataclass(frozen=True)
class Report:
    version: Any
    previous_version: Any
    ships: bool
    reasons: list[str]


def read_report(report: Any) -> Report:
    """The migration report's four attributes as plain values, failing clearly on a wrong shape."""
    wanted = "version (int), previous_version (int), ships (bool), reasons (list of str)"
    values = {}
    missing = object()
    for name in ("version", "previous_version", "ships", "reasons"):
        value = getattr(report, name, missing)
        expect(
            value is not missing,
            observed=f"the report migrate_model returned has no attribute `{name}`",
            expected=f"a report with {wanted}",
            hint="Return an object with the attributes the brief lists (a dataclass, say).",
        )
        values[name] = value
    expect(
        isinstance(values["ships"], bool),
        observed=f"ships is {values['ships']!r}",
        expected="ships is True or False",
        hint="ships: whether the candidate passed the gate (and so got the label).",
    )
    reasons = values["reasons"]
    expect(
        isinstance(reasons, list | tuple) and all(isinstance(r, str) for r in reasons),
        observed=f"reasons is {reasons!r}",
        expected="reasons is a list of strings (empty when the candidate ships)",
        hint="One sentence per reason the candidate did not ship.",
    )
    return Report(values["version"], values["previous_version"], values["ships"], list(reasons))


def names_queue(reason: str, queue: str) -> bool:
    return re.search(rf"\b{queue}\b", reason.lower()) is not None


def mentions(text: str, word: str) -> bool:
    """`word` appears in `text` as a word of its own (so "41" is not found in "141", nor "staging" in "staging2")."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


# --------------------------------------------------------------------------- logs

_RECORD, _FIELD = "\x1e", "\x1f"


@dataclass(frozen=True)
class LogLine:
    level: int
    logger: str
    text: str


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
