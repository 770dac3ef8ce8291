"""Command line for agents and cron: `python -m helpdesk.cli reclassify|show ...`."""

from __future__ import annotations

import argparse
import os
import sys

import openai

from helpdesk.batch import BacklogReclassifier
from helpdesk.config import Settings
from helpdesk.repository import TicketRepository


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by HELPDESK_DB_PATH; returns the exit code.

    The backlog is re-classified by the cascade of HELPDESK_SMALL_MODEL and HELPDESK_MODEL when
    OPENAI_API_KEY is set (the SDK also reads OPENAI_BASE_URL, e.g. for a local server), and by the
    keyword rules otherwise.
    """
    parser = argparse.ArgumentParser(prog="helpdesk")
    commands = parser.add_subparsers(dest="command", required=True)
    reclassify = commands.add_parser("reclassify", help="re-classify the open tickets")
    reclassify.add_argument("--limit", type=int, default=None, help="only the N oldest open tickets")
    show = commands.add_parser("show", help="print one ticket")
    show.add_argument("id", type=int)
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    repo = TicketRepository(settings.db_path)
    if args.command == "show":
        ticket = repo.get(args.id)
        if ticket is None:
            print(f"no ticket with id {args.id}", file=sys.stderr)
            return 1
        print(f"{ticket.ref} [{ticket.queue.value}, by {ticket.routed_by}] {ticket.subject}\n\n{ticket.body}")
        return 0

    # No hidden retries: a failed request escalates or falls back, and the budget sees every attempt.
    client = openai.AsyncOpenAI(max_retries=0) if os.environ.get("OPENAI_API_KEY") else None
    report = BacklogReclassifier(repo, settings, client=client).run(repo.backlog(args.limit))
    print(f"{len(report.results)} tickets in {report.seconds:.0f} s: "
          + ", ".join(f"{name} {count}" for name, count in sorted(report.tickets_by_model.items())))
    if report.latency_p50 is not None:
        print(f"latency per request: p50 {report.latency_p50:.2f} s, p95 {report.latency_p95:.2f} s")
    print(f"cost: ${report.cost:.4f} of a ${settings.run_budget:.2f} budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
