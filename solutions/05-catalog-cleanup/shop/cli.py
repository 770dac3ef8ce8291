"""Command line for the shop team: `python -m shop.cli import|clean|show|search|count ...`."""

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
    clean = commands.add_parser("clean", help="normalise a supplier CSV (and enrich it) into a clean CSV")
    clean.add_argument("path")
    clean.add_argument("--out", required=True, help="where to write the clean catalog (CSV)")
    clean.add_argument("--enrich", action="store_true", help="ask the model for categories and descriptions")
    show = commands.add_parser("show", help="print one product")
    show.add_argument("sku")
    search = commands.add_parser("search", help="find products by name")
    search.add_argument("term")
    commands.add_parser("count", help="how many product rows are stored")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if args.command == "clean":
        return _clean(args.path, args.out, enrich=args.enrich, settings=settings)
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


def _clean(path: str, out: str, *, enrich: bool, settings: Settings) -> int:
    # Imported here so the legacy commands keep working without pandas or openai installed.
    from shop.cleanup import enrich_catalog, normalise_catalog

    products, rejected = normalise_catalog(path)
    if enrich:
        import openai

        # The one place a client is built: OPENAI_API_KEY, or OPENAI_BASE_URL for a local server.
        products = enrich_catalog(products, openai.OpenAI(), settings)
    products.to_csv(out, index=False)
    for row in rejected.itertuples(index=False):
        print(f"line {row.line}: {row.reason}", file=sys.stderr)
    print(f"{len(products)} rows ({products['sku'].nunique()} products) written to {out}, {len(rejected)} rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
