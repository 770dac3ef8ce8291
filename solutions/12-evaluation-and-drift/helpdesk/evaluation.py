"""Evaluation on the golden set: what each prompt version predicts, how well, and whether it may ship.

The golden set is a CSV of real tickets labelled by the team leads (columns ref, subject, body, label).
`predict_queues` asks the model about each of them with one prompt version, routing them exactly as the
service would; `score` turns predictions into per-queue precision, recall and F1 and a confusion table;
`release_gate` compares a candidate prompt's predictions with the current one's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openai
import pandas as pd

from helpdesk.classifier import ModelClassifier
from helpdesk.config import Settings
from helpdesk.models import REF_OFFSET, Queue, Ticket
from helpdesk.rules import route_by_keywords
from helpdesk.service import decide_queue

# Golden tickets are real tickets, copied out of production with their ref; they never get a new id.
GOLDEN_EMAIL = "golden-set@helpdesk.invalid"
# Every table lists the queues in this order, also those without a ticket, so two reports line up.
QUEUES: list[str] = [queue.value for queue in Queue]
# Recall and accuracy are ratios of small counts: 0.9 - 0.85 is 0.05000000000000004 in floating point,
# and a drop equal to the margin must pass.
TOLERANCE = 1e-9


def golden_ticket(row: dict[str, str]) -> Ticket:
    """The Ticket of one golden-set row, with the id its ref stands for (TCK-1842 -> id 842)."""
    return Ticket(
        id=int(row["ref"].removeprefix("TCK-")) - REF_OFFSET,
        subject=row["subject"],
        body=row["body"],
        customer_email=GOLDEN_EMAIL,
    )


def golden_accuracy(
    path: str | Path,
    client: openai.OpenAI,
    settings: Settings | None = None,
    prompt_version: str | None = None,
) -> float:
    """Share of the golden tickets whose label the model gives, one request per ticket.

    Kept for the old runbook; `predict_queues` and `score` are what the release gate uses.
    """
    settings = settings or Settings()
    classifier = ModelClassifier(client, settings.model, prompt_version or settings.prompt_version)
    right = total = 0
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            answer = classifier.classify(golden_ticket(row))
            total += 1
            # An unusable or unsure answer counts as wrong here; predict_queues routes it like the service.
            if answer is not None and answer.queue.value == row["label"]:
                right += 1
    return right / total


def read_golden_set(path: str | Path) -> pd.DataFrame:
    """The golden-set CSV as a frame of text columns (ref, subject, body, label)."""
    return pd.read_csv(path, dtype="str", keep_default_na=False)


# --------------------------------------------------------------------------- predictions


def predict_queues(
    golden: pd.DataFrame,
    client: openai.OpenAI,
    settings: Settings | None = None,
    prompt_version: str | None = None,
) -> pd.DataFrame:
    """The queue the service would give each golden ticket with `prompt_version`, one request each.

    Returns the columns ref, label and predicted, one row per golden ticket in the golden set's order.
    """
    settings = settings or Settings()
    version = prompt_version or settings.prompt_version
    classifier = ModelClassifier(client, settings.model, version, timeout=settings.evaluation_timeout)
    predicted: list[str] = []
    for row in golden[["ref", "subject", "body"]].to_dict("records"):
        # The same clean-up and fallback as HelpdeskService.submit: the service's outcome is measured.
        subject = str(row["subject"]).strip()[: settings.max_subject_length]
        ticket = golden_ticket({"ref": str(row["ref"]), "subject": subject, "body": str(row["body"])})
        answer = None if ticket.is_blank else classifier.classify(ticket)
        rules_queue = route_by_keywords(ticket.subject, ticket.body)
        queue, _routed_by = decide_queue(answer, rules_queue, settings.confidence_threshold)
        predicted.append(queue.value)
    return pd.DataFrame(
        {
            "ref": pd.array(golden["ref"].tolist(), dtype="str"),
            "label": pd.array(golden["label"].tolist(), dtype="str"),
            "predicted": pd.array(predicted, dtype="str"),
        }
    )


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Scores:
    """How one set of predictions did on the golden set."""

    accuracy: float
    per_class: pd.DataFrame  # index: the queues; columns precision, recall, f1 (floats), support (int)
    confusion: pd.DataFrame  # rows: the label, columns: the prediction; ticket counts


def _check_labels(frame: pd.DataFrame) -> None:
    for column in ("label", "predicted"):
        unknown = sorted(set(frame[column].astype("str")) - set(QUEUES))
        if unknown:
            raise ValueError(f"{column} holds values that are not queues: {', '.join(unknown)}")


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, 0.0 where the denominator is 0 (nothing to be right about)."""
    num = numerator.to_numpy(dtype="float64")
    den = denominator.to_numpy(dtype="float64")
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return pd.Series(out, index=numerator.index, dtype="float64")


