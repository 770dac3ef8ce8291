"""Helpers of kata 12's checks: the kit's data, expected results computed here, calling the learner's code.

Everything here observes behaviour only: what `predict_queues`, `score` and `release_gate` (in
`helpdesk.evaluation`) and `weekly_drift` (in `helpdesk.monitoring`) return, as the brief fixes them, and
the requests that reach the (replayed) model. The expected metrics, verdicts and drift figures are
computed here from the data with plain Python (counting, `math.log`, `datetime.isocalendar`), never with
the pandas calls a solution would use.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import numbers
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kata.checks import RemoteError, expect

QUEUES = ["billing", "technical", "account", "shipping", "general"]  # the order of the Queue enum
TOLERANCE = 1e-9  # ratios of small counts: checks compare with this much slack
DEFAULTS = {"gate_recall_margin": 0.05, "drift_threshold": 0.2, "drift_epsilon": 1e-4, "drift_min_tickets": 50}
GOLDEN_CSV = "golden_set.csv"
PREDICTIONS_CSV = "golden_predictions.csv"
LOG_CSV = "routing_log.csv"

Row = tuple[str, str, str]  # (ref, label, predicted)


# --------------------------------------------------------------------------- the kit's data


def golden_set(kata_data: Path) -> pd.DataFrame:
    """The golden set as the brief says the checks pass it: text columns ref, subject, body, label."""
    return pd.read_csv(kata_data / GOLDEN_CSV, dtype="str", keep_default_na=False)


def recorded_rows(kata_data: Path, version: str) -> list[Row]:
    """(ref, label, predicted) of the golden set with the recorded predictions of `version` (v3 or v4)."""
    golden = golden_set(kata_data)
    predictions = pd.read_csv(kata_data / PREDICTIONS_CSV, dtype="str", keep_default_na=False)
    predicted = dict(zip(predictions["ref"], predictions[version], strict=True))
    return [(ref, label, predicted[ref]) for ref, label in zip(golden["ref"], golden["label"], strict=True)]


def log_rows(kata_data: Path) -> list[tuple[str, str, str]]:
    """(ref, routed_at, queue) of the kit's routing log, in file order."""
    log = pd.read_csv(kata_data / LOG_CSV, dtype="str", keep_default_na=False)
    return list(zip(log["ref"], log["routed_at"], log["queue"], strict=True))


def prediction_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """A predictions frame exactly as the brief documents it: text columns ref, label, predicted."""
    rows = list(rows)
    return pd.DataFrame(
        {
            "ref": pd.array([r[0] for r in rows], dtype="str"),
            "label": pd.array([r[1] for r in rows], dtype="str"),
            "predicted": pd.array([r[2] for r in rows], dtype="str"),
        }
    )


