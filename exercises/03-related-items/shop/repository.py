"""SQLite storage for the catalog, customers and orders."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from shop.models import Customer, Order, OrderLine, Product

# Customer numbers continue the old PHP shop's numbering, which stopped at 50000: they are printed on
# invoices and quoted on the phone, so the first customer of a fresh database is 50001.
FIRST_CUSTOMER_ID = 50001

# TODO(jb): move to a migrations tool; until then the schema is created here on start-up.
# customers.newsletter belongs to the newsletter we moved to the mail provider in 2020; the CRM export
# still selects it, so it stays.
SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    address    TEXT NOT NULL,
    newsletter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS products (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sku          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    price_cents  INTEGER NOT NULL,
    discontinued INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS orders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    placed_at   TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'placed'
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    product_id       INTEGER NOT NULL REFERENCES products (id),
    quantity         INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL
);
"""


class ShopRepository:
    """Stores the shop's data in one SQLite file; the schema is created when the repository opens."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)
        self._conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'customers', ? "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'customers')",
            (FIRST_CUSTOMER_ID - 1,),
        )
        self._conn.commit()

    # ------------------------------------------------------------------ catalog

    def add_product(self, product: Product) -> Product:
        """Insert a new product and return it with its id."""
        cursor = self._conn.execute(
            "INSERT INTO products (sku, name, description, price_cents, discontinued) VALUES (?, ?, ?, ?, ?)",
            (product.sku, product.name, product.description, product.price_cents, int(product.discontinued)),
        )
        self._conn.commit()
        return Product(
            id=cursor.lastrowid,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price_cents=product.price_cents,
            discontinued=product.discontinued,
        )

    def get_product(self, sku: str) -> Product | None:
        """Return the product with this SKU, or None when there is none."""
        row = self._conn.execute(
            "SELECT id, sku, name, description, price_cents, discontinued FROM products WHERE sku = ?", (sku,)
        ).fetchone()
        if row is None:
            return None
        return Product(
            id=row["id"],
            sku=row["sku"],
            name=row["name"],
            description=row["description"],
            price_cents=row["price_cents"],
            discontinued=bool(row["discontinued"]),
        )

    def set_discontinued(self, sku: str, discontinued: bool = True) -> None:
        """Take a product off sale (or back on)."""
        self._conn.execute("UPDATE products SET discontinued = ? WHERE sku = ?", (int(discontinued), sku))
        self._conn.commit()

    # ------------------------------------------------------------------ customers

    def add_customer(self, customer: Customer) -> Customer:
        """Insert a new customer and return it with its customer number (id)."""
        cursor = self._conn.execute(
            "INSERT INTO customers (name, email, address) VALUES (?, ?, ?)",
            (customer.name, customer.email, customer.address),
        )
        self._conn.commit()
        return Customer(id=cursor.lastrowid, name=customer.name, email=customer.email, address=customer.address)

    def get_customer(self, customer_id: int) -> Customer | None:
        """Return the customer with this id, or None when there is none."""
        row = self._conn.execute(
            "SELECT id, name, email, address FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return Customer(**dict(row)) if row else None

    # ------------------------------------------------------------------ orders

    def place_order(self, customer_id: int, lines: dict[str, int], placed_at: datetime | None = None) -> Order:
        """Store an order of `lines` (SKU -> quantity) at today's prices and return it.

        Raises LookupError for an unknown customer or SKU, ValueError for a discontinued product.
        """
        if self.get_customer(customer_id) is None:
            raise LookupError(f"no customer {customer_id}")
        placed_at = placed_at or datetime.now().astimezone()
        priced: list[tuple[int, OrderLine]] = []
        for sku, quantity in lines.items():
            product = self.get_product(sku)
            if product is None or product.id is None:
                raise LookupError(f"no product {sku}")
            if product.discontinued:
                raise ValueError(f"{sku} is no longer sold")
            priced.append((product.id, OrderLine(sku=sku, quantity=quantity, unit_price_cents=product.price_cents)))
        cursor = self._conn.execute(
            "INSERT INTO orders (customer_id, placed_at) VALUES (?, ?)", (customer_id, placed_at.isoformat())
        )
        order_id = cursor.lastrowid
        self._conn.executemany(
            "INSERT INTO order_lines (order_id, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?)",
            [(order_id, product_id, line.quantity, line.unit_price_cents) for product_id, line in priced],
        )
        self._conn.commit()
        return Order(id=order_id, customer_id=customer_id, lines=[line for _, line in priced], placed_at=placed_at)

    def cancel_order(self, order_id: int) -> None:
        """Mark an order as cancelled (customer service does this from the back office)."""
        self._conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = ?", (order_id,))
        self._conn.commit()

    def orders_of(self, customer_id: int) -> list[Order]:
        """Return a customer's orders with their lines, oldest first."""
        orders = []
        for row in self._conn.execute(
            "SELECT id, customer_id, placed_at, status FROM orders WHERE customer_id = ? ORDER BY placed_at, id",
            (customer_id,),
        ).fetchall():
            lines = [
                OrderLine(sku=line["sku"], quantity=line["quantity"], unit_price_cents=line["unit_price_cents"])
                for line in self._conn.execute(
                    "SELECT p.sku, l.quantity, l.unit_price_cents FROM order_lines AS l "
                    "JOIN products AS p ON p.id = l.product_id WHERE l.order_id = ? ORDER BY l.rowid",
                    (row["id"],),
                )
            ]
            orders.append(
                Order(
                    id=row["id"],
                    customer_id=row["customer_id"],
                    lines=lines,
                    placed_at=datetime.fromisoformat(row["placed_at"]),
                    status=row["status"],
                )
            )
        return orders

    def skus_bought_by(self, customer_id: int) -> set[str]:
        """The SKUs of every product this customer has ever ordered."""
        rows = self._conn.execute(
            "SELECT DISTINCT p.sku FROM orders AS o JOIN order_lines AS l ON l.order_id = o.id "
            "JOIN products AS p ON p.id = l.product_id WHERE o.customer_id = ?",
            (customer_id,),
        ).fetchall()
        return {row["sku"] for row in rows}

    def co_purchase_counts(self, sku: str) -> list[tuple[str, int]]:
        """Products bought in the same orders as `sku`: (SKU, number of such orders), most first.

        Ties go to the older product (lower id), as in the PHP shop; merchandising is used to it.
        """
        # FIXME(SHOP-88): cancelled orders still count. Merchandising asked to keep the numbers as they
        # are until the quarterly report is re-baselined.
        rows = self._conn.execute(
            """
            SELECT p.sku, COUNT(DISTINCT a.order_id) AS together
            FROM order_lines AS a
            JOIN order_lines AS b ON b.order_id = a.order_id AND b.product_id != a.product_id
            JOIN products AS p ON p.id = b.product_id
            WHERE a.product_id = (SELECT id FROM products WHERE sku = ?)
            GROUP BY p.id
            ORDER BY together DESC, p.id
            """,
            (sku,),
        ).fetchall()
        return [(row["sku"], row["together"]) for row in rows]

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()
