"""Command line for the refund desk: `python -m shop.cli refund|show|queue|resolve ...`."""

from __future__ import annotations

import argparse
import sys

from shop.config import Settings
from shop.repository import ShopRepository
from shop.service import RefundDesk


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by SHOP_DB_PATH; returns the exit code."""
    parser = argparse.ArgumentParser(prog="shop")
    commands = parser.add_subparsers(dest="command", required=True)
    refund = commands.add_parser("refund", help="take in a refund request (refunds over 50 EUR go to review)")
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

    settings = Settings.from_env()
    desk = RefundDesk(ShopRepository(settings.db_path), settings)
    if args.command == "refund":
        request = desk.request_refund(args.order, args.amount, args.reason)
        print(f"{request.ref} -> {request.status.value}")
    elif args.command == "show":
        request = desk.get(args.id)
        print(f"{request.ref} order {request.order_id} {request.amount:.2f} {settings.currency} "
              f"[{request.status.value}]\n{request.reason}")
        for entry in desk.repo.list_audit(args.id):
            print(f"  {entry.decided_at:%Y-%m-%d %H:%M}  {entry.decision.value:<8} by {entry.decided_by}")
    elif args.command == "queue":
        for request in desk.review_queue():
            print(f"{request.ref}  {request.created_at:%Y-%m-%d}  {request.amount:>8.2f}  {request.reason[:60]}")
    else:
        print(f"{desk.resolve(args.id, approve=args.approve, agent=args.agent).ref} resolved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
