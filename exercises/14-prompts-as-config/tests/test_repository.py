"""Storage round trips through a real SQLite file."""

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
    again = TicketRepository(tmp_path / "helpdesk.db").get(stored.id)
    assert again is not None
    assert (again.subject, again.queue) == ("Broken link", Queue.TECHNICAL)
    assert again.customer_email == "ana@example.com"


def test_get_unknown_id_returns_none(repo: TicketRepository) -> None:
    assert repo.get(42) is None


def test_list_by_queue_keeps_order_and_filters(repo: TicketRepository) -> None:
    repo.add(_ticket("a", Queue.BILLING))
    repo.add(_ticket("b", Queue.SHIPPING))
    repo.add(_ticket("c", Queue.BILLING))
    assert [t.subject for t in repo.list_by_queue(Queue.BILLING)] == ["a", "c"]


def test_set_queue_moves_the_ticket(repo: TicketRepository) -> None:
    stored = repo.add(_ticket("misrouted", Queue.GENERAL))
    repo.set_queue(stored.id, Queue.ACCOUNT)
    assert repo.get(stored.id).queue is Queue.ACCOUNT
