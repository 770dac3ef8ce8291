"""The weekly batch without a model client: the keyword rules decide, as on a machine without a key."""

from pathlib import Path

import pytest

from helpdesk.batch import BacklogReclassifier
from helpdesk.config import Settings
from helpdesk.models import Queue, Ticket
from helpdesk.repository import TicketRepository


@pytest.fixture
def repo(tmp_path: Path) -> TicketRepository:
    return TicketRepository(tmp_path / "helpdesk.db")


def _add(repo: TicketRepository, subject: str, body: str = "") -> Ticket:
    return repo.add(Ticket(id=None, subject=subject, body=body, customer_email="li@example.com"))


def test_without_a_client_the_rules_decide_and_are_stored(repo: TicketRepository) -> None:
    invoice = _add(repo, "Invoice missing", "Please send the invoice for May.")
    parcel = _add(repo, "Parcel late", "Tracking has not moved for a week.")
    report = BacklogReclassifier(repo, Settings(db_path=repo.db_path)).run(repo.backlog())
    assert [(r.ref, r.queue, r.decided_by) for r in report.results] == [
        (invoice.ref, Queue.BILLING, "rules"),
        (parcel.ref, Queue.SHIPPING, "rules"),
    ]
    assert repo.get(parcel.id).queue is Queue.SHIPPING
    assert repo.get(parcel.id).routed_by == "rules"


def test_results_keep_the_order_of_the_tickets_given(repo: TicketRepository) -> None:
    tickets = [_add(repo, "App crash"), _add(repo, "Hello"), _add(repo, "Password reset")]
    report = BacklogReclassifier(repo).run(list(reversed(tickets)))
    assert [r.ticket_id for r in report.results] == [t.id for t in reversed(tickets)]


def test_blank_ticket_goes_to_general(repo: TicketRepository) -> None:
    blank = _add(repo, "   ", "")
    report = BacklogReclassifier(repo).run([blank])
    assert report.results[0].queue is Queue.GENERAL
    assert report.results[0].confidence is None


def test_an_empty_backlog_is_an_empty_report(repo: TicketRepository) -> None:
    report = BacklogReclassifier(repo).run([])
    assert report.results == []
    assert report.seconds >= 0
