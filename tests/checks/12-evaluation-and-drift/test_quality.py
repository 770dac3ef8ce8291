"""Hidden checks of kata 12, evaluation and drift: golden-set predictions through the model, per-queue
metrics and a confusion table, a release gate between two prompt versions, weekly drift of the routed
queues against a reference week.

The metric and gate checks hand the learner's functions prediction frames built here, from the kit's
golden set and its recorded predictions (`kata_data`) or from synthetic golden sets, and compare what
comes back with what counting gives (quality_support.py). The drift checks do the same with the kit's
routing log and with logs derived from it here (shifted by weeks, a queue left empty). Two checks send
golden tickets to the (replayed) model.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from quality_support import (
    DEFAULTS,
    QUEUES,
    attribute,
    call_drift,
    call_gate,
    call_score,
    close,
    confusion_table,
    drift_rows,
    expect_psi,
    expect_verdict,
    expect_weeks,
    expected_drift,
    expected_gate,
    expected_scores,
    function,
    golden_set,
    is_missing,
    log_rows,
    paired_runs,
    per_class_table,
    read_gate,
    recorded_rows,
    same_count,
    settings_with,
    shown,
)

from kata.checks import RemoteError, check, expect, plain

# --------------------------------------------------------------------------- synthetic data

# An uneven golden set of 50 tickets and its predictions: (label, predicted) -> how many.
UNEVEN = {
    ("billing", "billing"): 11, ("billing", "account"): 2, ("billing", "general"): 1,
    ("technical", "technical"): 7, ("technical", "general"): 3,
    ("account", "account"): 4, ("account", "technical"): 1,
    ("shipping", "shipping"): 12, ("shipping", "billing"): 3, ("shipping", "general"): 2,
    ("general", "general"): 3, ("general", "shipping"): 1,
}
# No golden ticket is labelled general and none is predicted general; account is never predicted.
EMPTY_QUEUES = {
    ("billing", "billing"): 5, ("billing", "technical"): 1,
    ("technical", "technical"): 4, ("technical", "shipping"): 1,
    ("account", "technical"): 3,
    ("shipping", "shipping"): 6, ("shipping", "billing"): 2,
}


def rows_of(counts: dict[tuple[str, str], int], first_ref: int) -> list[tuple[str, str, str]]:
    rows = []
    for (label, predicted), n in counts.items():
        for _ in range(n):
            rows.append((f"TCK-{first_ref + len(rows)}", label, predicted))
    return rows


TWENTY = {queue: 20 for queue in QUEUES}
MISS_TO = {"billing": "general", "technical": "account", "account": "technical", "shipping": "general",
           "general": "billing"}
BASE_HITS = {"billing": 18, "technical": 16, "account": 20, "shipping": 15, "general": 14}


# --------------------------------------------------------------------------- score()


def _expect_per_class(scores: Any, rows: list[tuple[str, str, str]], scenario: str) -> None:
    expected = expected_scores(rows)
    table = per_class_table(scores)
    for queue in QUEUES:
        want = expected["per_class"][queue]
        got = {name: table.at[queue, name] for name in ("precision", "recall", "f1", "support")}
        wrong = [name for name in ("precision", "recall", "f1") if not close(got[name], want[name])]
        if not same_count(got["support"], want["support"]):
            wrong.append("support")
        expect(
            not wrong,
            observed=f"{scenario}: {queue} has " + ", ".join(f"{n} {shown(got[n])}" for n in wrong),
            expected=f"{queue}: " + ", ".join(f"{n} {want[n]:.4g}" for n in wrong)
            + f" ({expected['confusion'][(queue, queue)]} right of {want['support']} labelled {queue}, "
            f"{sum(v for (_l, p), v in expected['confusion'].items() if p == queue)} predicted {queue})",
            hint="precision: of the tickets predicted as the queue, the share labelled so; recall: of the "
            "tickets labelled as the queue, the share predicted so; F1: their harmonic mean; support: how many "
            "tickets the golden set labels with the queue.",
        )
    accuracy = attribute(scores, "accuracy", "the result of score()", "accuracy: the share predicted right")
    expect(
        close(accuracy, expected["accuracy"]),
        observed=f"{scenario}: accuracy {shown(accuracy)}",
        expected=f"accuracy {expected['accuracy']:.4g}: the share of all golden tickets predicted right",
        hint="Accuracy counts every ticket once, whatever its queue: right predictions / all predictions.",
    )


@check(
    "per-class-metrics",
    "Per-queue precision, recall, F1 and support, and overall accuracy",
    points=3,
    cassette="per-class-metrics",
    hint="score(predictions) returns an object whose per_class is a DataFrame indexed by the five queues.",
)
def test_per_class_metrics(learner: Any, kata_data: Path) -> None:
    rows = recorded_rows(kata_data, "v4")
    _expect_per_class(call_score(learner, rows), rows, "the golden set with v4's recorded predictions")
    uneven = rows_of(UNEVEN, 6001)
    _expect_per_class(call_score(learner, uneven), uneven, "another golden set of 50 tickets")


@check(
    "undefined-ratios-are-zero",
    "A queue nobody predicts, or no ticket has, scores 0.0, not a missing value",
    points=1,
    cassette="undefined-ratios-are-zero",
    hint="Where a ratio has nothing to divide by, the brief says 0.0.",
)
def test_undefined_ratios(learner: Any) -> None:
    rows = rows_of(EMPTY_QUEUES, 7001)
    scenario = "a golden set with no general ticket and no account prediction"
    table = per_class_table(call_score(learner, rows))
    for queue, why in (("account", "account is never predicted"), ("general", "no ticket is general")):
        got = {name: table.at[queue, name] for name in ("precision", "recall", "f1")}
        wrong = {n: v for n, v in got.items() if is_missing(v) or not close(v, 0.0)}
        expect(
            not wrong,
            observed=f"{scenario}: {queue} has " + ", ".join(f"{n} {shown(v)}" for n, v in wrong.items()),
            expected=f"{queue}: precision, recall and f1 all 0.0 ({why})",
            hint="A precision with no prediction of the queue, a recall with no ticket of it, and an F1 whose "
            "precision and recall are both 0 are 0.0, not NaN; the row is there all the same.",
        )
    _expect_per_class(call_score(learner, rows), rows, scenario)


@check(
    "confusion-table",
    "The confusion table: a row per golden label, a column per prediction, every queue in order",
    points=2,
    cassette="confusion-table",
    hint="scores.confusion: rows are the golden labels, columns the predicted queues, cells ticket counts.",
)
def test_confusion_table(learner: Any, kata_data: Path) -> None:
    for rows, scenario in (
        (recorded_rows(kata_data, "v4"), "the golden set with v4's recorded predictions"),
        (rows_of(EMPTY_QUEUES, 7001), "a golden set with no general ticket and no account prediction"),
    ):
        table = confusion_table(call_score(learner, rows))
        index, columns = [str(v) for v in table.index], [str(v) for v in table.columns]
        expect(
            index == QUEUES and columns == QUEUES,
            observed=f"{scenario}: rows {index}, columns {columns}",
            expected=f"rows and columns are the five queues in the order of Queue: {QUEUES}, also a queue with "
            "no ticket and no prediction",
            hint="List every queue, in the enum's order, as rows and as columns (0 where no ticket falls).",
        )
        counts = expected_scores(rows)["confusion"]
        wrong = [
            f"[{label}, {predicted}] {shown(table.at[label, predicted])} instead of {counts[(label, predicted)]}"
            for label in QUEUES
            for predicted in QUEUES
            if not same_count(table.at[label, predicted], counts[(label, predicted)])
        ]
        expect(
            not wrong,
            observed=f"{scenario}: cells [row, column] " + "; ".join(wrong[:6]),
            expected="cell [label, predicted] = how many golden tickets with that label got that prediction; "
            "rows are the golden labels",
            hint="Rows: the label (the truth); columns: the prediction. A transposed table swaps what a reader "
            "takes for precision and recall.",
        )


# --------------------------------------------------------------------------- release_gate()


@check(
    "gate-blocks-recall-drop",
    "The gate stops a candidate when a queue's recall drops by more than the margin, and says which",
    points=3,
    cassette="gate-blocks-recall-drop",
    hint="release_gate(current, candidate, settings) compares each queue's recall in the two runs.",
)
def test_gate_blocks_recall_drop(learner: Any, kata_data: Path) -> None:
    settings = settings_with(learner)
    current, candidate = recorded_rows(kata_data, "v3"), recorded_rows(kata_data, "v4")
    report = read_gate(call_gate(learner, current, candidate, settings))
    expect_verdict(report, expected_gate(current, candidate, DEFAULTS["gate_recall_margin"]),
                   "v3 (current) against v4 (candidate) on the golden set, default settings")
    current, candidate = paired_runs(TWENTY, BASE_HITS, {"billing": 16, "technical": 20, "account": 20,
                                                         "shipping": 12, "general": 19}, MISS_TO)
    report = read_gate(call_gate(learner, current, candidate, settings))
    expect_verdict(report, expected_gate(current, candidate, DEFAULTS["gate_recall_margin"]),
                   "a golden set of 100 tickets where billing and shipping lose recall while accuracy rises")


@check(
    "gate-blocks-accuracy-fall",
    "The gate stops a candidate whose overall accuracy falls, even within every queue's margin",
    points=2,
    cassette="gate-blocks-accuracy-fall",
    hint="Besides the recall of each queue, compare the overall accuracy of the two runs.",
)
def test_gate_blocks_accuracy_fall(learner: Any) -> None:
    hits = {"billing": 17, "technical": 14, "account": 19, "shipping": 15, "general": 12}
    current, candidate = paired_runs(TWENTY, hits, {**hits, "billing": 16, "technical": 13, "shipping": 16},
                                     MISS_TO, first_ref=8001)
    report = read_gate(call_gate(learner, current, candidate, settings_with(learner)))
    expect_verdict(report, expected_gate(current, candidate, DEFAULTS["gate_recall_margin"]),
                   "a golden set of 100 tickets where no recall drops by more than 0.05 but accuracy falls")


@check(
    "gate-ships-within-margin",
    "A candidate within the margin everywhere, with the same accuracy, ships (a drop equal to the margin passes)",
    points=2,
    cassette="gate-ships-within-margin",
    hint="A drop equal to the margin passes, and equal accuracy is not a fall; recall differences are floats.",
)
def test_gate_ships_within_margin(learner: Any) -> None:
    current, candidate = paired_runs(TWENTY, BASE_HITS, {**BASE_HITS, "billing": 17, "account": 19,
                                                         "shipping": 16, "general": 15}, MISS_TO)
    report = read_gate(call_gate(learner, current, candidate, settings_with(learner)))
    expect_verdict(report, expected_gate(current, candidate, DEFAULTS["gate_recall_margin"]),
                   "a golden set of 100 tickets: billing 18/20 -> 17/20 and account 20/20 -> 19/20 (drops of "
                   "exactly 0.05), shipping and general one better each, so the same accuracy")


@check(
    "gate-margin-is-configuration",
    "The recall margin comes from Settings.gate_recall_margin",
    points=1,
    cassette="gate-margin-is-configuration",
    hint="Read the margin from the settings you are given; 0.05 is only the default.",
)
def test_gate_margin_is_configuration(learner: Any, kata_data: Path) -> None:
    current, candidate = recorded_rows(kata_data, "v3"), recorded_rows(kata_data, "v4")
    for margin in (0.3, 0.2):
        report = read_gate(call_gate(learner, current, candidate, settings_with(learner, gate_recall_margin=margin)))
        expect_verdict(report, expected_gate(current, candidate, margin),
                       f"v3 against v4 on the golden set with Settings(gate_recall_margin={margin})")


@check(
    "gate-needs-same-golden-set",
    "The gate refuses runs on different golden sets, and does not care about row order",
    points=1,
    cassette="gate-needs-same-golden-set",
    hint="Match the two runs by ref: the same refs with the same labels, in any order; otherwise ValueError.",
)
def test_gate_needs_same_golden_set(learner: Any, kata_data: Path) -> None:
    current, candidate = recorded_rows(kata_data, "v3"), recorded_rows(kata_data, "v4")
    settings = settings_with(learner)
    relabelled = [(ref, "shipping" if ref == "TCK-2004" else label, p) for ref, label, p in candidate]
    for other, what in ((candidate[:-1], f"the candidate run lacks {candidate[-1][0]}"),
                        (relabelled, "the candidate run labels TCK-2004 shipping instead of general")):
        try:
            call_gate(learner, current, other, settings)
        except RemoteError as err:
            expect(
                err.is_a("ValueError"),
                observed=f"{what}: release_gate raised {err.type_name}: {err.text}",
                expected="a ValueError saying the runs are not on the same golden set",
                hint="Compare the refs and labels of the two frames first and raise ValueError when they differ.",
            )
        else:
            expect(
                False,
                observed=f"{what}: release_gate gave a verdict",
                expected="a ValueError: two runs on different golden sets cannot be compared",
                hint="Compare the refs and labels of the two frames first and raise ValueError when they differ.",
            )
    shuffled = candidate[::-1]
    report = read_gate(call_gate(learner, current, shuffled, settings))
    expect_verdict(report, expected_gate(current, candidate, DEFAULTS["gate_recall_margin"]),
                   "v3 against v4 with the candidate's rows in reverse order")


# --------------------------------------------------------------------------- weekly_drift()

REFERENCE = "2026-W02"


@check(
    "drift-weeks-and-counts",
    "One row per ISO week of the log, oldest first, with its ticket count",
    points=2,
    cassette="drift-weeks-and-counts",
    hint="weekly_drift(log, reference_week, settings) returns one row per ISO 8601 week (Monday to Sunday).",
)
def test_drift_weeks_and_counts(learner: Any, kata_data: Path) -> None:
    rows = log_rows(kata_data)
    observed = drift_rows(call_drift(learner, rows, REFERENCE, settings_with(learner)))
    expect_weeks(observed, expected_drift(rows, REFERENCE), f"the routing log, reference week {REFERENCE}")


@check(
    "drift-flags-drifted-week",
    "On the routing log, the PSI of every week, and only the drifted week flagged",
    points=3,
    cassette="drift-flags-drifted-week",
    hint="Compare each week's queue shares with the reference week's by PSI; flag the weeks above the threshold.",
)
def test_drift_flags_drifted_week(learner: Any, kata_data: Path) -> None:
    rows = log_rows(kata_data)
    expected = expected_drift(rows, REFERENCE)
    observed = drift_rows(call_drift(learner, rows, REFERENCE, settings_with(learner)))
    scenario = f"the routing log, reference week {REFERENCE}, default settings"
    expect_weeks(observed, expected, scenario)
    expect_psi(observed, expected, scenario)


def _shifted(rows: list[tuple[str, str, str]], days: int) -> list[tuple[str, str, str]]:
    moved = []
    for ref, moment, queue in rows:
        when = dt.datetime.strptime(moment, "%Y-%m-%d %H:%M:%S") + dt.timedelta(days=days)
        moved.append((ref, when.strftime("%Y-%m-%d %H:%M:%S"), queue))
    return moved


@check(
    "drift-on-shifted-log",
    "On another log (three weeks later, another reference, a lower threshold) the right weeks are flagged",
    points=2,
    cassette="drift-on-shifted-log",
    hint="Nothing about the kit's log may be built in: weeks, reference and threshold come from the arguments.",
)
def test_drift_on_shifted_log(learner: Any, kata_data: Path) -> None:
    rows = _shifted(log_rows(kata_data), 21)
    reference = "2026-W05"
    expected = expected_drift(rows, reference, threshold=0.1)
    observed = drift_rows(call_drift(learner, rows, reference, settings_with(learner, drift_threshold=0.1)))
    scenario = f"the routing log three weeks later, reference week {reference}, Settings(drift_threshold=0.1)"
    expect_weeks(observed, expected, scenario)
    expect_psi(observed, expected, scenario)


def _week_rows(monday: dt.date, counts: tuple[int, ...], first_ref: int) -> list[tuple[str, str, str]]:
    rows = []
    for queue, n in zip(QUEUES, counts, strict=True):
        for i in range(n):
            moment = dt.datetime.combine(monday, dt.time(8)) + dt.timedelta(minutes=123 * i + 7 * len(rows))
            rows.append((f"TCK-{first_ref + len(rows)}", moment.strftime("%Y-%m-%d %H:%M:%S"), queue))
    return sorted(rows, key=lambda r: r[1])


@check(
    "drift-zero-share-uses-epsilon",
    "A queue without a ticket in a week counts as a share of drift_epsilon",
    points=1,
    cassette="drift-zero-share-uses-epsilon",
    hint="A share of 0 would make the logarithm infinite: count it as drift_epsilon instead.",
)
def test_drift_zero_share(learner: Any) -> None:
    rows = (
        _week_rows(dt.date(2026, 3, 2), (20, 20, 10, 20, 10), 9001)
        + _week_rows(dt.date(2026, 3, 9), (25, 25, 0, 20, 10), 9101)
        + _week_rows(dt.date(2026, 3, 16), (20, 20, 10, 20, 10), 9201)
    )
    reference = "2026-W10"
    for fields in ({}, {"drift_epsilon": 0.001}):
        epsilon = fields.get("drift_epsilon", DEFAULTS["drift_epsilon"])
        expected = expected_drift(rows, reference, epsilon=epsilon)
        observed = drift_rows(call_drift(learner, rows, reference, settings_with(learner, **fields)))
        scenario = f"three weeks of 80 tickets, no account ticket in 2026-W11, reference {reference}, " + (
            "Settings(drift_epsilon=0.001)" if fields else "default settings (drift_epsilon=0.0001)"
        )
        expect_weeks(observed, expected, scenario)
        expect_psi(observed, expected, scenario)


@check(
    "drift-small-weeks-not-judged",
    "A week with fewer than drift_min_tickets tickets is not judged",
    points=1,
    cassette="drift-small-weeks-not-judged",
    hint="Below drift_min_tickets, a week's psi is a missing value and it is not drifted.",
)
def test_drift_small_weeks(learner: Any, kata_data: Path) -> None:
    rows = log_rows(kata_data)
    for fields in ({}, {"drift_min_tickets": 20}):
        minimum = fields.get("drift_min_tickets", DEFAULTS["drift_min_tickets"])
        expected = expected_drift(rows, REFERENCE, min_tickets=minimum)
        observed = drift_rows(call_drift(learner, rows, REFERENCE, settings_with(learner, **fields)))
        scenario = f"the routing log, reference {REFERENCE}, " + (
            f"Settings(drift_min_tickets={minimum})" if fields else "default settings (drift_min_tickets=50)"
        )
        expect_weeks(observed, expected, scenario)
        small = [e["week"] for e in expected if e["tickets"] < 50]
        by_week = {str(r["week"]): r for r in observed}
        for week in small:
            want = next(e for e in expected if e["week"] == week)
            got = by_week[week]
            judged = not is_missing(got["psi"])
            expect(
                judged == (want["psi"] is not None) and bool(got["drifted"]) == want["drifted"],
                observed=f"{scenario}: {week} ({want['tickets']} tickets) has psi {shown(got['psi'])} and "
                f"drifted={got['drifted']!r}",
                expected=f"{week}: "
                + (f"psi {want['psi']:.4f}, drifted={want['drifted']}" if want["psi"] is not None
                   else "psi missing (not judged), drifted=False"),
                hint="Judge a week only when it has at least drift_min_tickets tickets; read the minimum from "
                "the settings.",
            )
        expect_psi(observed, expected, scenario)


@check(
    "drift-reference-week-required",
    "A reference week without tickets is refused",
    points=1,
    cassette="drift-reference-week-required",
    hint="Raise ValueError when the reference week is not in the log.",
)
def test_drift_reference_required(learner: Any, kata_data: Path) -> None:
    rows = log_rows(kata_data)
    try:
        result = call_drift(learner, rows, "2026-W11", settings_with(learner))
    except RemoteError as err:
        expect(
            err.is_a("ValueError"),
            observed=f"weekly_drift(log, '2026-W11') raised {err.type_name}: {err.text}",
            expected="a ValueError: the log has no ticket in 2026-W11",
            hint="Check that the reference week is one of the log's weeks before comparing anything with it.",
        )
    else:
        expect(
            False,
            observed=f"weekly_drift(log, '2026-W11') returned {len(result)} rows",
            expected="a ValueError: the log (2026-W01 to 2026-W10) has no ticket in 2026-W11",
            hint="Without the reference week's shares there is nothing to compare with: raise ValueError.",
        )


# --------------------------------------------------------------------------- predict_queues(): the model

# As scripted in fixtures/12-evaluation-and-drift/standin.toml: ref -> (v3 answer, v4 answer).
SAMPLE = ["TCK-1842", "TCK-1855", "TCK-2122", "TCK-2355"]
SAMPLE_EXPECTED = {
    # v3: TCK-2355's answer (technical) is below the confidence threshold: the rules' queue (billing).
    "v3": ["billing", "shipping", "account", "billing"],
    # v4: TCK-2122's answer is a refusal: the rules' queue (general).
    "v4": ["billing", "general", "general", "technical"],
}
SAMPLE_WHY = {
    "v3": "TCK-2355: the model says technical with confidence 0.4, below the threshold, so the keyword rules "
    "decide (billing)",
    "v4": "TCK-2122: the model refuses, so the keyword rules decide (general)",
}
EVALUATION_MODEL = "gpt-4.1-mini"
MAX_TIMEOUT_S = 30.0


def _system_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages", []):
        if isinstance(message, dict) and message.get("role") in ("system", "developer"):
            content = message.get("content")
            parts.append(content if isinstance(content, str) else str(content))
    return "\n".join(parts)


@check(
    "golden-set-predictions",
    "predict_queues asks the model once per golden ticket with the chosen prompt and routes like the service",
    points=3,
    cassette="golden-set-predictions",
    hint="One chat.completions.parse request per golden ticket, with PROMPTS[prompt_version] as the system "
    "prompt, then the service's decision (confidence threshold, keyword rules as the fallback).",
)
def test_golden_set_predictions(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path) -> None:
    golden = golden_set(kata_data)
    sample = golden[golden["ref"].isin(SAMPLE)]
    sample = sample.set_index("ref", drop=False).loc[SAMPLE].set_index(pd.Index([22, 0, 18, 13]))
    labels = dict(zip(golden["ref"], golden["label"], strict=True))
    prompts = learner.load("helpdesk.classifier").PROMPTS
    predict = function(learner, "helpdesk.evaluation", "predict_queues",
                       "predict_queues(golden, client, settings=None, prompt_version=None) -> DataFrame")
    settings = settings_with(learner, model=EVALUATION_MODEL)
    client = openai_client()
    for version, kwargs in (("v3", {}), ("v4", {"prompt_version": "v4"})):
        before = len(sent_requests)
        result = predict(sample, client, settings=settings, **kwargs)
        sent = sent_requests[before:]
        call = "predict_queues(sample, client, settings)" if not kwargs else \
            "predict_queues(sample, client, settings, prompt_version='v4')"
        asked = [r.records for r in sent]
        expect(
            sorted(asked) == [(ref,) for ref in sorted(SAMPLE)],
            observed=f"{call} sent {len(sent)} requests, about {[', '.join(a) or 'no ref' for a in asked]}",
            expected=f"one request per golden ticket, each about one ticket (its ref in the user message): "
            f"{', '.join(SAMPLE)}",
            hint="Ask the model once per row of the golden frame you are given, with that ticket's ref.",
        )
        for request in sent:
            expect(
                request.model == EVALUATION_MODEL and request.structured
                and tuple(request.schema_fields) == ("confidence", "queue"),
                observed=f"{call}: the request about {request.records[0]} used model {request.model!r}, "
                + (f"schema fields {list(request.schema_fields)}" if request.structured else "plain text"),
                expected=f"the service's request: model settings.model ({EVALUATION_MODEL!r} here), structured "
                "output with the fields queue and confidence",
                hint="Reuse the service's classifier, built with settings.model.",
            )
            expect(
                prompts[version] in _system_text(request.body),
                observed=f"{call}: the request about {request.records[0]} does not carry the system prompt "
                f"PROMPTS[{version!r}]",
                expected=f"the system prompt of version {version}"
                + (" (settings.prompt_version, as no version was given)" if not kwargs else ""),
                hint="The prompt version decides the system prompt: PROMPTS[prompt_version], or "
                "PROMPTS[settings.prompt_version] when prompt_version is None.",
            )
        expect(
            isinstance(result, pd.DataFrame) and {"ref", "label", "predicted"} <= set(result.columns),
            observed=f"{call} returned "
            + (f"a frame with the columns {list(result.columns)}" if isinstance(result, pd.DataFrame)
               else type(result).__name__),
            expected="a DataFrame with the columns ref, label and predicted",
            hint="One row per golden ticket: its ref, its golden label and the queue predicted for it.",
        )
        got = [(str(r["ref"]), str(r["label"]), plain(r["predicted"])) for r in result.to_dict("records")]
        want = [(ref, labels[ref], queue) for ref, queue in zip(SAMPLE, SAMPLE_EXPECTED[version], strict=True)]
        expect(
            [(ref, label) for ref, label, _p in got] == [(ref, label) for ref, label, _p in want],
            observed=f"{call}: the rows are {[(ref, label) for ref, label, _p in got]}",
            expected=f"the golden tickets in the order given, with their labels: {[(r, lab) for r, lab, _ in want]}",
            hint="Keep one row per golden ticket, in the frame's order, with the label it came with.",
        )
        empty = [ref for ref, _label, p in got if is_missing(p) or p == ""]
        expect(
            not empty,
            observed=f"{call}: no prediction for {', '.join(empty)}",
            expected="a queue on every row: the service always routes a ticket somewhere",
            hint="The sample handed to you is not indexed 0..n-1. A column built from a fresh list or Series is "
            "aligned on the index, not by position; build the result from plain lists (or reset the index). A "
            "refusal is not 'no prediction' either: the service falls back to the keyword rules.",
        )
        wrong = [f"{ref}: {shown(p)} instead of {q!r}" for (ref, _l, p), (_r, _lab, q) in zip(got, want, strict=True)
                 if p != q]
        expect(
            not wrong,
            observed=f"{call}: predicted " + "; ".join(wrong),
            expected=f"the queue the service would route each ticket to with prompt {version}: "
            f"{SAMPLE_EXPECTED[version]} ({SAMPLE_WHY[version]})",
            hint="Predict what the service does: the model's queue when its answer is usable and at least "
            "confidence_threshold sure, otherwise the keyword rules' queue.",
        )


@check(
    "requests-have-a-timeout",
    "Evaluation requests have a time-out shorter than the SDK's default",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Give every evaluation request a read time-out of at most 30 seconds, whatever client you are given.",
)
def test_requests_have_a_timeout(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path
) -> None:
    golden = golden_set(kata_data)
    predict = function(learner, "helpdesk.evaluation", "predict_queues",
                       "predict_queues(golden, client, settings=None, prompt_version=None) -> DataFrame")
    # The client a caller builds with openai.OpenAI(): the SDK's own 600 s time-out, unless the call sets one.
    predict(golden[golden["ref"] == "TCK-2279"], openai_client(sdk_defaults=True), settings=settings_with(learner),
            prompt_version="v3")
    expect(
        len(sent_requests) > 0,
        observed="predict_queues sent no request about TCK-2279",
        expected=f"one request about TCK-2279, with a read time-out of at most {MAX_TIMEOUT_S:g} s",
        hint="Ask the model about every golden ticket, through the client you are given.",
    )
    for request in sent_requests:
        timeout = request.timeout
        expect(
            timeout is not None and 0 < timeout <= MAX_TIMEOUT_S,
            observed="the request about " + (", ".join(request.records) or "no ticket") + " was sent with "
            + ("no time-out at all" if timeout is None else f"a {timeout:g} s time-out")
            + ", from a client built like openai.OpenAI()",
            expected=f"a read time-out of at most {MAX_TIMEOUT_S:g} s on every evaluation request",
            hint="A client made with openai.OpenAI() waits up to 600 s for an answer: one stuck call would hold "
            "the release pipeline for ten minutes. Set a shorter time-out yourself.",
        )
