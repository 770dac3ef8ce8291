"""Helpers of kata 07's checks: building the learner's settings, running a night, reading what it left.

Everything here observes behaviour only: `run_nightly` called as the brief states it, the requests that
reach the (replayed) model, the rows of the `intake` table and the drafts in the outbox file.
"""

from __future__ import annotations

import inspect
import json
import mailbox
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kata.checks import LearnerKilled, RemoteError, expect, learner_file, open_database

DAY1 = "2025-06-03"
DAY2 = "2025-06-04"
DAY1_IDS = [f"IN-20250603-000{n}" for n in range(1, 6)]
DAY2_IDS = [f"IN-20250604-000{n}" for n in range(1, 6)]
CLASSIFY, DRAFT = "classification", "draft"

# What the recordings answer (fixtures/07-stateful-pipeline/standin.toml): the queue and a recognisable
# start of the reply, for the default prompt version and model.
ANSWERS = {
    "IN-20250603-0001": ("shipping", "Hello, thank you for your order 48213"),
    "IN-20250603-0002": ("billing", "Hello Ben, thank you for telling us about the double charge"),
    "IN-20250603-0003": ("account", "Hello Léa, we are sorry you are locked out"),
    "IN-20250603-0004": ("technical", "Hello Tom, thank you for the details about the crash"),
    "IN-20250603-0005": ("general", "Hello, thank you for your interest in our shops"),
    "IN-20250604-0002": ("billing", "Hello Ben, thank you for telling us about the second double charge"),
    "IN-20250604-0004": ("account", "Hello, we are sorry the sign-in code does not arrive"),
}
# Day 2's e-mails that differ from an earlier one by whitespace only (so their answers are that one's).
SAME_TEXT = {
    "IN-20250604-0001": "IN-20250603-0001",
    "IN-20250604-0003": "IN-20250603-0005",
    "IN-20250604-0005": "IN-20250604-0004",
}

ROW_COLUMNS = ("message_id", "status", "queue", "reply", "error")


# --------------------------------------------------------------------------- inboxes and settings


def inbox(kata_data: Path, folder: Path, day: str, ids: Iterable[str] | None = None) -> Path:
    """The kit's export of `day`, or (with `ids`) a copy holding only those e-mails, named <day>.jsonl."""
    source = kata_data / f"{day}.jsonl"
    if ids is None:
        return source
    wanted = list(ids)
    lines = {json.loads(line)["message_id"]: line for line in source.read_text(encoding="utf-8").splitlines()
             if line.strip()}
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{day}.jsonl"
    target.write_text("".join(lines[i] + "\n" for i in wanted), encoding="utf-8")
    return target


