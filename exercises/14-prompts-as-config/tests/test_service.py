"""The service as the web form and the mail gateway use it."""

from pathlib import Path

import pytest

from helpdesk.config import Settings
from helpdesk.models import Queue
from helpdesk.repository import TicketRepository
from helpdesk.service import HelpdeskService


@pytest.fixture
def service(tmp_path: Path) -> HelpdeskService:
    settings = Settings(db_path=str(tmp_path / "helpdesk.db"))
    return HelpdeskService(TicketRepository(settings.db_path), settings)


def test_submit_routes_by_keywords_and_stores(service: HelpdeskService) -> None:
    ticket = service.submit("Payment failed", "My card was declined twice.", "li@example.com")
    assert ticket.ref == "TCK-1001"
    assert ticket.queue is Queue.BILLING
    assert service.get(ticket.id).queue is Queue.BILLING


def test_blank_ticket_is_still_taken_in(service: HelpdeskService) -> None:
    ticket = service.submit("   ", "", "li@example.com")
    assert service.get(ticket.id).queue is Queue.GENERAL


def test_long_subject_is_cut(tmp_path: Path) -> None:
    settings = Settings(db_path=str(tmp_path / "helpdesk.db"), max_subject_length=10)
    service = HelpdeskService(TicketRepository(settings.db_path), settings)
    assert service.submit("Where is my delivery?", "", "li@example.com").subject == "Where is m"


def test_get_unknown_ticket_raises(service: HelpdeskService) -> None:
    with pytest.raises(LookupError):
        service.get(999)
