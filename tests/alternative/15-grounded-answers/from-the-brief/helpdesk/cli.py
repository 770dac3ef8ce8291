"""Command line for the team: `python -m helpdesk.cli [--db PATH] import|search|show|index|ask|eval ...`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import Any, TextIO

from helpdesk.config import Settings
from helpdesk.repository import ArticleRepository
from helpdesk.service import HelpCentre


def _recall(centre: HelpCentre, golden: list[dict[str, Any]], k: int) -> float:
    shares = []
    for case in golden:
        expected = set(case["articles"])
        got = {passage.article_id for passage in centre.retrieve(case["question"], k)}
        shares.append(len(expected & got) / len(expected))
    return sum(shares) / len(shares) if shares else 0.0


def main(argv: list[str] | None = None, out: TextIO | None = None, client: Any = None) -> int:
    """Run one command against the database named by --db (or HELPDESK_DB_PATH); returns the exit code."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="helpdesk")
    parser.add_argument("--db")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("import").add_argument("folder")
    commands.add_parser("search").add_argument("words", nargs="+")
    commands.add_parser("show").add_argument("id")
    commands.add_parser("index")
    commands.add_parser("ask").add_argument("question", nargs="+")
    evaluation = commands.add_parser("eval")
    evaluation.add_argument("golden")
    evaluation.add_argument("--k", type=int)
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if args.db:
        settings = replace(settings, db_path=args.db)
    if client is None and os.environ.get("OPENAI_API_KEY"):
        import openai

        client = openai.OpenAI()
    centre = HelpCentre(ArticleRepository(settings.db_path), settings, client=client)

    if args.command == "import":
        print(f"imported {centre.import_folder(args.folder)} articles", file=out)
    elif args.command == "search":
        found = centre.search(" ".join(args.words))
        for article in found:
            print(f"{article.id}  {article.title}", file=out)
        if not found:
            print("no article found", file=out)
    elif args.command == "show":
        try:
            article = centre.article(args.id)
        except LookupError as err:
            print(err, file=out)
            return 1
        print(f"{article.id}  {article.title}\n\n{article.body}", file=out)
    elif args.command == "index":
        print(json.dumps(centre.index()), file=out)
    elif args.command == "ask":
        reply = centre.answer(" ".join(args.question))
        print(reply.text + (f"\n(sources: {', '.join(reply.citations)})" if reply.answered else ""), file=out)
    else:
        with open(args.golden, encoding="utf-8") as handle:
            golden = json.load(handle)
        k = args.k if args.k is not None else settings.top_k
        print(f"recall@{k}: {_recall(centre, golden, k):.3f}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