class Night:
    """One check's installation: its database, outbox and report folder in `tmp_path`."""

    def __init__(self, learner: Any, tmp_path: Path) -> None:
        self.learner = learner
        self.db_path = tmp_path / "intake.db"
        self.outbox_path = tmp_path / "drafts.mbox"
        self.report_dir = tmp_path / "reports"

    def settings(self, **fields: Any) -> Any:
        """Settings(db_path=..., outbox_path=..., report_dir=..., **fields) of the learner's config."""
        settings_cls = self.learner.load("helpdesk.config").Settings
        paths = {"db_path": str(self.db_path), "outbox_path": str(self.outbox_path),
                 "report_dir": str(self.report_dir)}
        try:
            inspect.signature(settings_cls).bind(**paths, **fields)
        except TypeError as err:
            shown = ", ".join(f"{name}={value!r}" for name, value in fields.items())
            expect(
                False,
                observed=f"Settings(db_path=..., outbox_path=..., report_dir=..., {shown}) is refused ({err})",
                expected="Settings has the fields prompt_version (default: prompts.PROMPT_VERSION) and "
                "request_timeout (default 30.0) besides the old ones",
                hint="Add the two fields, with these defaults, to the Settings dataclass in helpdesk/config.py.",
            )
        return settings_cls(**paths, **fields)

    def run(self, inbox_path: Path, client: Any, **fields: Any) -> Any:
        """run_nightly(inbox, settings, client), as cron calls it."""
        nightly = self.learner.load("helpdesk.nightly")
        return nightly.run_nightly(str(inbox_path), self.settings(**fields), client)

    def killed_run(self, inbox_path: Path, client: Any, where: str) -> None:
        """A run the grader kills at the request `where` describes; then a fresh learner process."""
        try:
            self.run(inbox_path, client)
        except LearnerKilled:
            self.learner.restart()
            return
        expect(
            False,
            observed=f"the run finished without sending {where}",
            expected=f"the run sends {where} (the grader kills the process there)",
            hint="Classify every e-mail of the export, then draft a reply to each one that was classified.",
        )

    # ----------------------------------------------------------------------- what the run left

    def rows(self) -> dict[str, dict[str, Any]]:
        """The intake table: message_id -> the row's columns the brief names."""
        conn = open_database(self.db_path)
        try:
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(intake)")}
            missing = [name for name in ROW_COLUMNS if name not in columns]
            expect(
                not missing,
                observed=f"the table intake in settings.db_path has no column {', '.join(missing)}"
                if columns else "settings.db_path has no table intake",
                expected="an intake table with (at least) message_id, status, queue, reply and error",
                hint="Keep the intake table of the legacy release and add status and error to it.",
            )
            return {row["message_id"]: dict(row) for row in
                    conn.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM intake")}
        finally:
            conn.close()

    def drafts(self) -> list[tuple[str, str]]:
        """(message id replied to, reply text) of each draft in the outbox file, in file order."""
        data = learner_file(self.outbox_path)
        if not data:
            return []
        with tempfile.TemporaryDirectory(prefix="kata-mbox-") as folder:
            copy = Path(folder) / "drafts.mbox"
            copy.write_bytes(data)
            box = mailbox.mbox(copy)
            try:
                drafts = []
                for message in box:
                    payload = message.get_payload(decode=True)
                    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
                    drafts.append((str(message["In-Reply-To"] or "").strip().strip("<>"), text.strip()))
                return drafts
            finally:
                box.close()


# --------------------------------------------------------------------------- requests


def stage(request: Any) -> str:
    """A request's stage: structured output is a classification, plain text a draft."""
    return CLASSIFY if request.structured else DRAFT


def asked(requests: Iterable[Any]) -> Counter[tuple[str, str]]:
    """How many requests were sent per (message id, stage)."""
    return Counter((record, stage(r)) for r in requests for record in r.records)


def show_asked(counts: Counter[tuple[str, str]]) -> str:
    """`IN-20250603-0001 classification, IN-20250603-0001 draft x2` (or `no request`)."""
    if not counts:
        return "no request"
    return ", ".join(f"{mid} {kind}" + (f" x{n}" if n > 1 else "") for (mid, kind), n in sorted(counts.items()))


def one_each(ids: Iterable[str], kinds: Iterable[str] = (CLASSIFY, DRAFT)) -> Counter[tuple[str, str]]:
    """One request per e-mail and stage."""
    return Counter((mid, kind) for mid in ids for kind in kinds)


def run_counting(sent_requests: list[Any], run: Any, hint: str, expected: str) -> tuple[Any, list[Any]]:
    """Call `run()` and return its result and the requests it sent.

    A request that no recording answers is what a check of request counts wants to report: as too many
    requests, in its own words, not as a replay problem.
    """
    before = len(sent_requests)
    try:
        result = run()
    except RemoteError as err:
        if not err.is_a("NoRecordingMatched"):
            raise
        expect(
            False,
            observed=f"the run asked {show_asked(asked(sent_requests[before:]))}: more than the recordings "
            "answer (a request was made again, or made that should not have been)",
            expected=expected,
            hint=hint,
        )
        raise
    return result, sent_requests[before:]


def expect_asked(made: list[Any], wanted: Counter[tuple[str, str]], when: str, why: str, hint: str) -> None:
    """Expect exactly the requests `wanted` (per message id and stage) among `made`."""
    unknown = [r for r in made if not r.records]
    expect(
        not unknown,
        observed=f"{when}: {len(unknown)} request(s) with no e-mail's message id in the user message",
        expected="every request names the e-mail it is about (its message id) in the user message",
        hint="Keep the legacy prompts' user messages, which start with the e-mail's message id.",
    )
    got = asked(made)
    expect(
        got == wanted,
        observed=f"{when}: the run asked {show_asked(got)}",
        expected=f"{show_asked(wanted)}: {why}",
        hint=hint,
    )


# --------------------------------------------------------------------------- rows and drafts


def expect_done(rows: dict[str, dict[str, Any]], answers: dict[str, tuple[str, str]], why: str) -> None:
    """Expect each e-mail's row done, with the queue and reply the model gave (`answers`)."""
    for message_id, (queue, reply_start) in answers.items():
        row = rows.get(message_id)
        expect(
            row is not None,
            observed=f"no intake row for {message_id}",
            expected="one intake row per e-mail of every export the pipeline ran",
            hint="Store a row for every e-mail of the export (the legacy release did, at the end of the run).",
        )
        reply = str(row["reply"] or "")
        expect(
            row["status"] == "done" and row["queue"] == queue and reply.startswith(reply_start) and not row["error"],
            observed=f"{message_id}: status={row['status']!r}, queue={row['queue']!r}, reply "
            + (repr(reply[:60] + ("..." if len(reply) > 60 else "")) if reply else "empty")
            + (f", error={row['error']!r}" if row["error"] else ""),
            expected=f"status 'done', queue {queue!r}, the reply beginning {reply_start!r} and no error: {why}",
            hint="After a run, an e-mail whose stages succeeded has status 'done' with the answers of this run's "
            "model and prompt version, fresh or from the cache.",
        )


def expect_drafts_once(drafts: list[tuple[str, str]], ids: Iterable[str], why: str,
                       texts: dict[str, str] | None = None) -> None:
    """Expect exactly one draft per e-mail of `ids` in the outbox (and nothing else); `texts`: how each begins."""
    wanted = list(ids)
    counts = Counter(message_id for message_id, _ in drafts)
    wrong = {mid: counts.get(mid, 0) for mid in set(wanted) | set(counts) if counts.get(mid, 0) != (mid in wanted)}
    expect(
        not wrong,
        observed="drafts in the outbox: " + ", ".join(f"{mid}: {n}" for mid, n in sorted(wrong.items())),
        expected=f"exactly one draft for each of {', '.join(wanted)} and none for another e-mail: {why}",
        hint="The outbox only grows: note, in the database, that an e-mail's draft is in it, and write each "
        "draft once, whatever the number of runs.",
    )
    for message_id, text in drafts:
        start = (texts or {}).get(message_id)
        expect(
            start is None or text.startswith(start),
            observed=f"the draft for {message_id} in the outbox begins {text[:60]!r}",
            expected=f"it begins {start!r}: the first reply drafted for it",
            hint="A later run may store a new reply, but the draft already in the outbox stays the only one.",
        )
