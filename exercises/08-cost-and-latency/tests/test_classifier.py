"""The request the classifier builds and the answer it accepts (no model needed)."""

import pytest
from pydantic import ValidationError

from helpdesk.classifier import Classification, user_message
from helpdesk.models import Queue, Ticket


def test_user_message_starts_with_the_ref() -> None:
    ticket = Ticket(id=7, subject="Where is my parcel?", body="Ordered ten days ago.", customer_email="li@example.com")
    assert user_message(ticket).splitlines()[0] == "Ticket TCK-1007"
    assert "Ordered ten days ago." in user_message(ticket)


def test_answer_names_a_known_queue() -> None:
    assert Classification.model_validate({"queue": "shipping", "confidence": 0.9}).queue is Queue.SHIPPING
    with pytest.raises(ValidationError):
        Classification.model_validate({"queue": "returns", "confidence": 0.9})


def test_confidence_is_between_0_and_1() -> None:
    with pytest.raises(ValidationError):
        Classification.model_validate({"queue": "billing", "confidence": 1.2})
