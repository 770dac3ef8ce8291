"""Command line for agents and cron: `python -m helpdesk.cli reclassify|show ...`."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import openai

from helpdesk.batch import BacklogReclassifier
from helpdesk.config import Settings
from helpdesk.repository import TicketRepository

# What finance was told one ticket costs, measured by hand in March 2024 on gpt-4o. Nobody has
# checked it since the prices (and the prompt) changed.
ESTIMATED_COST_PER_TICKET = 0.004


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by HELPDESK_DB_PATH; returns the exit code.

    The backlog is re-classified by the model named by HELPDESK_MODEL when OPENAI_API_KEY is set (the
    SDK also reads OPENAI_BASE_URL, e.g. for a local server), and by the keyword rules otherwise.
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

    client = openai.OpenAI() if os.environ.get("OPENAI_API_KEY") else None
    report = BacklogReclassifier(repo, settings, client=client).run(repo.backlog(args.limit))
    by = Counter(result.decided_by for result in report.results)
    print(f"{len(report.results)} tickets in {report.seconds:.0f} s: "
          + ", ".join(f"{name} {count}" for name, count in sorted(by.items())))
    print(f"estimated cost: ${by[settings.model] * ESTIMATED_COST_PER_TICKET:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