def score(predictions: pd.DataFrame) -> Scores:
    """Per-queue precision, recall, F1 and support, overall accuracy and the confusion table."""
    if predictions.empty:
        raise ValueError("no predictions to score")
    _check_labels(predictions)
    labels = predictions["label"].astype("str")
    predicted = predictions["predicted"].astype("str")
    confusion = (
        pd.crosstab(labels, predicted)
        .reindex(index=QUEUES, columns=QUEUES, fill_value=0)
        .astype("int64")
        .rename_axis(index="label", columns="predicted")
    )
    hits = pd.Series(np.diag(confusion.to_numpy()), index=QUEUES)
    support = confusion.sum(axis=1)
    precision = _ratio(hits, confusion.sum(axis=0))
    recall = _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support.astype("int64")}
    ).rename_axis("queue")
    accuracy = float(hits.sum() / len(predictions))
    return Scores(accuracy=accuracy, per_class=per_class, confusion=confusion)


# --------------------------------------------------------------------------- the release gate


@dataclass(frozen=True)
class GateReport:
    """The gate's verdict on a candidate prompt, and why."""

    ships: bool
    reasons: list[str]  # one per broken criterion; empty when the candidate ships
    recall_change: dict[str, float]  # candidate minus current, per queue
    accuracy_change: float  # candidate minus current
    current: Scores = field(repr=False)
    candidate: Scores = field(repr=False)


def _same_golden_set(current: pd.DataFrame, candidate: pd.DataFrame) -> None:
    mine = current.set_index("ref")["label"].astype("str")
    theirs = candidate.set_index("ref")["label"].astype("str")
    if mine.index.has_duplicates or theirs.index.has_duplicates:
        raise ValueError("a golden-set ref appears twice in the predictions")
    if set(mine.index) != set(theirs.index):
        only = sorted(set(mine.index) ^ set(theirs.index))
        raise ValueError(f"the two runs are not on the same golden set (refs in one only: {', '.join(only)})")
    relabelled = sorted(ref for ref in mine.index if mine[ref] != theirs[ref])
    if relabelled:
        raise ValueError(f"the two runs label these golden tickets differently: {', '.join(relabelled)}")


def release_gate(
    current: pd.DataFrame, candidate: pd.DataFrame, settings: Settings | None = None
) -> GateReport:
    """Whether the candidate's predictions may replace the current ones on the same golden set.

    The candidate ships when no queue loses more than `settings.gate_recall_margin` of recall and
    overall accuracy does not fall.
    """
    settings = settings or Settings()
    _same_golden_set(current, candidate)
    before, after = score(current), score(candidate)
    change = after.per_class["recall"] - before.per_class["recall"]
    reasons = [
        f"recall of {queue} falls from {before.per_class.at[queue, 'recall']:.3f} to "
        f"{after.per_class.at[queue, 'recall']:.3f}, more than the margin of {settings.gate_recall_margin:.3f}"
        for queue in QUEUES
        if -change[queue] > settings.gate_recall_margin + TOLERANCE
    ]
    accuracy_change = after.accuracy - before.accuracy
    if accuracy_change < -TOLERANCE:
        reasons.append(f"overall accuracy falls from {before.accuracy:.3f} to {after.accuracy:.3f}")
    return GateReport(
        ships=not reasons,
        reasons=reasons,
        recall_change={queue: float(change[queue]) for queue in QUEUES},
        accuracy_change=float(accuracy_change),
        current=before,
        candidate=after,
    )
