"""Storage of customers and tickets."""

from pathlib import Path

from helpdesk.models import Customer, Priority, Status, Ticket
from helpdesk.repository import HelpdeskRepository


def test_customer_round_trip(tmp_path: Path) -> None:
    repo = HelpdeskRepository(tmp_path / "helpdesk.db")
    stored = repo.add_customer(Customer(None, "Lena Ortiz", "lena@example.com", "+34 600 000 001", "premium"))
    assert stored.id == 1
    assert repo.get_customer(stored.id) == stored
    repo.set_customer_email(stored.id, "lena.ortiz@example.com")
    assert repo.get_customer(stored.id).email == "lena.ortiz@example.com"


def test_tickets_get_refs_in_order(tmp_path: Path) -> None:
    repo = HelpdeskRepository(tmp_path / "helpdesk.db")
    customer = repo.add_customer(Customer(None, "Lena Ortiz", "lena@example.com"))
    first = repo.add_ticket(Ticket(None, customer.id, "Where is my parcel?", "Ordered ten days ago."))
    second = repo.add_ticket(Ticket(None, customer.id, "Wrong size", "The boots are too small."))
    assert (first.ref, second.ref) == ("TCK-1001", "TCK-1002")
    assert (first.status, first.priority, first.tags) == (Status.OPEN, Priority.NORMAL, [])


def test_tags_priority_and_status_are_stored(tmp_path: Path) -> None:
    repo = HelpdeskRepository(tmp_path / "helpdesk.db")
    customer = repo.add_customer(Customer(None, "Lena Ortiz", "lena@example.com"))
    ticket = repo.add_ticket(Ticket(None, customer.id, "Wrong size", "The boots are too small."))
    repo.add_tag(ticket.id, "returns")
    repo.add_tag(ticket.id, "returns")
    repo.set_priority(ticket.id, Priority.HIGH)
    repo.set_status(ticket.id, Status.CLOSED)
    again = HelpdeskRepository(tmp_path / "helpdesk.db").get_ticket(ticket.id)
    assert (again.tags, again.priority, again.status) == (["returns"], Priority.HIGH, Status.CLOSED)
    assert repo.list_open() == []