def log_frame(rows: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    """A routing-log frame as pd.read_csv gives the export: text columns ref, routed_at, queue."""
    rows = list(rows)
    return pd.DataFrame(
        {
            "ref": pd.array([r[0] for r in rows], dtype="str"),
            "routed_at": pd.array([r[1] for r in rows], dtype="str"),
            "queue": pd.array([r[2] for r in rows], dtype="str"),
        }
    )


def paired_runs(
    support: dict[str, int],
    current_hits: dict[str, int],
    candidate_hits: dict[str, int],
    miss_to: dict[str, str],
    first_ref: int = 5001,
) -> tuple[list[Row], list[Row]]:
    """Two runs on one synthetic golden set: per queue, `support` tickets of which the first `hits` are
    predicted right and the others as `miss_to[queue]`. The tickets of the queues are interleaved."""
    labels: list[str] = []
    remaining = dict(support)
    while any(remaining.values()):
        for queue in QUEUES:
            if remaining.get(queue, 0):
                labels.append(queue)
                remaining[queue] -= 1
    seen: Counter[str] = Counter()
    current: list[Row] = []
    candidate: list[Row] = []
    for i, label in enumerate(labels):
        ref = f"TCK-{first_ref + i}"
        n = seen[label]
        seen[label] += 1
        current.append((ref, label, label if n < current_hits[label] else miss_to[label]))
        candidate.append((ref, label, label if n < candidate_hits[label] else miss_to[label]))
    return current, candidate


# --------------------------------------------------------------------------- expected results, computed here


def expected_scores(rows: Iterable[Row]) -> dict[str, Any]:
    """Per-queue precision, recall, F1 and support, accuracy and confusion counts, by counting."""
    rows = list(rows)
    confusion = Counter((label, predicted) for _ref, label, predicted in rows)
    per_class: dict[str, dict[str, float]] = {}
    for queue in QUEUES:
        hits = confusion[(queue, queue)]
        support = sum(1 for _ref, label, _p in rows if label == queue)
        predicted = sum(1 for _ref, _l, p in rows if p == queue)
        precision = hits / predicted if predicted else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[queue] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    accuracy = sum(1 for _ref, label, predicted in rows if label == predicted) / len(rows)
    return {"per_class": per_class, "accuracy": accuracy, "confusion": confusion}


def expected_gate(current: list[Row], candidate: list[Row], margin: float) -> dict[str, Any]:
    """The verdict the brief's rule gives: failing queues, whether accuracy fell, the changes."""
    before, after = expected_scores(current), expected_scores(candidate)
    change = {q: after["per_class"][q]["recall"] - before["per_class"][q]["recall"] for q in QUEUES}
    # Counts, not floats, decide: a drop of k of n tickets is k/n; equal to the margin passes.
    failing = [q for q in QUEUES if -change[q] > margin + TOLERANCE]
    accuracy_change = after["accuracy"] - before["accuracy"]
    accuracy_fell = accuracy_change < -TOLERANCE
    return {
        "ships": not failing and not accuracy_fell,
        "failing": failing,
        "accuracy_fell": accuracy_fell,
        "recall_change": change,
        "accuracy_change": accuracy_change,
    }


def iso_label(moment: str) -> str:
    """The ISO 8601 week label of a 'YYYY-MM-DD HH:MM:SS' moment, e.g. 2026-W07."""
    year, week, _day = dt.datetime.strptime(moment, "%Y-%m-%d %H:%M:%S").isocalendar()
    return f"{year}-W{week:02d}"


def expected_drift(
    rows: Iterable[tuple[str, str, str]],
    reference: str,
    *,
    threshold: float = DEFAULTS["drift_threshold"],
    epsilon: float = DEFAULTS["drift_epsilon"],
    min_tickets: int = DEFAULTS["drift_min_tickets"],
) -> list[dict[str, Any]]:
    """One dict per ISO week, oldest first: week, tickets, psi (None when not judged), drifted."""
    counts: dict[str, Counter[str]] = {}
    for _ref, moment, queue in rows:
        counts.setdefault(iso_label(moment), Counter())[queue] += 1

    def shares(week: str) -> dict[str, float]:
        total = sum(counts[week].values())
        return {q: (counts[week][q] / total) or epsilon for q in QUEUES}

    base = shares(reference)
    result = []
    for week in sorted(counts):
        tickets = sum(counts[week].values())
        psi: float | None
        if week == reference:
            psi = 0.0
        elif tickets < min_tickets:
            psi = None
        else:
            mine = shares(week)
            psi = sum((mine[q] - base[q]) * math.log(mine[q] / base[q]) for q in QUEUES)
        result.append({"week": week, "tickets": tickets, "psi": psi, "drifted": psi is not None and psi > threshold})
    return result


# --------------------------------------------------------------------------- values


def is_missing(value: Any) -> bool:
    """NaN, None and pd.NA are all missing values."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def is_number(value: Any) -> bool:
    """A real number (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def close(value: Any, expected: float) -> bool:
    return is_number(value) and not is_missing(value) and math.isclose(float(value), expected, abs_tol=1e-6)


def same_count(value: Any, expected: int) -> bool:
    return is_number(value) and not is_missing(value) and float(value) == expected


def is_flag(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def shown(value: Any) -> str:
    if is_missing(value):
        return "a missing value"
    if is_number(value):
        return f"{float(value):.4g}"
    return repr(value)


def ratio(value: float) -> str:
    return f"{value:.4g}"


# --------------------------------------------------------------------------- calling the learner's code


def function(learner: Any, module_name: str, name: str, signature: str) -> Callable[..., Any]:
    """`module_name.name`, failing clearly when the module or the function is missing."""
    try:
        module = learner.load(module_name)
    except RemoteError as err:
        # Only the missing module itself is reported here; an import error inside it is the learner's bug.
        if not (err.is_a("ModuleNotFoundError") and f"'{module_name}'" in err.text):
            raise
        expect(
            False,
            observed=f"there is no module {module_name}",
            expected=f"{module_name} with {signature}",
            hint=f"Create {module_name.replace('.', '/')}.py; it may call code you put in other modules.",
        )
    found = getattr(module, name, None)
    expect(
        callable(found),
        observed=f"{module_name} has no function {name}",
        expected=f"{module_name}.{signature}, as the brief describes it",
        hint=f"Define {name} in {module_name.replace('.', '/')}.py, or import it there.",
    )
    return found  # type: ignore[return-value]


def settings_with(learner: Any, **fields: Any) -> Any:
    """Settings(**fields), failing clearly when a field of the brief is missing."""
    settings_cls = learner.load("helpdesk.config").Settings
    try:
        inspect.signature(settings_cls).bind(**fields)
    except TypeError as err:
        listed = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        expect(
            False,
            observed=f"Settings({listed}) is refused ({err})",
            expected="Settings has the fields gate_recall_margin (0.05), drift_threshold (0.2), "
            "drift_epsilon (0.0001) and drift_min_tickets (50), besides the existing ones",
            hint="Add the four fields, with these defaults, to the Settings dataclass in helpdesk/config.py.",
        )
    return settings_cls(**fields)


def attribute(obj: Any, name: str, what: str, expected: str) -> Any:
    """`obj.name`, failing clearly when it is missing."""
    missing = object()
    value = getattr(obj, name, missing)
    expect(
        value is not missing,
        observed=f"{what} has no attribute `{name}`",
        expected=expected,
        hint="Return an object with the attributes the brief lists (a dataclass, say).",
    )
    return value


# --------------------------------------------------------------------------- score()


def call_score(learner: Any, rows: list[Row]) -> Any:
    """`score(predictions)` on a frame built from `rows`."""
    score = function(learner, "helpdesk.evaluation", "score", "score(predictions) -> Scores")
    return score(prediction_frame(rows))


def per_class_table(scores: Any) -> pd.DataFrame:
    """`scores.per_class`: a frame indexed by the five queues, in the Queue order, with the four columns."""
    table = attribute(scores, "per_class", "the result of score()",
                      "per_class: a DataFrame indexed by queue with precision, recall, f1 and support")
    expect(
        isinstance(table, pd.DataFrame),
        observed=f"per_class is a {type(table).__name__}",
        expected="per_class is a pandas DataFrame",
        hint="One row per queue, the columns precision, recall, f1 and support.",
    )
    missing = [c for c in ("precision", "recall", "f1", "support") if c not in table.columns]
    expect(
        not missing,
        observed=f"per_class has the columns {list(table.columns)}",
        expected="per_class has (at least) the columns precision, recall, f1 and support",
        hint="Name the columns exactly precision, recall, f1 and support.",
    )
    index = [str(v) for v in table.index]
    expect(
        index == QUEUES,
        observed=f"per_class is indexed by {index}",
        expected=f"per_class is indexed by the five queues, in the order of Queue: {QUEUES}, "
        "also a queue that no ticket has",
        hint="Index the table by the queue values; list every queue, in the enum's order, even one without "
        "a ticket or a prediction. Grouping or crosstab keeps only the values it sees, sorted by name.",
    )
    return table


def confusion_table(scores: Any) -> pd.DataFrame:
    table = attribute(scores, "confusion", "the result of score()",
                      "confusion: a DataFrame, one row per true label and one column per predicted queue")
    expect(
        isinstance(table, pd.DataFrame),
        observed=f"confusion is a {type(table).__name__}",
        expected="confusion is a pandas DataFrame",
        hint="Rows: the golden label; columns: the predicted queue; cells: how many tickets.",
    )
    return table


# --------------------------------------------------------------------------- release_gate()


def call_gate(learner: Any, current: list[Row], candidate: list[Row], settings: Any) -> Any:
    gate = function(learner, "helpdesk.evaluation", "release_gate",
                    "release_gate(current, candidate, settings=None) -> GateReport")
    return gate(prediction_frame(current), prediction_frame(candidate), settings=settings)


def queues_named(reason: str) -> list[str]:
    return [q for q in QUEUES if re.search(rf"\b{q}\b", reason.lower())]


def read_gate(report: Any) -> dict[str, Any]:
    """The gate report's four fields as plain values, failing clearly on a wrong shape."""
    expect_fields = "ships (bool), reasons (list of str), recall_change (dict queue -> float), accuracy_change"
    ships = attribute(report, "ships", "the gate's report", expect_fields)
    reasons = attribute(report, "reasons", "the gate's report", expect_fields)
    recall_change = attribute(report, "recall_change", "the gate's report", expect_fields)
    accuracy_change = attribute(report, "accuracy_change", "the gate's report", expect_fields)
    expect(
        is_flag(ships),
        observed=f"ships is {ships!r}",
        expected="ships is True or False",
        hint="ships: whether the candidate may be released.",
    )
    expect(
        isinstance(reasons, list | tuple) and all(isinstance(r, str) for r in reasons),
        observed=f"reasons is {reasons!r}",
        expected="reasons is a list of strings (empty when the candidate ships)",
        hint="One sentence per broken criterion.",
    )
    if isinstance(recall_change, pd.Series):
        recall_change = recall_change.to_dict()
    expect(
        isinstance(recall_change, dict) and sorted(str(k) for k in recall_change) == sorted(QUEUES),
        observed=f"recall_change is {recall_change!r}",
        expected="recall_change maps each of the five queues (their values, e.g. 'shipping') to a number",
        hint="recall_change[queue] = the candidate's recall minus the current prompt's, for every queue.",
    )
    return {
        "ships": bool(ships),
        "reasons": list(reasons),
        "recall_change": {str(k): v for k, v in recall_change.items()},
        "accuracy_change": accuracy_change,
    }


def expect_verdict(observed: dict[str, Any], expected: dict[str, Any], scenario: str) -> None:
    """Compare the learner's gate report with the expected verdict of one scenario."""
    wanted = expected["failing"] + (["overall accuracy"] if expected["accuracy_fell"] else [])
    why = ", ".join(f"{q} {ratio(expected['recall_change'][q])}" for q in QUEUES)
    expect(
        observed["ships"] == expected["ships"],
        observed=f"{scenario}: ships={observed['ships']} (reasons: {observed['reasons'] or 'none'})",
        expected=f"ships={expected['ships']}"
        + (f", because of {', '.join(wanted)}" if wanted else ", nothing is broken")
        + f" (recall changes: {why}; accuracy change {ratio(expected['accuracy_change'])})",
        hint="The candidate ships only if no queue's recall drops by more than gate_recall_margin (an "
        "absolute difference of recall; a drop equal to the margin passes) and overall accuracy does not fall.",
    )
    wrong = {q: v for q, v in observed["recall_change"].items() if not close(v, expected["recall_change"][q])}
    expect(
        not wrong,
        observed=f"{scenario}: recall_change " + ", ".join(f"{q} {shown(v)}" for q, v in wrong.items()),
        expected="recall_change = candidate recall minus current recall: " + why,
        hint="Compute each queue's recall in both runs and subtract (candidate minus current).",
    )
    expect(
        close(observed["accuracy_change"], expected["accuracy_change"]),
        observed=f"{scenario}: accuracy_change {shown(observed['accuracy_change'])}",
        expected=f"accuracy_change = candidate accuracy minus current accuracy: {ratio(expected['accuracy_change'])}",
        hint="Accuracy is the share of golden tickets predicted right.",
    )
    about_queues: list[str] = []
    about_accuracy = 0
    unclear: list[str] = []
    for reason in observed["reasons"]:
        named = queues_named(reason)
        if len(named) == 1:
            about_queues.append(named[0])
        elif not named and "accuracy" in reason.lower():
            about_accuracy += 1
        else:
            unclear.append(reason)
    expect(
        not unclear,
        observed=f"{scenario}: reasons that name {'several queues' if unclear else ''} or nothing the gate "
        f"judges: {unclear}",
        expected="one reason per broken criterion: a queue's reason names that queue (e.g. 'shipping') and no "
        "other; the accuracy reason says 'accuracy' and names no queue",
        hint="Write one sentence for each queue whose recall dropped too far, and one if accuracy fell.",
    )
    expect(
        sorted(about_queues) == sorted(expected["failing"]) and about_accuracy == int(expected["accuracy_fell"]),
        observed=f"{scenario}: the reasons are about "
        + (", ".join(about_queues + ["accuracy"] * about_accuracy) or "nothing"),
        expected="reasons about " + (", ".join(wanted) or "nothing (the candidate ships, reasons is empty)"),
        hint="The report says why: exactly one reason for each queue whose recall dropped by more than the "
        "margin, and one when overall accuracy fell; none otherwise.",
    )


# --------------------------------------------------------------------------- weekly_drift()


def call_drift(learner: Any, rows: list[tuple[str, str, str]], reference: str, settings: Any) -> pd.DataFrame:
    drift = function(learner, "helpdesk.monitoring", "weekly_drift",
                     "weekly_drift(log, reference_week, settings=None) -> DataFrame")
    result = drift(log_frame(rows), reference, settings=settings)
    expect(
        isinstance(result, pd.DataFrame),
        observed=f"weekly_drift returned {type(result).__name__}",
        expected="a pandas DataFrame with the columns week, tickets, psi and drifted",
        hint="One row per ISO week of the log, oldest first.",
    )
    missing = [c for c in ("week", "tickets", "psi", "drifted") if c not in result.columns]
    expect(
        not missing,
        observed=f"weekly_drift's frame has the columns {list(result.columns)}",
        expected="the columns week, tickets, psi and drifted",
        hint="Name the columns exactly week, tickets, psi and drifted.",
    )
    return result


def drift_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: record[k] for k in ("week", "tickets", "psi", "drifted")} for record in frame.to_dict("records")]


def expect_weeks(observed: list[dict[str, Any]], expected: list[dict[str, Any]], scenario: str) -> None:
    """The same ISO weeks, oldest first, with the same ticket counts."""
    weeks = [str(r["week"]) for r in observed]
    expect(
        weeks == [r["week"] for r in expected],
        observed=f"{scenario}: weeks {weeks}",
        expected=f"one row per ISO week of the log, oldest first: {[r['week'] for r in expected]}",
        hint="ISO 8601 weeks run Monday to Sunday and are labelled with the ISO year: Monday 29 December 2025 "
        "is in 2026-W01. Label them YYYY-Www (two digits).",
    )
    counts = [(r["week"], r["tickets"]) for r, e in zip(observed, expected, strict=True)
              if not same_count(r["tickets"], e["tickets"])]
    expect(
        not counts,
        observed=f"{scenario}: tickets " + ", ".join(f"{w} {shown(n)}" for w, n in counts),
        expected="tickets = the log's rows in that week: "
        + ", ".join(f"{e['week']} {e['tickets']}" for e in expected),
        hint="Count every row of the log in the week of its routed_at.",
    )


def expect_psi(observed: list[dict[str, Any]], expected: list[dict[str, Any]], scenario: str) -> None:
    """psi values (or missing for weeks not judged) and drifted flags as computed here."""
    pairs = list(zip(observed, expected, strict=True))
    judged_small = [f"{e['week']} ({e['tickets']} tickets) {shown(r['psi'])}" for r, e in pairs
                    if e["psi"] is None and not is_missing(r["psi"])]
    expect(
        not judged_small,
        observed=f"{scenario}: psi " + "; ".join(judged_small),
        expected="a missing psi (not judged) for a week with fewer than drift_min_tickets tickets",
        hint="A week with fewer than drift_min_tickets tickets (read from the settings) is not judged: its psi "
        "is a missing value (NaN) and it is not drifted.",
    )
    bad_psi = [f"{e['week']} {shown(r['psi'])}, expected {e['psi']:.6f}" for r, e in pairs
               if e["psi"] is not None and not close(r["psi"], e["psi"])]
    expect(
        not bad_psi,
        observed=f"{scenario}: psi " + "; ".join(bad_psi),
        expected="psi of each week against the reference week's queue shares (0.0 for the reference week)",
        hint="PSI over the five queues with the natural logarithm; a share of 0 counts as drift_epsilon, in "
        "the week and in the reference alike, and the other shares stay as they are.",
    )
    flags = [r["drifted"] for r in observed]
    expect(
        all(is_flag(f) for f in flags),
        observed=f"{scenario}: drifted holds {sorted({repr(f) for f in flags})}",
        expected="drifted is True or False in every row (False for a week not judged)",
        hint="A week not judged is not drifted: False, not a missing value.",
    )
    got = [str(r["week"]) for r in observed if r["drifted"]]
    wanted = [e["week"] for e in expected if e["drifted"]]
    expect(
        got == wanted,
        observed=f"{scenario}: weeks flagged as drifted: {got or 'none'}",
        expected=f"drifted only: {wanted or 'none'} (psi above drift_threshold)",
        hint="A week drifts when its PSI is above drift_threshold; a week with fewer than drift_min_tickets "
        "tickets is not judged.",
    )
