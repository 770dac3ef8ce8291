"""SQLite storage for orders, refund requests and the refund audit trail."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from shop.models import AuditEntry, Decision, Order, RefundRequest, RefundStatus

# TODO(jp): money should be integer cents; REAL was "temporary" in 2019.
# refund_audit is append-only: finance's monthly export reads it, so rows are never updated or deleted.
SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_email TEXT NOT NULL,
    total          REAL NOT NULL,
    fraud_flag     INTEGER NOT NULL DEFAULT 0,
    placed_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refund_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    amount     REAL NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refund_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    refund_id  INTEGER NOT NULL REFERENCES refund_requests (id),
    decision   TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    model          TEXT,
    prompt_version TEXT,
    recommendation TEXT,
    confidence     REAL,
    rationale      TEXT,
    override_rule  TEXT
);
"""

# The model columns came with 4.9; older databases get them when they are opened.
_MODEL_COLUMNS = {
    "model": "TEXT", "prompt_version": "TEXT", "recommendation": "TEXT", "confidence": "REAL",
    "rationale": "TEXT", "override_rule": "TEXT",
}

_REFUND_COLUMNS = "id, order_id, amount, reason, status, created_at"


class ShopRepository:
    """Stores the shop's orders and refunds in one SQLite file; the schema is created on opening."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(refund_audit)")}
        for column, kind in _MODEL_COLUMNS.items():
            if column not in have:
                self._conn.execute(f"ALTER TABLE refund_audit ADD COLUMN {column} {kind}")
        self._conn.commit()

    # ----------------------------------------------------------------- orders

    def add_order(self, order: Order) -> Order:
        """Insert an order (the checkout does this in production) and return it with its id."""
        placed_at = order.placed_at or datetime.now().astimezone()
        cursor = self._conn.execute(
            "INSERT INTO orders (customer_email, total, fraud_flag, placed_at) VALUES (?, ?, ?, ?)",
            (order.customer_email, order.total, int(order.fraud_flag), placed_at.isoformat()),
        )
        self._conn.commit()
        return Order(cursor.lastrowid, order.customer_email, order.total, order.fraud_flag, placed_at)

    def get_order(self, order_id: int) -> Order | None:
        """Return the order with this id, or None when there is none."""
        row = self._conn.execute(
            "SELECT id, customer_email, total, fraud_flag, placed_at FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
        if row is None:
            return None
        return Order(
            id=row["id"],
            customer_email=row["customer_email"],
            total=row["total"],
            fraud_flag=bool(row["fraud_flag"]),
            placed_at=datetime.fromisoformat(row["placed_at"]),
        )

    # ----------------------------------------------------------------- refund requests

    def add_refund(self, refund: RefundRequest) -> RefundRequest:
        """Insert a refund request and return it with its id (and so its ref) assigned."""
        created_at = refund.created_at or datetime.now().astimezone()
        cursor = self._conn.execute(
            "INSERT INTO refund_requests (order_id, amount, reason, status, created_at) VALUES (?, ?, ?, ?, ?)",
            (refund.order_id, refund.amount, refund.reason, refund.status.value, created_at.isoformat()),
        )
        self._conn.commit()
        return RefundRequest(
            id=cursor.lastrowid,
            order_id=refund.order_id,
            amount=refund.amount,
            reason=refund.reason,
            status=refund.status,
            created_at=created_at,
        )

    def get_refund(self, refund_id: int) -> RefundRequest | None:
        """Return the refund request with this id, or None when there is none."""
        row = self._conn.execute(
            f"SELECT {_REFUND_COLUMNS} FROM refund_requests WHERE id = ?", (refund_id,)
        ).fetchone()
        return self._to_refund(row) if row else None

    def list_refunds(self, status: RefundStatus) -> list[RefundRequest]:
        """Return the refund requests with this status, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_REFUND_COLUMNS} FROM refund_requests WHERE status = ? ORDER BY created_at, id",
            (status.value,),
        ).fetchall()
        return [self._to_refund(row) for row in rows]

    def set_refund_status(self, refund_id: int, status: RefundStatus) -> None:
        """Change the status of a refund request."""
        self._conn.execute("UPDATE refund_requests SET status = ? WHERE id = ?", (status.value, refund_id))
        self._conn.commit()

    def refunded_total(self, order_id: int) -> float:
        """The sum of the approved refunds of an order."""
        row = self._conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM refund_requests WHERE order_id = ? AND status = 'approved'",
            (order_id,),
        ).fetchone()
        return float(row[0])

    # ----------------------------------------------------------------- audit trail

    def add_audit(self, refund_id: int, decision: Decision, decided_by: str) -> AuditEntry:
        """Append one decision to the audit trail and return it."""
        decided_at = datetime.now().astimezone()
        cursor = self._conn.execute(
            "INSERT INTO refund_audit (refund_id, decision, decided_by, decided_at) VALUES (?, ?, ?, ?)",
            (refund_id, decision.value, decided_by, decided_at.isoformat()),
        )
        self._conn.commit()
        return AuditEntry(cursor.lastrowid, refund_id, decision, decided_by, decided_at)

    def add_model_audit(self, refund_id: int, decision: str, decided_by: str, **model_data: object) -> None:
        """Append a decision made with the model's help; `model_data` fills the model columns."""
        columns = ("model", "prompt_version", "recommendation", "confidence", "rationale", "override_rule")
        unknown = set(model_data) - set(columns)
        if unknown:
            raise TypeError(f"unknown audit columns {sorted(unknown)}")
        values = [model_data.get(column) for column in columns]
        self._conn.execute(
            f"INSERT INTO refund_audit (refund_id, decision, decided_by, decided_at, {', '.join(columns)}) "
            f"VALUES (?, ?, ?, ?, {', '.join('?' for _ in columns)})",
            (refund_id, decision, decided_by, datetime.now().astimezone().isoformat(), *values),
        )
        self._conn.commit()

    def list_audit(self, refund_id: int) -> list[AuditEntry]:
        """The decisions about one refund request, oldest first."""
        # TODO: no index on refund_id; fine while the desk handles a few hundred refunds a day.
        rows = self._conn.execute(
            "SELECT id, refund_id, decision, decided_by, decided_at FROM refund_audit WHERE refund_id = ? ORDER BY id",
            (refund_id,),
        ).fetchall()
        return [
            AuditEntry(
                id=row["id"],
                refund_id=row["refund_id"],
                decision=Decision(row["decision"]),
                decided_by=row["decided_by"],
                decided_at=datetime.fromisoformat(row["decided_at"]),
            )
            for row in rows
        ]

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @staticmethod
    def _to_refund(row: sqlite3.Row) -> RefundRequest:
        return RefundRequest(
            id=row["id"],
            order_id=row["order_id"],
            amount=row["amount"],
            reason=row["reason"],
            status=RefundStatus(row["status"]),
            created_at=datetime.fromisoformat(row["created_at"]),
        )
