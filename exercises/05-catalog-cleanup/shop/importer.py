"""The supplier catalog import: the nightly job that loads the supplier's CSV into the products table."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

from shop.config import Settings
from shop.models import Product
from shop.repository import ProductRepository

log = logging.getLogger(__name__)

# The columns of the supplier's file, in their order. Agreed by e-mail in 2020; there is no spec.
SUPPLIER_COLUMNS = ("sku", "name", "brand", "price", "unit")


@dataclass
class ImportReport:
    """What one import did."""

    imported: int = 0
    skipped: int = 0


class CatalogImporter:
    """Loads a supplier CSV into the repository, one product row per line of the file."""

    def __init__(self, repo: ProductRepository, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()

    def import_file(self, path: str | Path) -> ImportReport:
        """Import every line of the file as written and return how many lines were imported or skipped."""
        report = ImportReport()
        with open(path, newline="", encoding=self.settings.supplier_encoding) as handle:
            for row in csv.DictReader(handle):
                # A row without a SKU cannot be linked to stock. Everything else goes in as the supplier
                # wrote it; the shop team tidies prices and names by hand in the back office.
                # TODO(2021): validate prices and units on import (SHOP-88).
                if not row.get("sku"):
                    report.skipped += 1
                    continue
                try:
                    self.repo.add(
                        Product(
                            id=None,
                            sku=row["sku"],
                            name=row["name"],
                            brand=row.get("brand") or "",
                            price=row["price"],
                            unit=row.get("unit") or "",
                        )
                    )
                except Exception:  # one bad line must not stop the nightly import
                    log.exception("could not import line %s", row)
                    report.skipped += 1
                    continue
                report.imported += 1
        log.info("catalog import: %d imported, %d skipped", report.imported, report.skipped)
        return report
