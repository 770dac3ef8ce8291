"""Command line for agents: `python -m helpdesk.cli customer|open|show|suggest|apply ...`."""

from __future__ import annotations

import argparse
import os
import sys

import openai

from helpdesk.config import Settings
from helpdesk.models import Action, ticket_id_of
from helpdesk.repository import HelpdeskRepository
from helpdesk.service import HelpdeskService


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by HELPDESK_DB_PATH; returns the exit code.

    The reply assistant uses the model named by HELPDESK_MODEL when OPENAI_API_KEY is set (the SDK
    also reads OPENAI_BASE_URL, e.g. for a local server); without a key `suggest` is unavailable.
    """
    parser = argparse.ArgumentParser(prog="helpdesk")
    commands = parser.add_subparsers(dest="command", required=True)
    customer = commands.add_parser("customer", help="register a customer")
    customer.add_argument("name")
    customer.add_argument("email")
    customer.add_argument("--phone")
    customer.add_argument("--plan", default="standard")
    open_ = commands.add_parser("open", help="open a ticket for a customer")
    open_.add_argument("customer_id", type=int)
    open_.add_argument("--subject", required=True)
    open_.add_argument("--body", default="")
    show = commands.add_parser("show", help="print one ticket")
    show.add_argument("ref")
    suggest = commands.add_parser("suggest", help="draft a reply with the assistant")
    suggest.add_argument("ref")
    apply = commands.add_parser("apply", help="run a console action")
    apply.add_argument("ref")
    apply.add_argument("action")
    apply.add_argument("value", nargs="?", default="")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    client = openai.OpenAI() if os.environ.get("OPENAI_API_KEY") else None
    service = HelpdeskService(HelpdeskRepository(settings.db_path), settings, client=client)
    if args.command == "customer":
        print(service.register_customer(args.name, args.email, args.phone, args.plan).id)
    elif args.command == "open":
        print(service.open_ticket(args.customer_id, args.subject, args.body).ref)
    elif args.command == "show":
        ticket = service.get(ticket_id_of(args.ref))
        tags = ", ".join(ticket.tags) or "-"
        print(f"{ticket.ref} [{ticket.status.value}, {ticket.priority.value}, tags {tags}] {ticket.subject}")
        print(f"\n{ticket.body}")
    elif args.command == "suggest":
        suggestion = service.suggest(ticket_id_of(args.ref))
        print(suggestion.reply or "(no draft: write the reply yourself)")
        for action in suggestion.applied:
            print(f"  applied: {action.name} {action.value}".rstrip())
    else:
        ticket = service.apply(Action(args.action, args.ref, args.value))
        print(f"{ticket.ref} is {ticket.status.value}, {ticket.priority.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
