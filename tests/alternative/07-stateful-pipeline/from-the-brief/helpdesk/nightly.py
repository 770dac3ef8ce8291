"""The nightly intake: `python -m helpdesk.nightly inbox/2025-06-03.jsonl`, started by cron at 02:00.

Each e-mail goes through its stages (classify, draft, deliver) before the next one starts; the state
store (helpdesk.state) remembers every step, so a run can be repeated or resumed at any time, and pays
only for the answers it does not have yet.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import openai

from helpdesk.assistant import Assistant, UnusableAnswer
from helpdesk.config import Settings
from helpdesk.inbox import day_of, read_inbox
from helpdesk.models import Email, IntakeResult, NightlySummary, Queue
from helpdesk.outbox import Outbox
from helpdesk.report import render_report, write_report
from helpdesk.state import StateStore, text_digest

log = logging.getLogger(__name__)


class StageFailed(Exception):
    """One stage of one e-mail could not be done; the message is the reason stored on its row."""


class NightlyPipeline:
    """Runs one export through the stages, with `store` as its memory."""

    def __init__(self, settings: Settings, client: openai.OpenAI, store: StateStore) -> None:
        self.settings = settings
        self.assistant = Assistant(client, settings.model)
        self.store = store
        self.outbox = Outbox(settings.outbox_path)

    def process(self, day: str, email: Email) -> None:
        """Take one e-mail as far as it can go: classified, drafted, delivered; or failed, with the reason."""
        self.store.register(day, email)
        try:
            queue, confidence = self._queue_for(email)
            reply = self._reply_for(email, queue)
        except StageFailed as failure:
            self.store.set_result(email.message_id, status="failed", error=str(failure))
            return
        self.store.set_result(email.message_id, queue=queue.value, confidence=confidence, reply=reply,
                              prompt_version=self.settings.prompt_version, status="done", error=None,
                              processed_at=_now())
        if not self.store.was_delivered(email.message_id):
            self.outbox.write(email, reply, queue)
            self.store.mark_delivered(email.message_id)

    def _cached(self, stage: str, email: Email, ask: Callable[[], dict]) -> dict:
        """The stored answer of `stage` for this e-mail's text, or `ask()`'s, stored for next time."""
        key = (stage, text_digest(email), self.settings.model, self.settings.prompt_version)
        payload = self.store.lookup(*key)
        if payload is None:
            try:
                payload = ask()
            except (openai.OpenAIError, ValueError, UnusableAnswer) as err:  # ValueError: pydantic's too
                raise StageFailed(f"{stage} failed: {err.__class__.__name__}: {err}") from err
            self.store.store(*key, payload)
        return payload

    def _queue_for(self, email: Email) -> tuple[Queue, float]:
        def ask() -> dict:
            triage = self.assistant.classify(email, timeout=self.settings.request_timeout)
            return {"queue": triage.queue.value, "confidence": triage.confidence}

        payload = self._cached("classify", email, ask)
        # Keep the classification as soon as it is known: a failed draft must not cost it again.
        self.store.set_result(email.message_id, queue=payload["queue"], confidence=payload["confidence"])
        return Queue(payload["queue"]), float(payload["confidence"])

    def _reply_for(self, email: Email, queue: Queue) -> str:
        def ask() -> dict:
            return {"reply": self.assistant.draft_reply(email, queue, timeout=self.settings.request_timeout)}

        return self._cached("draft", email, ask)["reply"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017


def run_nightly(inbox_path: str | Path, settings: Settings, client: openai.OpenAI) -> NightlySummary:
    """Process one day's export (again, if need be) and return the day's summary."""
    day = day_of(inbox_path)
    emails = read_inbox(inbox_path)
    store = StateStore(settings.db_path)
    try:
        pipeline = NightlyPipeline(settings, client, store)
        for email in emails:
            pipeline.process(day, email)
        done: list[IntakeResult] = []
        failed: list[str] = []
        for email in emails:
            row = store.result(email.message_id)
            if row["status"] == "done":
                done.append(IntakeResult(email, Queue(row["queue"]), row["confidence"], row["reply"]))
            else:
                failed.append(f"{email.message_id}: {row['error']}")
    finally:
        store.close()
    text = render_report(day, done)
    if failed:
        text += "\nfailed (retried by the next run):\n" + "".join(f"  {line}\n" for line in failed)
    write_report(settings.report_dir, day, text)
    return NightlySummary(day=day, emails=len(emails), by_queue=dict(Counter(r.queue.value for r in done)))


def main(argv: list[str] | None = None) -> int:
    """Run the intake of one export file; returns the exit code."""
    parser = argparse.ArgumentParser(prog="helpdesk.nightly")
    parser.add_argument("inbox", help="the gateway's export of one day, e.g. inbox/2025-06-03.jsonl")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("INTAKE_LOG_LEVEL", "INFO"))
    summary = run_nightly(args.inbox, Settings.from_env(), openai.OpenAI())
    print(f"{summary.day}: {summary.emails} e-mails, {sum(summary.by_queue.values())} done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
