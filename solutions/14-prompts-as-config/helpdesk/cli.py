"""Command line for agents and operations: `python -m helpdesk.cli submit|show|queue|label|migrate ...`."""

from __future__ import annotations

import argparse
import os
import sys

import openai

from helpdesk.config import Settings
from helpdesk.evaluation import read_golden_set
from helpdesk.migration import migrate_model
from helpdesk.models import Queue
from helpdesk.registry import PromptNotFound, PromptRegistry
from helpdesk.repository import TicketRepository
from helpdesk.service import HelpdeskService


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by HELPDESK_DB_PATH; returns the exit code.

    Tickets are routed by the prompt version HELPDESK_PROMPT_LABEL points at (in the registry at
    HELPDESK_PROMPTS_DIR) when OPENAI_API_KEY is set (the SDK also reads OPENAI_BASE_URL, e.g. for a
    local server), and by the keyword rules otherwise.
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
    label = commands.add_parser("label", help="point a label at a version (a roll-back, say), or list them")
    label.add_argument("label", nargs="?")
    label.add_argument("version", nargs="?", type=int)
    migrate = commands.add_parser("migrate", help="move the label to a new model, behind the release gate")
    migrate.add_argument("--model", required=True)
    migrate.add_argument("--golden", required=True)
    migrate.add_argument("--baseline", required=True, help="predictions CSV (ref, label, predicted) of the current version")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    client = openai.OpenAI(max_retries=0) if os.environ.get("OPENAI_API_KEY") else None
    try:
        if args.command == "label":
            return _label(settings, args.label, args.version)
        if args.command == "migrate":
            if client is None:
                print("migrate needs a model: set OPENAI_API_KEY", file=sys.stderr)
                return 2
            golden, baseline = read_golden_set(args.golden), read_golden_set(args.baseline)
            report = migrate_model(args.model, golden, baseline, client, settings)
            verdict = "moved" if report.ships else "stays: " + "; ".join(report.reasons)
            print(f"version {report.version} ({args.model}): {settings.prompt_label} {verdict}")
            return 0 if report.ships else 1
        service = HelpdeskService(TicketRepository(settings.db_path), settings, client=client)
    except PromptNotFound as err:
        print(f"prompt registry: {err}", file=sys.stderr)
        return 2
    if args.command == "submit":
        ticket = service.submit(args.subject, args.body, args.email)
        print(f"{ticket.ref} -> {ticket.queue.value} (by {ticket.routed_by}, prompt version {ticket.prompt_version})")
    elif args.command == "show":
        ticket = service.get(args.id)
        print(f"{ticket.ref} [{ticket.queue.value}, by {ticket.routed_by}] {ticket.subject}\n\n{ticket.body}")
    else:
        for ticket in service.repo.list_by_queue(Queue(args.name)):
            print(f"{ticket.ref}  {ticket.created_at:%Y-%m-%d %H:%M}  {ticket.subject}")
    return 0


def _label(settings: Settings, label: str | None, version: int | None) -> int:
    registry = PromptRegistry(settings.prompts_dir)
    if label is not None and version is not None:
        registry.move_label(settings.prompt_name, label, version)
    for name, number in sorted(registry.labels(settings.prompt_name).items()):
        prompt = registry.get(settings.prompt_name, number)
        print(f"{name:12} -> version {number} on {prompt.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
