"""The agents' console actions: every one of them stays available to agents."""

from pathlib import Path

import pytest

from helpdesk.models import Action, Priority, Status
from helpdesk.repository import HelpdeskRepository
from helpdesk.service import HelpdeskService


@pytest.fixture
def service(tmp_path: Path) -> HelpdeskService:
    return HelpdeskService(HelpdeskRepository(tmp_path / "helpdesk.db"))


def test_agent_actions(service: HelpdeskService) -> None:
    customer = service.register_customer("Lena Ortiz", "lena@example.com")
    ticket = service.open_ticket(customer.id, "Wrong size", "The boots are too small.")
    service.apply(Action("add_tag", ticket.ref, "returns"))
    service.apply(Action("set_priority", ticket.ref, "HIGH"))
    after = service.apply(Action("close_ticket", ticket.ref))
    assert (after.tags, after.priority, after.status) == (["returns"], Priority.HIGH, Status.CLOSED)
    assert service.apply(Action("reopen_ticket", ticket.ref)).status is Status.OPEN


def test_agent_changes_an_email(service: HelpdeskService) -> None:
    customer = service.register_customer("Lena Ortiz", "lena@example.com")
    ticket = service.open_ticket(customer.id, "New mailbox", "Please use my new address.")
    service.apply(Action("change_email", ticket.ref, "lena.ortiz@example.com"))
    assert service.customer(customer.id).email == "lena.ortiz@example.com"


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (Action("delete_everything", "TCK-1001"), ValueError),
        (Action("set_priority", "TCK-1001", "whenever"), ValueError),
        (Action("close_ticket", "TCK-9999"), LookupError),
        (Action("close_ticket", "all"), LookupError),
    ],
)
def test_bad_actions_raise(service: HelpdeskService, action: Action, error: type[Exception]) -> None:
    customer = service.register_customer("Lena Ortiz", "lena@example.com")
    service.open_ticket(customer.id, "Wrong size", "The boots are too small.")
    with pytest.raises(error):
        service.apply(action)
