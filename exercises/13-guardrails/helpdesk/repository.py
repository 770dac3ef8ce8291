"""SQLite storage for customers and tickets."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from helpdesk.models import Customer, Priority, Status, Ticket

# TODO(mk): move to a proper migrations tool; until then the schema is created here on start-up.
SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    phone      TEXT,
    plan       TEXT NOT NULL DEFAULT 'standard'
);
CREATE TABLE IF NOT EXISTS tickets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    priority    TEXT NOT NULL DEFAULT 'normal',
    tags        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
"""

_TICKET_COLUMNS = "id, customer_id, subject, body, status, priority, tags, created_at"


class HelpdeskRepository:
    """Stores customers and tickets in one SQLite file; the schema is created when it opens."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)

    # ------------------------------------------------------------------ customers

    def add_customer(self, customer: Customer) -> Customer:
        """Insert a customer and return it with its id."""
        cursor = self._conn.execute(
            "INSERT INTO customers (name, email, phone, plan) VALUES (?, ?, ?, ?)",
            (customer.name, customer.email, customer.phone, customer.plan),
        )
        self._conn.commit()
        return Customer(cursor.lastrowid, customer.name, customer.email, customer.phone, customer.plan)

    def get_customer(self, customer_id: int) -> Customer | None:
        """Return the customer with this id, or None."""
        row = self._conn.execute(
            "SELECT id, name, email, phone, plan FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return Customer(row["id"], row["name"], row["email"], row["phone"], row["plan"]) if row else None

    def set_customer_email(self, customer_id: int, email: str) -> None:
        """Change a customer's e-mail address (agents do it when a customer asks on the phone)."""
        self._conn.execute("UPDATE customers SET email = ? WHERE id = ?", (email, customer_id))
        self._conn.commit()

    # ------------------------------------------------------------------ tickets

    def add_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket and return it with its id (and so its ref) assigned."""
        created_at = ticket.created_at or datetime.now().astimezone()
        cursor = self._conn.execute(
            "INSERT INTO tickets (customer_id, subject, body, status, priority, tags, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ticket.customer_id,
                ticket.subject,
                ticket.body,
                ticket.status.value,
                ticket.priority.value,
                ",".join(ticket.tags),
                created_at.isoformat(),
            ),
        )
        self._conn.commit()
        return self.get_ticket(cursor.lastrowid)  # type: ignore[arg-type, return-value]

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        """Return the ticket with this id, or None when there is none."""
        row = self._conn.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return self._to_ticket(row) if row else None

    def list_open(self) -> list[Ticket]:
        """The open tickets, most urgent first, then oldest first."""
        # FIXME: sorts priorities alphabetically (high, low, normal, urgent); the dashboard re-sorts.
        rows = self._conn.execute(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE status = 'open' ORDER BY priority, created_at, id"
        ).fetchall()
        return [self._to_ticket(row) for row in rows]

    def set_status(self, ticket_id: int, status: Status) -> None:
        """Open or close a ticket."""
        self._conn.execute("UPDATE tickets SET status = ? WHERE id = ?", (status.value, ticket_id))
        self._conn.commit()

    def set_priority(self, ticket_id: int, priority: Priority) -> None:
        """Change a ticket's priority."""
        self._conn.execute("UPDATE tickets SET priority = ? WHERE id = ?", (priority.value, ticket_id))
        self._conn.commit()

    def add_tag(self, ticket_id: int, tag: str) -> None:
        """Add a tag to a ticket (a tag it already has is not added twice)."""
        ticket = self.get_ticket(ticket_id)
        if ticket is None or tag in ticket.tags:
            return
        # Tags are one comma-separated column: the 2016 reporting export reads it that way.
        self._conn.execute("UPDATE tickets SET tags = ? WHERE id = ?", (",".join([*ticket.tags, tag]), ticket_id))
        self._conn.commit()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @staticmethod
    def _to_ticket(row: sqlite3.Row) -> Ticket:
        return Ticket(
            id=row["id"],
            customer_id=row["customer_id"],
            subject=row["subject"],
            body=row["body"],
            status=Status(row["status"]),
            priority=Priority(row["priority"]),
            tags=[tag for tag in row["tags"].split(",") if tag],
            created_at=datetime.fromisoformat(row["created_at"]),
        )
