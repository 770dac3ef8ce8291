"""Command line for the team: `python -m helpdesk.cli [--db PATH] import|search|show ...`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TextIO

from helpdesk.config import Settings
from helpdesk.repository import ArticleRepository
from helpdesk.service import HelpCentre


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command against the database named by --db (or HELPDESK_DB_PATH); returns the exit code."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="helpdesk")
    parser.add_argument("--db", help="the SQLite file (default: HELPDESK_DB_PATH or helpcentre.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="store the articles of a folder of Markdown files")
    load.add_argument("folder")
    find = commands.add_parser("search", help="search the articles like the web shop's search box")
    find.add_argument("words", nargs="+")
    show = commands.add_parser("show", help="print one article")
    show.add_argument("id")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if args.db:
        settings = replace(settings, db_path=args.db)
    centre = HelpCentre(ArticleRepository(settings.db_path), settings)
    if args.command == "import":
        print(f"imported {centre.import_folder(args.folder)} articles", file=out)
    elif args.command == "search":
        found = centre.search(" ".join(args.words))
        for article in found:
            print(f"{article.id}  {article.title}", file=out)
        if not found:
            print("no article found", file=out)
    else:
        try:
            article = centre.article(args.id)
        except LookupError as err:
            print(err, file=out)
            return 1
        print(f"{article.id}  {article.title}\n\n{article.body}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
