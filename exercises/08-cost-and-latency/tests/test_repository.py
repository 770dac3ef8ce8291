"""Storage round trips through a real SQLite file."""

from pathlib import Path

import pytest

from helpdesk.models import Queue, Ticket
from helpdesk.repository import TicketRepository


@pytest.fixture
def repo(tmp_path: Path) -> TicketRepository:
    return TicketRepository(tmp_path / "helpdesk.db")


def _ticket(subject: str, queue: Queue = Queue.GENERAL, status: str = "open") -> Ticket:
    return Ticket(id=None, subject=subject, body="body", customer_email="ana@example.com", queue=queue, status=status)


def test_add_assigns_id_and_ref(repo: TicketRepository) -> None:
    first = repo.add(_ticket("first"))
    second = repo.add(_ticket("second"))
    assert (first.ref, second.ref) == ("TCK-1001", "TCK-1002")


def test_stored_ticket_survives_reopening(repo: TicketRepository, tmp_path: Path) -> None:
    stored = repo.add(_ticket("Broken link", Queue.TECHNICAL))
    again = TicketRepository(tmp_path / "helpdesk.db").get(stored.id)
    assert again is not None
    assert (again.subject, again.queue, again.routed_by) == ("Broken link", Queue.TECHNICAL, "rules")


def test_get_unknown_id_returns_none(repo: TicketRepository) -> None:
    assert repo.get(42) is None


def test_backlog_is_the_open_tickets_oldest_first(repo: TicketRepository) -> None:
    repo.add(_ticket("a"))
    repo.add(_ticket("b", status="closed"))
    repo.add(_ticket("c"))
    repo.add(_ticket("d"))
    assert [t.subject for t in repo.backlog()] == ["a", "c", "d"]
    assert [t.subject for t in repo.backlog(limit=2)] == ["a", "c"]


def test_set_queue_records_who_decided(repo: TicketRepository) -> None:
    stored = repo.add(_ticket("misrouted", Queue.GENERAL))
    repo.set_queue(stored.id, Queue.ACCOUNT, routed_by="model")
    again = repo.get(stored.id)
    assert (again.queue, again.routed_by) == (Queue.ACCOUNT, "model")
    repo.set_queue(stored.id, Queue.BILLING)
    assert repo.get(stored.id).routed_by == "model"
