"""The release gate of 2.6, on predictions written by hand (no model involved)."""

import pandas as pd
import pytest

from helpdesk.config import Settings
from helpdesk.evaluation import accuracy, golden_ticket, recall_by_queue, release_gate

CURRENT = pd.DataFrame(
    {
        "ref": ["TCK-1101", "TCK-1102", "TCK-1103", "TCK-1104"],
        "label": ["billing", "shipping", "shipping", "general"],
        "predicted": ["billing", "shipping", "shipping", "billing"],
    }
)


def test_golden_ticket_keeps_the_ref() -> None:
    ticket = golden_ticket({"ref": "TCK-1842", "subject": "s", "body": "b"})
    assert (ticket.id, ticket.ref) == (842, "TCK-1842")


def test_recall_and_accuracy() -> None:
    assert recall_by_queue(CURRENT) == {
        "billing": 1.0, "technical": 0.0, "account": 0.0, "shipping": 1.0, "general": 0.0
    }
    assert accuracy(CURRENT) == pytest.approx(0.75)


def test_candidate_losing_a_queue_does_not_ship() -> None:
    candidate = CURRENT.assign(predicted=["billing", "billing", "shipping", "general"])
    report = release_gate(CURRENT, candidate, Settings())
    assert not report.ships
    assert len(report.reasons) == 1 and "shipping" in report.reasons[0]


def test_same_predictions_ship() -> None:
    assert release_gate(CURRENT, CURRENT.copy(), Settings()).ships


def test_runs_on_different_golden_sets_are_refused() -> None:
    other = CURRENT.assign(ref=["TCK-1101", "TCK-1102", "TCK-1103", "TCK-1999"])
    with pytest.raises(ValueError):
        release_gate(CURRENT, other, Settings())
