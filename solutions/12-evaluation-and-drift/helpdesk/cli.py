"""Command line for agents: `python -m helpdesk.cli submit|show|queue|accuracy|evaluate|gate|drift ...`."""

from __future__ import annotations

import argparse
import os
import sys

import openai
import pandas as pd

from helpdesk.config import Settings
from helpdesk.evaluation import golden_accuracy, predict_queues, read_golden_set, release_gate, score
from helpdesk.models import Queue
from helpdesk.monitoring import weekly_drift
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
    accuracy = commands.add_parser("accuracy", help="the model's accuracy on a golden-set CSV")
    accuracy.add_argument("--golden", required=True)
    accuracy.add_argument("--prompt", default=None, help="prompt version (default: HELPDESK_PROMPT_VERSION)")
    evaluate = commands.add_parser("evaluate", help="per-queue scores of one prompt version on a golden set")
    evaluate.add_argument("--golden", required=True)
    evaluate.add_argument("--prompt", default=None)
    evaluate.add_argument("--out", default=None, help="also write the predictions to this CSV")
    gate = commands.add_parser("gate", help="may the candidate prompt replace the current one?")
    gate.add_argument("--golden", required=True)
    gate.add_argument("--candidate", required=True, help="candidate prompt version")
    drift = commands.add_parser("drift", help="weekly drift of the routed queues in a routing-log CSV")
    drift.add_argument("--log", required=True)
    drift.add_argument("--reference-week", required=True, help="ISO week, e.g. 2026-W02")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if args.command == "drift":
        report = weekly_drift(pd.read_csv(args.log, dtype="str"), args.reference_week, settings)
        print(report.to_string(index=False))
        return 1 if report["drifted"].any() else 0
    client = openai.OpenAI() if os.environ.get("OPENAI_API_KEY") else None
    if args.command in ("accuracy", "evaluate", "gate"):
        if client is None:
            print(f"{args.command} needs a model: set OPENAI_API_KEY", file=sys.stderr)
            return 2
        return _evaluation_command(args, client, settings)
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


def _evaluation_command(args: argparse.Namespace, client: openai.OpenAI, settings: Settings) -> int:
    if args.command == "accuracy":
        print(f"accuracy: {golden_accuracy(args.golden, client, settings, args.prompt):.1%}")
        return 0
    golden = read_golden_set(args.golden)
    if args.command == "evaluate":
        predictions = predict_queues(golden, client, settings, args.prompt)
        if args.out:
            predictions.to_csv(args.out, index=False)
        scores = score(predictions)
        print(f"accuracy: {scores.accuracy:.1%}\n\n{scores.per_class.round(3)}\n\n{scores.confusion}")
        return 0
    current = predict_queues(golden, client, settings, settings.prompt_version)
    candidate = predict_queues(golden, client, settings, args.candidate)
    verdict = release_gate(current, candidate, settings)
    print(f"{args.candidate} {'ships' if verdict.ships else 'does not ship'}")
    for reason in verdict.reasons:
        print(f"- {reason}")
    return 0 if verdict.ships else 1


if __name__ == "__main__":
    sys.exit(main())
