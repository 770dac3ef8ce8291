"""Command line for the team: `python -m helpdesk.cli [--db PATH] import|search|show|index|ask|eval ...`."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import Any, TextIO

import openai

from helpdesk.config import Settings
from helpdesk.evaluation import load_golden, recall_at_k
from helpdesk.repository import ArticleRepository
from helpdesk.service import HelpCentre


def main(argv: list[str] | None = None, out: TextIO | None = None, client: Any = None) -> int:
    """Run one command against the database named by --db (or HELPDESK_DB_PATH); returns the exit code.

    `client` is the model client for index, ask and eval; without one, the CLI builds `openai.OpenAI()`
    when OPENAI_API_KEY is set (the SDK also reads OPENAI_BASE_URL, e.g. for a local server).
    """
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
    commands.add_parser("index", help="embed the paragraphs that changed since the last run")
    ask = commands.add_parser("ask", help="answer a question from the articles, with its sources")
    ask.add_argument("question", nargs="+")
    evaluate = commands.add_parser("eval", help="print recall@k of the retrieval on a golden set")
    evaluate.add_argument("golden", help="a JSON list of {question, articles}")
    evaluate.add_argument("--k", type=int, default=None, help="paragraphs retrieved per question (default: top_k)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if args.db:
        settings = replace(settings, db_path=args.db)
    if client is None and args.command in ("index", "ask", "eval") and os.environ.get("OPENAI_API_KEY"):
        client = openai.OpenAI(max_retries=1)
    centre = HelpCentre(ArticleRepository(settings.db_path), settings, client=client)
    if args.command in ("index", "ask", "eval") and client is None:
        print("set OPENAI_API_KEY (or pass a client): answers need the model", file=out)
        return 2
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
        print(f"embedded {centre.index()} paragraphs", file=out)
    elif args.command == "ask":
        centre.index()
        answer = centre.answer(" ".join(args.question))
        print(answer.text, file=out)
        if answer.answered:
            print(f"Sources: {', '.join(answer.citations)}", file=out)
    else:
        centre.index()  # recall of the articles as they are now, not as they were at the last index
        k = args.k or settings.top_k
        golden = load_golden(args.golden)
        print(f"recall@{k}: {recall_at_k(centre, golden, k):.3f} ({len(golden)} questions)", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
