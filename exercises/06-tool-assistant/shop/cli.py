"""The support console: `python -m shop.cli order|orders|return|refund ...` against SHOP_DB_PATH."""

from __future__ import annotations

import argparse
import sys

from shop.config import Settings
from shop.models import Order, OrderStatus
from shop.orders import OrderDesk
from shop.repository import OrderRepository


def _print_order(order: Order, currency: str) -> None:
    print(f"{order.ref}  {order.customer_ref}  {order.placed_at:%Y-%m-%d}  [{order.status.value}]  "
          f"{order.total:.2f} {currency} (refunded {order.refunded:.2f})")
    for line in order.lines:
        print(f"    {line.quantity} x {line.title} ({line.sku}) at {line.unit_price:.2f}")
    if order.note:
        print(f"    note: {order.note}")


def main(argv: list[str] | None = None) -> int:
    """Run one console command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="shop")
    commands = parser.add_subparsers(dest="command", required=True)
    order = commands.add_parser("order", help="show one order")
    order.add_argument("ref")
    orders = commands.add_parser("orders", help="list a customer's orders")
    orders.add_argument("customer")
    orders.add_argument("--status", choices=[s.value for s in OrderStatus])
    ret = commands.add_parser("return", help="start a return of a delivered order")
    ret.add_argument("ref")
    ret.add_argument("--reason", required=True)
    refund = commands.add_parser("refund", help="refund an amount on an order")
    refund.add_argument("ref")
    refund.add_argument("--amount", type=float, required=True)
    refund.add_argument("--reason", required=True)
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    desk = OrderDesk(OrderRepository(settings.db_path), settings)
    try:
        if args.command == "order":
            _print_order(desk.lookup_order(args.ref), settings.currency)
        elif args.command == "orders":
            for found in desk.list_orders(args.customer, OrderStatus(args.status) if args.status else None):
                _print_order(found, settings.currency)
        elif args.command == "return":
            print(f"{desk.start_return(args.ref, args.reason).ref} started")
        else:
            print(f"{desk.issue_refund(args.ref, args.amount, args.reason).ref} issued")
    except (LookupError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
