"""Command line for responders: `python -m oncall.cli open|event|import|digest|show ...`."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from oncall.config import Settings
from oncall.models import Severity
from oncall.repository import IncidentRepository
from oncall.service import OncallService


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by ONCALL_DB_PATH; returns the exit code.

    Digests are summarised by the model named by ONCALL_MODEL when OPENAI_API_KEY is set (the SDK
    also reads OPENAI_BASE_URL, e.g. for a local server), and cut down the legacy way otherwise.
    """
    parser = argparse.ArgumentParser(prog="oncall")
    commands = parser.add_subparsers(dest="command", required=True)
    open_ = commands.add_parser("open", help="open an incident")
    open_.add_argument("--title", required=True)
    open_.add_argument("--severity", type=int, choices=[s.value for s in Severity], required=True)
    open_.add_argument("--started", required=True, help="ISO 8601 time, e.g. 2024-03-05T14:02:00+00:00")
    event = commands.add_parser("event", help="add an event to a timeline (times in UTC)")
    event.add_argument("id", type=int)
    event.add_argument("--at", required=True)
    event.add_argument("--source", default="manual")
    event.add_argument("--message", required=True)
    import_ = commands.add_parser("import", help="import a timeline export (CSV: at, source, message)")
    import_.add_argument("id", type=int)
    import_.add_argument("path")
    digest = commands.add_parser("digest", help="build, store and print the hand-over digest")
    digest.add_argument("id", type=int)
    show = commands.add_parser("show", help="print an incident and its last digest")
    show.add_argument("id", type=int)
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    client = None
    if os.environ.get("OPENAI_API_KEY"):
        import openai  # only needed with a model; the legacy digest works without the SDK set up

        client = openai.OpenAI()
    service = OncallService(IncidentRepository(settings.db_path), settings, client=client)
    if args.command == "open":
        incident = service.open_incident(args.title, args.severity, datetime.fromisoformat(args.started))
        print(f"{incident.ref} opened ({incident.severity.label})")
    elif args.command == "event":
        service.log_event(args.id, args.at, args.source, args.message)
    elif args.command == "import":
        print(f"{service.import_events(args.id, args.path)} events imported")
    elif args.command == "digest":
        # The summary appears as the model writes it; the stored digest is the same text.
        service.digest(args.id, out=sys.stdout)
        print()
    else:
        incident = service.get(args.id)
        print(f"{incident.ref} [{incident.severity.label}, {incident.status}] {incident.title}")
        print(incident.digest or "(no digest yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
