"""Databases created by older releases keep working after an upgrade."""

import sqlite3
from pathlib import Path

from helpdesk.models import Queue, Ticket
from helpdesk.repository import TicketRepository

# The tickets table as release 2.3 created it, before routed_by existed.
SCHEMA_2_3 = """
CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    queue          TEXT NOT NULL DEFAULT 'general',
    created_at     TEXT NOT NULL,
    sla_bucket     TEXT
)
"""


def _old_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(SCHEMA_2_3)
    conn.execute(
        "INSERT INTO tickets (subject, body, customer_email, queue, created_at) VALUES (?, ?, ?, ?, ?)",
        ("Invoice 2231", "Please resend it.", "ana@example.com", "billing", "2024-03-01T09:30:00+00:00"),
    )
    conn.commit()
    conn.close()


def test_old_tickets_are_readable_after_upgrade(tmp_path: Path) -> None:
    _old_database(tmp_path / "helpdesk.db")
    old = TicketRepository(tmp_path / "helpdesk.db").get(1)
    assert old is not None
    assert (old.ref, old.queue, old.routed_by) == ("TCK-1001", Queue.BILLING, "rules")


def test_new_tickets_can_be_added_after_upgrade(tmp_path: Path) -> None:
    _old_database(tmp_path / "helpdesk.db")
    repo = TicketRepository(tmp_path / "helpdesk.db")
    new = repo.add(Ticket(id=None, subject="Lost parcel", body="", customer_email="bo@example.com"))
    assert new.ref == "TCK-1002"
    assert [t.subject for t in repo.list_by_queue(Queue.BILLING)] == ["Invoice 2231"]
