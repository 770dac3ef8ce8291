"""Command line for the back office: `python -m shop.cli product|related|order ...`."""

from __future__ import annotations

import argparse
import sys

from shop.config import Settings
from shop.repository import ShopRepository
from shop.service import ShopService


def _price(cents: int) -> str:
    return f"{cents / 100:.2f} EUR"


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by SHOP_DB_PATH; returns the exit code."""
    parser = argparse.ArgumentParser(prog="shop")
    commands = parser.add_subparsers(dest="command", required=True)
    product = commands.add_parser("product", help="print one product")
    product.add_argument("sku")
    related = commands.add_parser("related", help="print the 'customers also bought' box of a product")
    related.add_argument("sku")
    related.add_argument("--customer", type=int, default=None, help="as seen by this signed-in customer")
    order = commands.add_parser("order", help="place an order: SKU=QUANTITY ...")
    order.add_argument("--customer", type=int, required=True)
    order.add_argument("lines", nargs="+", metavar="SKU=QUANTITY")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    service = ShopService(ShopRepository(settings.db_path), settings)
    try:
        if args.command == "product":
            found = service.product(args.sku)
            print(f"{found.sku}  {found.name}  {_price(found.price_cents)}\n{found.description}")
        elif args.command == "related":
            for rank, item in enumerate(service.related_items(args.sku, customer_id=args.customer), 1):
                print(f"{rank}. {item.sku}  {item.name}  {_price(item.price_cents)}")
        else:
            lines = {sku: int(quantity) for sku, _, quantity in (line.partition("=") for line in args.lines)}
            placed = service.place_order(args.customer, lines)
            print(f"order {placed.id}: {_price(placed.total_cents)}")
    except (LookupError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
