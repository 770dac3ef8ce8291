"""The nightly intake: `python -m helpdesk.nightly inbox/2025-06-03.jsonl`, started by cron at 02:00.

A staged pipeline over the day's e-mails, with its state in SQLite (helpdesk.repository):

1. import    the export's e-mails become rows (the ones already there keep their progress);
2. classify  each e-mail gets a queue;
3. draft     each classified e-mail gets a reply;
4. deliver   each drafted reply goes to the agents' outbox, once;
5. report    the day's report is written from the stored rows.

Each item is committed as soon as it is done, so a run that dies resumes where it stopped. Every model
answer is cached under (stage, normalised e-mail text, model, prompt version): a run makes a request
only for what no earlier run has answered. An e-mail whose request fails is recorded as failed with its
reason and the others go on; the next run tries it again.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from pathlib import Path

import openai
from pydantic import ValidationError

from helpdesk.assistant import Assistant, UnusableAnswer
from helpdesk.cache import answer_key
from helpdesk.config import Settings
from helpdesk.inbox import day_of, read_inbox
from helpdesk.models import Email, IntakeResult, NightlySummary
from helpdesk.outbox import Outbox
from helpdesk.report import render_report, write_report
from helpdesk.repository import DONE, FAILED, IntakeRepository, queue_of

log = logging.getLogger(__name__)

# What makes one e-mail fail without stopping the run: the API (status errors, time-outs, lost
# connections), an answer that does not fit the schema, a refusal, an empty or cut-off draft.
ITEM_FAILURES = (openai.OpenAIError, ValidationError, UnusableAnswer)


def run_nightly(inbox_path: str | Path, settings: Settings, client: openai.OpenAI) -> NightlySummary:
    """Process one day's export with the model behind `client` (again, if need be); returns the day's summary."""
    day = day_of(inbox_path)
    emails = read_inbox(inbox_path)
    assistant = Assistant(client, settings.model, settings.request_timeout)
    repo = IntakeRepository(settings.db_path)
    try:
        repo.import_emails(day, emails)
        log.info("nightly intake %s: %d e-mails", day, len(emails))
        classified = [email for email in emails if _classify(repo, assistant, settings, email)]
        for email in classified:
            _draft(repo, assistant, settings, email)
        _deliver(repo, Outbox(settings.outbox_path), emails)
        return _report(repo, settings, day, emails)
    finally:
        repo.close()


def _classify(repo: IntakeRepository, assistant: Assistant, settings: Settings, email: Email) -> bool:
    """Give the e-mail its queue, from the cache or from the model; False when that failed."""
    key = answer_key("classify", email, settings.model, settings.prompt_version)
    answer = repo.cached(key)
    if answer is None:
        try:
            triage = assistant.classify(email)
        except ITEM_FAILURES as err:
            _fail(repo, email, "classify", err)
            return False
        answer = {"queue": triage.queue.value, "confidence": triage.confidence}
    repo.classified(email.message_id, key, answer, settings.prompt_version)
    return True


def _draft(repo: IntakeRepository, assistant: Assistant, settings: Settings, email: Email) -> None:
    """Give a classified e-mail its reply, from the cache or from the model."""
    queue = queue_of(repo.row(email.message_id))
    key = answer_key("draft", email, settings.model, settings.prompt_version, queue.value)
    answer = repo.cached(key)
    if answer is None:
        try:
            answer = {"reply": assistant.draft_reply(email, queue)}
        except ITEM_FAILURES as err:
            _fail(repo, email, "draft", err)
            return
    repo.drafted(email.message_id, key, answer)


def _fail(repo: IntakeRepository, email: Email, stage: str, err: Exception) -> None:
    reason = f"{stage}: {type(err).__name__}: {err}"[:500]
    log.warning("%s failed: %s", email.message_id, reason)
    repo.failed(email.message_id, reason)


def _deliver(repo: IntakeRepository, outbox: Outbox, emails: list[Email]) -> None:
    """Write each done e-mail's draft to the outbox, unless a run already did."""
    # delivered_at is the record; the outbox itself is read too, because a run can die between the
    # append to the mbox file and the commit that notes it (the file cannot share our transaction).
    in_outbox = {message_id for message_id, _ in outbox.drafts()}
    for email in emails:
        row = repo.row(email.message_id)
        if row["status"] != DONE or row["delivered_at"] is not None:
            continue
        if email.message_id not in in_outbox:
            outbox.write(email, row["reply"], queue_of(row))
        repo.delivered(email.message_id)


def _report(repo: IntakeRepository, settings: Settings, day: str, emails: list[Email]) -> NightlySummary:
    """Write the day's report from the stored rows of this export's e-mails; return its summary."""
    results: list[IntakeResult] = []
    failed: dict[str, str] = {}
    for email in emails:
        row = repo.row(email.message_id)
        if row["status"] == DONE:
            results.append(IntakeResult(email, queue_of(row), row["confidence"], row["reply"]))
        elif row["status"] == FAILED:
            failed[email.message_id] = row["error"]
    write_report(settings.report_dir, day, render_report(day, results, failed))
    by_queue = Counter(result.queue.value for result in results)
    return NightlySummary(day=day, emails=len(emails), by_queue=dict(by_queue))


def main(argv: list[str] | None = None) -> int:
    """Run the intake of one export file; returns the exit code (1 when some e-mails failed)."""
    parser = argparse.ArgumentParser(prog="helpdesk.nightly")
    parser.add_argument("inbox", help="the gateway's export of one day, e.g. inbox/2025-06-03.jsonl")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("INTAKE_LOG_LEVEL", "INFO"))
    settings = Settings.from_env()
    # The SDK reads OPENAI_API_KEY (and OPENAI_BASE_URL, e.g. for a local server) from the environment.
    summary = run_nightly(args.inbox, settings, openai.OpenAI())
    queues = ", ".join(f"{name} {count}" for name, count in sorted(summary.by_queue.items()))
    done = sum(summary.by_queue.values())
    print(f"{summary.day}: {summary.emails} e-mails, {done} done ({queues})")
    # Cron mails anything on stderr; a non-zero code makes operations look at the report's failures.
    return 0 if done == summary.emails else 1


if __name__ == "__main__":
    sys.exit(main())
