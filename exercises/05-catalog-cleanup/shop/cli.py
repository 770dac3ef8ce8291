"""Command line for the shop team: `python -m shop.cli import|show|search|count ...`."""

from __future__ import annotations

import argparse
import sys

from shop.config import Settings
from shop.importer import CatalogImporter
from shop.repository import ProductRepository


def main(argv: list[str] | None = None) -> int:
    """Run one command against the database named by SHOP_DB_PATH; returns the exit code."""
    parser = argparse.ArgumentParser(prog="shop")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="load a supplier CSV into the catalog")
    load.add_argument("path")
    show = commands.add_parser("show", help="print one product")
    show.add_argument("sku")
    search = commands.add_parser("search", help="find products by name")
    search.add_argument("term")
    commands.add_parser("count", help="how many product rows are stored")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    repo = ProductRepository(settings.db_path)
    if args.command == "import":
        report = CatalogImporter(repo, settings).import_file(args.path)
        print(f"{report.imported} imported, {report.skipped} skipped")
    elif args.command == "show":
        product = repo.get(args.sku)
        if product is None:
            print(f"no product {args.sku}", file=sys.stderr)
            return 1
        print(f"{product.sku}  {product.name} ({product.brand or 'no brand'})  {product.price} / {product.unit}")
    elif args.command == "search":
        for product in repo.search(args.term):
            print(f"{product.sku}  {product.name}  {product.price}")
    else:
        print(repo.count())
    return 0


if __name__ == "__main__":
    sys.exit(main())
