"""Command line for agents and operations: `python -m helpdesk.cli submit|show|queue|gate ...`."""

from __future__ import annotations

import argparse
import os
import sys

import openai

from helpdesk.config import Settings
from helpdesk.evaluation import predict_queues, read_golden_set, release_gate
from helpdesk.models import Queue
from helpdesk.repository import TicketRepository
from helpdesk.service import HelpdeskService


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by HELPDESK_DB_PATH; returns the exit code.

    Tickets are routed by the model named by HELPDESK_MODEL when OPENAI_API_KEY is set (the SDK
    also reads OPENAI_BASE_URL, e.g. for a local server), and by the keyword rules otherwise.
    """
    parser = argparse.ArgumentParser(prog="helpdesk")
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="take in a ticket")
    submit.add_argument("--subject", required=True)
    submit.add_argument("--body", default="")
    submit.add_argument("--email", required=True)
    show = commands.add_parser("show", help="print one ticket")
    show.add_argument("id", type=int)
    queue = commands.add_parser("queue", help="list the tickets of a queue")
    queue.add_argument("name", choices=[q.value for q in Queue])
    gate = commands.add_parser("gate", help="run a prompt version on the golden set and gate it")
    gate.add_argument("--golden", required=True)
    gate.add_argument("--baseline", required=True, help="predictions CSV (ref, label, predicted) of the current prompt")
    gate.add_argument("--prompt", default=None, help="prompt version (default: HELPDESK_PROMPT_VERSION)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    client = openai.OpenAI() if os.environ.get("OPENAI_API_KEY") else None
    if args.command == "gate":
        if client is None:
            print("gate needs a model: set OPENAI_API_KEY", file=sys.stderr)
            return 2
        candidate = predict_queues(read_golden_set(args.golden), client, settings, args.prompt)
        report = release_gate(read_golden_set(args.baseline), candidate, settings)
        print("ships" if report.ships else "does not ship: " + "; ".join(report.reasons))
        return 0 if report.ships else 1
    service = HelpdeskService(TicketRepository(settings.db_path), settings, client=client)
    if args.command == "submit":
        ticket = service.submit(args.subject, args.body, args.email)
        print(f"{ticket.ref} -> {ticket.queue.value} (by {ticket.routed_by})")
    elif args.command == "show":
        ticket = service.get(args.id)
        print(f"{ticket.ref} [{ticket.queue.value}, by {ticket.routed_by}] {ticket.subject}\n\n{ticket.body}")
    else:
        for ticket in service.repo.list_by_queue(Queue(args.name)):
            print(f"{ticket.ref}  {ticket.created_at:%Y-%m-%d %H:%M}  {ticket.subject}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
