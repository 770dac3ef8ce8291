"""Evaluation on the golden set, and the release gate a new prompt must pass (release 2.6, HD-1150).

The golden set is a CSV of real tickets labelled by the team leads (columns ref, subject, body, label).
`predict_queues` asks the model about each of them with one prompt version, routing them exactly as the
service would; `release_gate` compares a candidate's predictions with the current prompt's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import openai
import pandas as pd

from helpdesk.classifier import ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import REF_OFFSET, Queue, Ticket
from helpdesk.service import decide_queue, route_by_rules

# Golden tickets are real tickets, copied out of production with their ref; they never get a new id.
GOLDEN_EMAIL = "golden-set@helpdesk.invalid"
QUEUES: list[str] = [queue.value for queue in Queue]
# Recall and accuracy are ratios of small counts: a drop equal to the margin must pass.
TOLERANCE = 1e-9


def golden_ticket(row: dict[str, str]) -> Ticket:
    """The Ticket of one golden-set row, with the id its ref stands for (TCK-1842 -> id 842)."""
    return Ticket(
        id=int(row["ref"].removeprefix("TCK-")) - REF_OFFSET,
        subject=row["subject"],
        body=row["body"],
        customer_email=GOLDEN_EMAIL,
    )


def read_golden_set(path: str | Path) -> pd.DataFrame:
    """A golden-set CSV (ref, subject, body, label) or a predictions CSV, as a frame of text columns."""
    return pd.read_csv(path, dtype="str", keep_default_na=False)


def predict_queues(
    golden: pd.DataFrame,
    client: openai.OpenAI,
    settings: Settings | None = None,
    prompt_version: str | None = None,
) -> pd.DataFrame:
    """The queue the service would give each golden ticket, one request each: columns ref, label, predicted."""
    settings = settings or Settings()
    classifier = ModelClassifier(client, settings.model, prompt_version or settings.prompt_version)
    predicted: list[str] = []
    for row in golden[["ref", "subject", "body"]].to_dict("records"):
        subject = str(row["subject"]).strip()[: settings.max_subject_length]
        ticket = golden_ticket({"ref": str(row["ref"]), "subject": subject, "body": str(row["body"])})
        answer = None if ticket.is_blank else classifier.classify(ticket)
        queue, _ = decide_queue(answer, route_by_rules(ticket.subject, ticket.body), settings.confidence_threshold)
        predicted.append(queue.value)
    return pd.DataFrame({"ref": golden["ref"].tolist(), "label": golden["label"].tolist(), "predicted": predicted})


def recall_by_queue(predictions: pd.DataFrame) -> dict[str, float]:
    """Each queue's recall (0.0 for a queue without golden tickets), in the order of Queue."""
    recalls = {}
    for queue in QUEUES:
        mine = predictions[predictions["label"] == queue]
        recalls[queue] = float((mine["predicted"] == queue).mean()) if len(mine) else 0.0
    return recalls


def accuracy(predictions: pd.DataFrame) -> float:
    """Share of the golden tickets predicted right."""
    return float((predictions["label"] == predictions["predicted"]).mean())


@dataclass(frozen=True)
class GateReport:
    """The gate's verdict on a candidate, and why."""

    ships: bool
    reasons: list[str]  # one per broken criterion; empty when the candidate ships
    recall_change: dict[str, float]  # candidate minus current, per queue
    accuracy_change: float  # candidate minus current


def release_gate(current: pd.DataFrame, candidate: pd.DataFrame, settings: Settings | None = None) -> GateReport:
    """Whether the candidate's predictions may replace the current ones on the same golden set.

    The candidate ships when no queue loses more than `settings.gate_recall_margin` of recall and
    overall accuracy does not fall.
    """
    settings = settings or Settings()
    labels = dict(zip(current["ref"], current["label"], strict=True))
    if labels != dict(zip(candidate["ref"], candidate["label"], strict=True)):
        raise ValueError("the two runs are not on the same golden set (refs or labels differ)")
    before, after = recall_by_queue(current), recall_by_queue(candidate)
    change = {queue: after[queue] - before[queue] for queue in QUEUES}
    reasons = [
        f"recall of {queue} falls from {before[queue]:.3f} to {after[queue]:.3f}, "
        f"more than the margin of {settings.gate_recall_margin:.3f}"
        for queue in QUEUES
        if -change[queue] > settings.gate_recall_margin + TOLERANCE
    ]
    accuracy_change = accuracy(candidate) - accuracy(current)
    if accuracy_change < -TOLERANCE:
        reasons.append(f"overall accuracy falls from {accuracy(current):.3f} to {accuracy(candidate):.3f}")
    return GateReport(not reasons, reasons, change, accuracy_change)
