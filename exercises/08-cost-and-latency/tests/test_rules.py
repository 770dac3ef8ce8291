"""The keyword table: which words send a ticket to which queue."""

import pytest

from helpdesk.models import Queue
from helpdesk.rules import route_by_keywords


@pytest.mark.parametrize(
    ("subject", "body", "queue"),
    [
        ("Invoice 2231", "Please resend it as PDF.", Queue.BILLING),
        ("Locked out", "I forgot my password.", Queue.ACCOUNT),
        ("Where is my parcel?", "Ordered ten days ago.", Queue.SHIPPING),
        ("Export fails", "The CSV export shows an error.", Queue.TECHNICAL),
    ],
)
def test_keywords_pick_the_queue(subject: str, body: str, queue: Queue) -> None:
    assert route_by_keywords(subject, body) is queue


def test_first_matching_row_wins() -> None:
    # Mentions both the account and a refund: billing comes first in the table.
    assert route_by_keywords("Refund to my account", "") is Queue.BILLING


def test_matching_ignores_case() -> None:
    assert route_by_keywords("DELIVERY LATE", "") is Queue.SHIPPING


def test_no_keyword_goes_to_general() -> None:
    assert route_by_keywords("Hello", "Do you have a store in Lyon?") is Queue.GENERAL


def test_blank_ticket_goes_to_general() -> None:
    assert route_by_keywords("  ", "\n") is Queue.GENERAL
