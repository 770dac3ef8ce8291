"""SQLite storage for catalog products."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from shop.models import Product

# TODO(jb): sku should be UNIQUE, but the spring 2021 import left duplicates that orders still point at.
SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    brand       TEXT NOT NULL DEFAULT '',
    price       TEXT NOT NULL,
    unit        TEXT NOT NULL DEFAULT '',
    category    TEXT,
    description TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL
)
"""

_COLUMNS = "id, sku, name, brand, price, unit, category, description, imported_at"


class ProductRepository:
    """Stores products in one SQLite file; the schema is created when the repository opens."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(SCHEMA)
        self._conn.commit()

    def add(self, product: Product) -> Product:
        """Insert a product and return it with its id assigned."""
        imported_at = product.imported_at or datetime.now().astimezone()
        cursor = self._conn.execute(
            "INSERT INTO products (sku, name, brand, price, unit, category, description, imported_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (product.sku, product.name, product.brand, product.price, product.unit, product.category,
             product.description, imported_at.isoformat()),
        )
        self._conn.commit()
        return Product(
            id=cursor.lastrowid, sku=product.sku, name=product.name, brand=product.brand, price=product.price,
            unit=product.unit, category=product.category, description=product.description,
            imported_at=imported_at,
        )

    def get(self, sku: str) -> Product | None:
        """Return the product with this SKU, or None. With duplicates, the oldest row wins (as on the web shop)."""
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM products WHERE sku = ? ORDER BY id", (sku,)).fetchone()
        return self._to_product(row) if row else None

    def list_all(self) -> list[Product]:
        """Every stored product, in the order it was imported."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM products ORDER BY id").fetchall()
        return [self._to_product(row) for row in rows]

    def search(self, term: str) -> list[Product]:
        """Products whose name contains `term` (case-insensitive), as the back-office search box does."""
        # FIXME: the term is pasted into the SQL; a quote in the search box breaks it (SHOP-131).
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM products WHERE lower(name) LIKE '%{term.lower()}%' ORDER BY id"
        ).fetchall()
        return [self._to_product(row) for row in rows]

    def count(self) -> int:
        """How many product rows are stored (duplicates included)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @staticmethod
    def _to_product(row: sqlite3.Row) -> Product:
        return Product(
            id=row["id"], sku=row["sku"], name=row["name"], brand=row["brand"], price=row["price"],
            unit=row["unit"], category=row["category"], description=row["description"],
            imported_at=datetime.fromisoformat(row["imported_at"]),
        )
