"""Storage round trips through a real SQLite file."""

import sqlite3
from pathlib import Path

import pytest

from helpdesk.models import Queue, Ticket
from helpdesk.repository import TicketRepository


@pytest.fixture
def repo(tmp_path: Path) -> TicketRepository:
    return TicketRepository(tmp_path / "helpdesk.db")


def _ticket(subject: str, queue: Queue = Queue.GENERAL) -> Ticket:
    return Ticket(id=None, subject=subject, body="body", customer_email="ana@example.com", queue=queue)


def test_add_assigns_id_and_ref(repo: TicketRepository) -> None:
    first = repo.add(_ticket("first"))
    second = repo.add(_ticket("second"))
    assert (first.ref, second.ref) == ("TCK-1001", "TCK-1002")


def test_stored_ticket_survives_reopening(repo: TicketRepository, tmp_path: Path) -> None:
    stored = repo.add(_ticket("Broken link", Queue.TECHNICAL))
    repo.mark_degraded(stored.id)
    again = TicketRepository(tmp_path / "helpdesk.db").get(stored.id)
    assert again is not None
    assert (again.subject, again.queue, again.degraded) == ("Broken link", Queue.TECHNICAL, True)


def test_list_by_queue_keeps_order_and_filters(repo: TicketRepository) -> None:
    repo.add(_ticket("a", Queue.BILLING))
    repo.add(_ticket("b", Queue.SHIPPING))
    repo.add(_ticket("c", Queue.BILLING))
    assert [t.subject for t in repo.list_by_queue(Queue.BILLING)] == ["a", "c"]


def test_set_queue_moves_the_ticket(repo: TicketRepository) -> None:
    stored = repo.add(_ticket("misrouted", Queue.GENERAL))
    repo.set_queue(stored.id, Queue.ACCOUNT, routed_by="model")
    moved = repo.get(stored.id)
    assert (moved.queue, moved.routed_by) == (Queue.ACCOUNT, "model")


def test_release_2_3_database_is_upgraded(tmp_path: Path) -> None:
    # The tickets table as release 2.3 created it, before routed_by and degraded existed.
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.execute(
        "CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, body TEXT NOT NULL,"
        " customer_email TEXT NOT NULL, queue TEXT NOT NULL DEFAULT 'general', created_at TEXT NOT NULL,"
        " sla_bucket TEXT)"
    )
    conn.execute(
        "INSERT INTO tickets (subject, body, customer_email, queue, created_at) VALUES (?, ?, ?, ?, ?)",
        ("Invoice 2231", "Please resend it.", "ana@example.com", "billing", "2024-03-01T09:30:00+00:00"),
    )
    conn.commit()
    conn.close()
    repo = TicketRepository(tmp_path / "old.db")
    old = repo.get(1)
    assert (old.ref, old.queue, old.routed_by, old.degraded) == ("TCK-1001", Queue.BILLING, "rules", False)
    assert repo.add(_ticket("Lost parcel")).ref == "TCK-1002"
