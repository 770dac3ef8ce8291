"""SQLite storage for tickets."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from helpdesk.models import ROUTED_BY_RULES, Queue, RoutedBy, Ticket

# TODO(mk): move to a proper migrations tool; until then the schema is created here on start-up.
# sla_bucket belongs to the SLA module removed in 2019; the BI export still selects it, so it stays.
SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    queue          TEXT NOT NULL DEFAULT 'general',
    created_at     TEXT NOT NULL,
    sla_bucket     TEXT,
    routed_by      TEXT NOT NULL DEFAULT 'rules',
    status         TEXT NOT NULL DEFAULT 'open'
)
"""

_COLUMNS = "id, subject, body, customer_email, queue, created_at, routed_by, status"


class TicketRepository:
    """Stores tickets in one SQLite file; the schema is created when the repository opens."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(SCHEMA)
        self._conn.commit()

    def add(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket and return it with its id (and so its ref) assigned."""
        created_at = ticket.created_at or datetime.now().astimezone()
        cursor = self._conn.execute(
            "INSERT INTO tickets (subject, body, customer_email, queue, created_at, routed_by, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ticket.subject,
                ticket.body,
                ticket.customer_email,
                ticket.queue.value,
                created_at.isoformat(),
                ticket.routed_by,
                ticket.status,
            ),
        )
        self._conn.commit()
        return self.get(cursor.lastrowid)  # type: ignore[arg-type, return-value]

    def get(self, ticket_id: int) -> Ticket | None:
        """Return the ticket with this id, or None when there is none."""
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        return self._to_ticket(row) if row else None

    def backlog(self, limit: int | None = None) -> list[Ticket]:
        """Return the open tickets, oldest first: what the weekly batch re-classifies."""
        sql = f"SELECT {_COLUMNS} FROM tickets WHERE status = 'open' ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._to_ticket(row) for row in self._conn.execute(sql).fetchall()]

    def set_queue(self, ticket_id: int, queue: Queue, *, routed_by: RoutedBy | None = None) -> None:
        """Move a ticket to another queue; `routed_by` also records who decided (None keeps it)."""
        if routed_by is None:
            self._conn.execute("UPDATE tickets SET queue = ? WHERE id = ?", (queue.value, ticket_id))
        else:
            self._conn.execute(
                "UPDATE tickets SET queue = ?, routed_by = ? WHERE id = ?",
                (queue.value, routed_by, ticket_id),
            )
        self._conn.commit()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @staticmethod
    def _to_ticket(row: sqlite3.Row) -> Ticket:
        return Ticket(
            id=row["id"],
            subject=row["subject"],
            body=row["body"],
            customer_email=row["customer_email"],
            queue=Queue(row["queue"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            routed_by=row["routed_by"] or ROUTED_BY_RULES,
            status=row["status"],
        )
