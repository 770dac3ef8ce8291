"""The nightly intake: `python -m helpdesk.nightly inbox/2025-06-03.jsonl`, started by cron at 02:00.

One pass over the day's e-mails: classify each, draft a reply to each, put the drafts in the agents'
outbox, store the results, write the report. Anything that fails stops the run; cron mails the
traceback to operations, who run the day again in the morning (after deleting its rows, see save_all).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from pathlib import Path

import openai

from helpdesk.assistant import Assistant
from helpdesk.config import Settings
from helpdesk.inbox import day_of, read_inbox
from helpdesk.models import IntakeResult, NightlySummary
from helpdesk.outbox import Outbox
from helpdesk.prompts import PROMPT_VERSION
from helpdesk.report import render_report, write_report
from helpdesk.repository import IntakeRepository

log = logging.getLogger(__name__)


def run_nightly(inbox_path: str | Path, settings: Settings, client: openai.OpenAI) -> NightlySummary:
    """Process one day's export with the model behind `client`; returns the day's summary."""
    day = day_of(inbox_path)
    emails = read_inbox(inbox_path)
    assistant = Assistant(client, settings.model)
    log.info("nightly intake %s: %d e-mails", day, len(emails))

    results: list[IntakeResult] = []
    for email in emails:
        triage = assistant.classify(email)
        reply = assistant.draft_reply(email, triage.queue)
        results.append(IntakeResult(email=email, queue=triage.queue, confidence=triage.confidence, reply=reply))

    # Drafts first: the agents need them at 08:00 even if the database is locked by the BI export.
    outbox = Outbox(settings.outbox_path)
    for result in results:
        outbox.write(result.email, result.reply, result.queue)

    repo = IntakeRepository(settings.db_path)
    try:
        repo.save_all(day, results, PROMPT_VERSION)
    finally:
        repo.close()

    write_report(settings.report_dir, day, render_report(day, results))
    by_queue = Counter(result.queue.value for result in results)
    return NightlySummary(day=day, emails=len(results), by_queue=dict(by_queue))


def main(argv: list[str] | None = None) -> int:
    """Run the intake of one export file; returns the exit code (cron mails anything on stderr)."""
    parser = argparse.ArgumentParser(prog="helpdesk.nightly")
    parser.add_argument("inbox", help="the gateway's export of one day, e.g. inbox/2025-06-03.jsonl")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("INTAKE_LOG_LEVEL", "INFO"))
    settings = Settings.from_env()
    # The SDK reads OPENAI_API_KEY (and OPENAI_BASE_URL, e.g. for a local server) from the environment.
    summary = run_nightly(args.inbox, settings, openai.OpenAI())
    queues = ", ".join(f"{name} {count}" for name, count in sorted(summary.by_queue.items()))
    print(f"{summary.day}: {summary.emails} e-mails ({queues})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
