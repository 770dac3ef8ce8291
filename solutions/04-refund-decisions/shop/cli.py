"""Command line for the refund desk: `python -m shop.cli refund|show|queue|resolve ...`."""

from __future__ import annotations

import argparse
import os
import sys

from shop.config import Settings
from shop.repository import ShopRepository
from shop.service import RefundDesk


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by SHOP_DB_PATH; returns the exit code.

    With OPENAI_API_KEY (or OPENAI_BASE_URL for a local server) set, a model recommends on new requests.
    """
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="shop")
    commands = parser.add_subparsers(dest="command", required=True)
    refund = commands.add_parser(
        "refund",
        help=f"take in a refund request (over {settings.auto_approve_limit:g} {settings.currency} "
        "is never approved on the spot)",
    )
    refund.add_argument("--order", type=int, required=True)
    refund.add_argument("--amount", type=float, required=True)
    refund.add_argument("--reason", required=True)
    show = commands.add_parser("show", help="print one refund request and its audit trail")
    show.add_argument("id", type=int)
    commands.add_parser("queue", help="list the refund requests waiting for review")
    resolve = commands.add_parser("resolve", help="decide a refund request from the review queue")
    resolve.add_argument("id", type=int)
    resolve.add_argument("--agent", required=True)
    verdict = resolve.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", action="store_true")
    verdict.add_argument("--deny", action="store_true")
    args = parser.parse_args(argv)

    client = None
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        import openai  # only when a model is configured: the desk works without the SDK's start-up cost

        client = openai.OpenAI()
    desk = RefundDesk(ShopRepository(settings.db_path), settings, client=client)
    if args.command == "refund":
        request = desk.request_refund(args.order, args.amount, args.reason)
        print(f"{request.ref} -> {request.status.value}")
    elif args.command == "show":
        request = desk.get(args.id)
        print(f"{request.ref} order {request.order_id} {request.amount:.2f} {settings.currency} "
              f"[{request.status.value}]\n{request.reason}")
        for entry in desk.repo.list_audit(args.id):
            line = f"  {entry.decided_at:%Y-%m-%d %H:%M}  {entry.decision.value:<8} by {entry.decided_by}"
            if entry.model:
                advice = (f"{entry.recommendation.value} ({entry.confidence:.2f})" if entry.recommendation
                          else "no usable answer")
                line += f"; {entry.model}/{entry.prompt_version} advised {advice}"
            if entry.override_rule:
                line += f"; overridden by {entry.override_rule.value}"
            print(line)
            if entry.rationale:
                print(f"      {entry.rationale}")
    elif args.command == "queue":
        for request in desk.review_queue():
            print(f"{request.ref}  {request.created_at:%Y-%m-%d}  {request.amount:>8.2f}  {request.reason[:60]}")
    else:
        print(f"{desk.resolve(args.id, approve=args.approve, agent=args.agent).ref} resolved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
