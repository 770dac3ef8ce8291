"""SQLite storage of orders, their lines, returns and refunds."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from shop.models import Order, OrderLine, OrderStatus, Refund, ReturnRequest, ReturnStatus

# TODO(jp): money should be integer cents; REAL was "temporary" in 2018.
SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_ref TEXT NOT NULL,
    status       TEXT NOT NULL,
    total        REAL NOT NULL,
    placed_at    TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    unit_price REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS returns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    amount     REAL NOT NULL,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


def _ref(order_id: int) -> str:
    return f"ORD-{1000 + order_id}"


class OrderRepository:
    """The shop's orders, returns and refunds in one SQLite file; the schema is created on opening."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)
        self._conn.commit()

    # ----------------------------------------------------------------- orders

    def add_order(self, customer_ref: str, lines: list[OrderLine], *, status: OrderStatus = OrderStatus.PLACED,
                  note: str = "", placed_at: datetime | None = None) -> Order:
        """Store an order (the checkout does this in production) and return it."""
        placed_at = placed_at or datetime.now().astimezone()
        total = round(sum(line.quantity * line.unit_price for line in lines), 2)
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO orders (customer_ref, status, total, placed_at, note) VALUES (?, ?, ?, ?, ?)",
                (customer_ref, status.value, total, placed_at.isoformat(), note),
            )
            self._conn.executemany(
                "INSERT INTO order_lines (order_id, sku, title, quantity, unit_price) VALUES (?, ?, ?, ?, ?)",
                [(cursor.lastrowid, ln.sku, ln.title, ln.quantity, ln.unit_price) for ln in lines],
            )
        order = self.get_order(cursor.lastrowid)
        assert order is not None
        return order

    def get_order(self, order_id: int) -> Order | None:
        """The order with this id, with its lines and refunded total, or None when there is none."""
        row = self._conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return self._to_order(row) if row else None

    def orders_of(self, customer_ref: str, status: OrderStatus | None = None) -> list[Order]:
        """A customer's orders, newest first; only those with `status` when it is given."""
        query, args = "SELECT * FROM orders WHERE customer_ref = ?", [customer_ref]
        if status is not None:
            query += " AND status = ?"
            args.append(status.value)
        rows = self._conn.execute(query + " ORDER BY placed_at DESC, id DESC", args).fetchall()
        # TODO: one query per order for the lines; fine while a customer has a handful of orders.
        return [self._to_order(row) for row in rows]

    def set_status(self, order_id: int, status: OrderStatus) -> None:
        """Move an order to another status."""
        with self._conn:
            self._conn.execute("UPDATE orders SET status = ? WHERE id = ?", (status.value, order_id))

    # ----------------------------------------------------------------- returns and refunds

    def add_return(self, order_id: int, reason: str) -> ReturnRequest:
        """Store a new open return of an order."""
        created_at = datetime.now().astimezone()
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO returns (order_id, reason, status, created_at) VALUES (?, ?, ?, ?)",
                (order_id, reason, ReturnStatus.OPEN.value, created_at.isoformat()),
            )
        return ReturnRequest(cursor.lastrowid, _ref(order_id), reason, ReturnStatus.OPEN, created_at)

    def open_return(self, order_id: int) -> ReturnRequest | None:
        """The order's open return, if it has one."""
        row = self._conn.execute(
            "SELECT * FROM returns WHERE order_id = ? AND status = ? ORDER BY id", (order_id, ReturnStatus.OPEN.value)
        ).fetchone()
        if row is None:
            return None
        return ReturnRequest(row["id"], _ref(order_id), row["reason"], ReturnStatus(row["status"]),
                             datetime.fromisoformat(row["created_at"]))

    def add_refund(self, order_id: int, amount: float, reason: str) -> Refund:
        """Store a refund of an order."""
        created_at = datetime.now().astimezone()
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO refunds (order_id, amount, reason, created_at) VALUES (?, ?, ?, ?)",
                (order_id, amount, reason, created_at.isoformat()),
            )
        return Refund(cursor.lastrowid, _ref(order_id), amount, reason, created_at)

    def refunded_total(self, order_id: int) -> float:
        """What was refunded on an order so far."""
        row = self._conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE order_id = ?", (order_id,)
        ).fetchone()
        return float(row[0])

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def _to_order(self, row: sqlite3.Row) -> Order:
        lines = [
            OrderLine(r["sku"], r["title"], r["quantity"], r["unit_price"])
            for r in self._conn.execute(
                "SELECT sku, title, quantity, unit_price FROM order_lines WHERE order_id = ? ORDER BY rowid",
                (row["id"],),
            )
        ]
        return Order(
            id=row["id"],
            customer_ref=row["customer_ref"],
            status=OrderStatus(row["status"]),
            total=row["total"],
            placed_at=datetime.fromisoformat(row["placed_at"]),
            note=row["note"],
            lines=lines,
            refunded=self.refunded_total(row["id"]),
        )
