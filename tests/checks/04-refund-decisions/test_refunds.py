"""Hidden checks of kata 04, refund decisions: the model recommends, the business rules decide.

Each check builds its own database in `tmp_path`, so refund refs start at RF-1001 (the repository assigns
RF-{1000 + id}). Every refund is on an order of its own. No check can pass on the old rules alone: each
has a request the legacy rules decide differently (they approve every small refund without reading the
reason), or observes audit columns (recommendation, override_rule) that only the change writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from refund_support import (
    DEFAULT_MODEL,
    DEFAULT_PROMPT_VERSION,
    SCHEMA_FIELDS,
    STATUS_OF,
    all_audit_rows,
    audit_rows,
    expect_outcome,
    last_row,
    make_desk,
    only_row,
    queue_refs,
    repository,
    request,
    same_confidence,
    show_row,
    status,
    stored_status,
)

from kata.checks import check, expect

NO_ANSWER_ROW_HINT = (
    "A request without a usable recommendation is still a decision: write its one audit row (decision "
    "'escalate', override_rule 'model_unavailable', recommendation and confidence NULL) and commit it."
)

# --------------------------------------------------------------------------- checks


@check(
    "confident-recommendation-decides",
    "A confident recommendation within the rules decides: approve, deny or escalate",
    points=3,
    cassette="confident-recommendation-decides",
    hint="Ask the model through the injected client with chat.completions.parse and act on its recommendation.",
)
def test_confident_recommendation_decides(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    cases = [
        (34.90, "The kettle arrived with a cracked lid, photo attached. I would like my money back.", "approve"),
        (45.00, "I wore the jacket to a wedding last Saturday and don't need it any more. Please refund it.", "deny"),
        (25.00, "Tracking says the parcel went to my neighbour, she says she never got it. Refund please.",
         "escalate"),
    ]
    refunds = []
    for amount, reason, recommended in cases:
        refund = request(learner, desk, amount, reason)
        refunds.append(refund)
        expect(
            status(refund) == STATUS_OF[recommended],
            observed=f"{refund.ref} ({amount:.2f} EUR, no fraud flag) came back with status {status(refund)!r}; "
            f"the model recommended {recommended!r} with confidence 0.8 or more (the old rules would approve it)",
            expected=f"{STATUS_OF[recommended]!r}, as the model recommended",
            hint="Within the limit, without a fraud flag and with enough confidence, the recommendation stands.",
        )
        expect(
            stored_status(learner, db, refund.id) == status(refund),
            observed=f"after reopening the database {refund.ref} has status "
            f"{stored_status(learner, db, refund.id)!r}, while request_refund returned {status(refund)!r}",
            expected="the decided status is stored",
            hint="Update the refund request's status in the database when the decision is made, and commit.",
        )
    escalated = refunds[2].ref
    expect(
        queue_refs(desk) == [escalated],
        observed=f"the review queue holds {queue_refs(desk)}",
        expected=f"[{escalated!r}]: only the request the model escalated waits for a human",
        hint="An escalated request has status 'in_review', which is what review_queue() lists.",
    )


@check(
    "limit-overrides-approve",
    "Above the auto-approve limit an 'approve' goes to the review queue, overridden by auto_approve_limit",
    points=3,
    cassette="limit-overrides-approve",
    hint="Compare the amount with settings.auto_approve_limit after the model has answered.",
)
def test_limit_overrides_approve(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    over = request(learner, desk, 120.00, "The sofa cover ripped at the seam on the first wash. Refund for the "
                   "cover please.", total=300.0)
    expect_outcome(
        over, last_row(db, over), decision="escalate", recommendation="approve", override_rule="auto_approve_limit",
        situation="120.00 EUR, limit 50.00, the model said 'approve' with confidence 0.96",
        hint="A refund above the auto-approve limit is never approved automatically, whatever the model says: "
        "escalate it and record override_rule='auto_approve_limit'.",
    )
    expect(
        over.ref in queue_refs(desk),
        observed=f"the review queue holds {queue_refs(desk)}",
        expected=f"{over.ref} waits in the review queue",
        hint="Escalated requests are stored with status 'in_review'.",
    )
    at_limit = request(learner, desk, 50.00, "Headphones: the left side crackles. Asking for a refund.")
    expect_outcome(
        at_limit, last_row(db, at_limit), decision="approve", recommendation="approve", override_rule=None,
        situation="exactly 50.00 EUR, limit 50.00, the model said 'approve' with confidence 0.93",
        hint="Only amounts above the limit are stopped: an amount equal to the limit can be approved.",
    )


@check(
    "limit-is-configuration",
    "The auto-approve limit comes from Settings",
    points=1,
    cassette="limit-is-configuration",
    hint="Read settings.auto_approve_limit; the constant in rules.py is only the old default.",
)
def test_limit_is_configuration(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client(), auto_approve_limit=150.0)
    under = request(learner, desk, 120.00, "The robot vacuum's battery no longer charges after three weeks.",
                    total=300.0)
    expect_outcome(
        under, last_row(db, under), decision="approve", recommendation="approve", override_rule=None,
        situation="120.00 EUR with Settings(auto_approve_limit=150.0), the model said 'approve' (0.95)",
        hint="Use the limit of the Settings the desk was given, not rules.AUTO_APPROVE_LIMIT.",
    )
    over = request(learner, desk, 180.00, "The espresso machine leaks from the boiler.", total=300.0)
    expect_outcome(
        over, last_row(db, over), decision="escalate", recommendation="approve", override_rule="auto_approve_limit",
        situation="180.00 EUR with Settings(auto_approve_limit=150.0), the model said 'approve' (0.95)",
        hint="Compare with settings.auto_approve_limit: above it, an approval is escalated.",
    )


@check(
    "fraud-flag-overrides-approve",
    "With a fraud flag an 'approve' goes to the review queue, overridden by fraud_flag",
    points=3,
    cassette="fraud-flag-overrides-approve",
    hint="Look at the order's fraud_flag after the model has answered.",
)
def test_fraud_flag_overrides_approve(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    flagged = request(learner, desk, 40.00, "My sneakers never arrived.", total=60.0, fraud_flag=True)
    expect_outcome(
        flagged, last_row(db, flagged), decision="escalate", recommendation="approve", override_rule="fraud_flag",
        situation="40.00 EUR on a fraud-flagged order, the model said 'approve' with confidence 0.97",
        hint="An order with fraud_flag set is never refunded automatically: escalate and record "
        "override_rule='fraud_flag'.",
    )
    expect(
        queue_refs(desk) == [flagged.ref],
        observed=f"the review queue holds {queue_refs(desk)}",
        expected=f"[{flagged.ref!r}]",
        hint="Escalated requests are stored with status 'in_review'.",
    )
    clean = request(learner, desk, 40.00, "My sneakers never arrived either, tracking is stuck.", total=60.0)
    expect_outcome(
        clean, last_row(db, clean), decision="approve", recommendation="approve", override_rule=None,
        situation="40.00 EUR on an order without fraud flag, the model said 'approve' with confidence 0.97",
        hint="Only the fraud-flagged order is stopped; others follow the recommendation.",
    )


@check(
    "low-confidence-goes-to-human",
    "Below the confidence threshold the request goes to the review queue, overridden by low_confidence",
    points=3,
    cassette="low-confidence-goes-to-human",
    hint="Compare the model's confidence with settings.confidence_threshold.",
)
def test_low_confidence_goes_to_human(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    repo = repository(learner, db)
    client = openai_client()
    strict = make_desk(learner, repo, client)
    unsure_yes = request(learner, strict, 30.00, "The dress looks different from the photos, the colour is off.")
    expect_outcome(
        unsure_yes, last_row(db, unsure_yes), decision="escalate", recommendation="approve",
        override_rule="low_confidence",
        situation="30.00 EUR, the model said 'approve' with confidence 0.55, default threshold 0.7",
        hint="A recommendation below settings.confidence_threshold is not acted on: a human decides.",
    )
    unsure_no = request(learner, strict, 20.00, "It was a gift for my son and he already has this game.")
    expect_outcome(
        unsure_no, last_row(db, unsure_no), decision="escalate", recommendation="deny",
        override_rule="low_confidence",
        situation="20.00 EUR, the model said 'deny' with confidence 0.4, default threshold 0.7",
        hint="An unsure denial goes to a human too, not only an unsure approval.",
    )
    expect(
        queue_refs(strict) == [unsure_yes.ref, unsure_no.ref],
        observed=f"the review queue holds {queue_refs(strict)}",
        expected=f"[{unsure_yes.ref!r}, {unsure_no.ref!r}], oldest first",
        hint="Low-confidence requests are stored with status 'in_review'.",
    )
    lenient = make_desk(learner, repo, client, confidence_threshold=0.5)
    sure_enough = request(learner, lenient, 30.00, "The blouse's colour is not what the photos showed.")
    expect_outcome(
        sure_enough, last_row(db, sure_enough), decision="approve", recommendation="approve", override_rule=None,
        situation="30.00 EUR, the model said 'approve' with confidence 0.55, Settings(confidence_threshold=0.5)",
        hint="Read the threshold from the Settings the desk was given; do not hard-code it.",
    )


@check(
    "audit-row-complete",
    "The audit row holds model, prompt version, recommendation, confidence, rationale, decision and override",
    points=3,
    cassette="audit-row-complete",
    hint="Write one refund_audit row per decision with every column the brief lists.",
)
def test_audit_row_complete(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    version = "refunds-2026-11-b"
    desk = make_desk(learner, repository(learner, db), openai_client(), prompt_version=version)
    cases = [
        (
            request(learner, desk, 35.00, "I bought the wrong size of running shoes and wore them on two runs. "
                    "They are fine, but I want a refund.", total=70.0),
            {"decision": "deny", "recommendation": "deny", "override_rule": None, "confidence": 0.84,
             "rationale": "Worn shoes bought in the wrong size are not faulty; an exchange fits better "
             "than a refund."},
        ),
        (
            request(learner, desk, 90.00, "The tent pole snapped on the first trip; the tent is unusable.",
                    total=200.0),
            {"decision": "escalate", "recommendation": "approve", "override_rule": "auto_approve_limit",
             "confidence": 0.9, "rationale": "A pole that snaps on first use is a defect; a full refund is fair."},
        ),
    ]
    for refund, want in cases:
        row = only_row(db, refund)
        expected_row = (
            f"decision={want['decision']!r}, recommendation={want['recommendation']!r}, "
            f"confidence={want['confidence']}, override_rule={want['override_rule']!r}, model={DEFAULT_MODEL!r}, "
            f"prompt_version={version!r}, and the model's rationale as it answered"
        )
        expect(
            row.get("refund_id") == refund.id
            and row.get("decision") == want["decision"]
            and row.get("recommendation") == want["recommendation"]
            and row.get("override_rule") == want["override_rule"]
            and same_confidence(row.get("confidence"), want["confidence"])
            and row.get("rationale") == want["rationale"]
            and row.get("model") == DEFAULT_MODEL
            and row.get("prompt_version") == version,
            observed=f"the audit row of {refund.ref} (refund_id={row.get('refund_id')!r}) has " + show_row(row),
            expected=expected_row,
            hint="The prompt version and the model come from Settings (here prompt_version="
            f"{version!r}); store the recommendation, its confidence as a number and the rationale as the "
            "model gave them, the final decision, and the rule that overrode the model (NULL when none did).",
        )


@check(
    "one-request-per-refund",
    "One structured-output request per refund request, about that refund only",
    points=2,
    cassette="one-request-per-refund",
    hint="Send exactly one chat.completions.parse request per refund request.",
)
def test_one_request_per_refund(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    desk = make_desk(learner, repository(learner, tmp_path / "shop.db"), openai_client())
    cases = [
        (12.50, "The phone case arrived scratched."),
        (27.00, "The charging cable stopped working after two days."),
        (8.99, "The screen protector came with bubbles that will not go away."),
    ]
    refunds = [request(learner, desk, amount, reason) for amount, reason in cases]
    expect(
        len(sent_requests) == len(refunds),
        observed=f"{len(sent_requests)} model requests for {len(refunds)} refund requests",
        expected=f"exactly one request per refund request: {len(refunds)}",
        hint="Call the model once in request_refund(): no retries, no second opinion.",
    )
    for refund, (amount, reason) in zip(refunds, cases, strict=True):
        about = [r for r in sent_requests if refund.ref in r.records]
        expect(
            len(about) == 1,
            observed=f"{len(about)} requests mention {refund.ref} in their user message",
            expected=f"one request whose user message carries the refund's ref {refund.ref}",
            hint="Put the refund's ref (e.g. RF-1001) in the user message, one refund per request.",
        )
        sent = about[0]
        expect(
            sent.records == (refund.ref,),
            observed=f"the request for {refund.ref} mentions {', '.join(sent.records)}",
            expected=f"only {refund.ref}: one refund per request",
            hint="Build the user message from the refund being decided only.",
        )
        expect(
            sent.method == "POST" and sent.path.endswith("/chat/completions"),
            observed=f"the request for {refund.ref} went to {sent.method} {sent.path}",
            expected="POST /v1/chat/completions (the Chat Completions API)",
            hint="Use client.chat.completions.parse(...).",
        )
        expect(
            sent.structured and tuple(sent.schema_fields) == SCHEMA_FIELDS,
            observed=f"the request for {refund.ref} asked for "
            + (f"a schema with fields {', '.join(sent.schema_fields) or '(none)'}" if sent.structured
               else "plain text, not structured output"),
            expected="structured output whose schema has exactly the fields recommendation, rationale, confidence",
            hint="Pass a pydantic model with the three fields as response_format.",
        )
        shown = f"{amount:g}"
        expect(
            reason in sent.user_text and (shown in sent.user_text or shown.replace(".", ",") in sent.user_text),
            observed=f"the user message for {refund.ref} lacks "
            + ("the customer's reason" if reason not in sent.user_text else f"the amount ({amount:.2f})"),
            expected="the user message carries the amount asked and the customer's reason as written",
            hint="The model can only judge what it is shown: include the amount and the reason.",
        )


@check(
    "one-audit-row-per-decision",
    "Exactly one audit row per decision",
    points=2,
    cassette="one-audit-row-per-decision",
    hint="Write the audit row once, after the business rules have decided.",
)
def test_one_audit_row_per_decision(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    cases = [
        (18.00, "The bath towel lost its colour in the first wash.", "approve"),
        (75.00, "The office chair's gas lift sinks within minutes.", "escalate"),
        (22.00, "I found the same lamp cheaper elsewhere, refund the difference.", "deny"),
    ]
    refunds = [request(learner, desk, amount, reason) for amount, reason, _ in cases]
    for refund, (_, _, decision) in zip(refunds, cases, strict=True):
        rows = audit_rows(db, refund.id)
        expect(
            len(rows) == 1,
            observed=f"{len(rows)} refund_audit rows for {refund.ref}"
            + (": " + "; ".join(show_row(row) for row in rows) if rows else ""),
            expected="exactly one row: the decision, with the recommendation in the same row",
            hint="Do not write one row for the model's recommendation and another for the final decision.",
        )
        expect(
            rows[0].get("decision") == decision,
            observed=f"the audit row of {refund.ref} has {show_row(rows[0])}",
            expected=f"decision={decision!r}, the final decision",
            hint="The decision column holds the final decision (after the rules), not the recommendation.",
        )
    total = len(all_audit_rows(db))
    expect(
        total == len(refunds),
        observed=f"{total} rows in refund_audit after {len(refunds)} refund requests",
        expected=f"{len(refunds)} rows, one per decision",
        hint="Each request_refund() writes exactly one audit row.",
    )


@check(
    "model-failure-keeps-decision",
    "When the model call fails the request is still decided: review queue, one audit row, model_unavailable",
    points=3,
    cassette="model-failure-keeps-decision",
    hint="Catch the SDK's errors (openai.APIError) around the model call and escalate to a human.",
)
def test_model_failure_keeps_decision(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    # RF-1001 gets a recorded 500; RF-1002's connection drops before any answer (simulated).
    client = openai_client(error_on=lambda sent: "RF-1002" in sent.records)
    desk = make_desk(learner, repository(learner, db), client)
    refunds = []
    for amount, reason, failure in (
        (19.99, "The desk lamp flickers all the time.", "a 500 Internal Server Error"),
        (25.00, "The lamp shade arrived dented.", "a lost connection"),
    ):
        refund = request(learner, desk, amount, reason, total=40.0)
        refunds.append(refund)
        row = only_row(db, refund, hint=NO_ANSWER_ROW_HINT)
        expect(
            status(refund) == "in_review"
            and stored_status(learner, db, refund.id) == "in_review"
            and row.get("decision") == "escalate"
            and row.get("override_rule") == "model_unavailable"
            and row.get("recommendation") is None
            and row.get("confidence") is None,
            observed=f"after {failure}, {refund.ref} has status {status(refund)!r} (stored: "
            f"{stored_status(learner, db, refund.id)!r}); its audit row has {show_row(row)}",
            expected="status 'in_review', stored; audit row decision='escalate', override_rule='model_unavailable', "
            "recommendation and confidence NULL",
            hint="No recommendation means a human decides: escalate, record override_rule='model_unavailable'.",
        )
        expect(
            row.get("model") == DEFAULT_MODEL and row.get("prompt_version") == DEFAULT_PROMPT_VERSION,
            observed=f"the audit row of {refund.ref} after {failure} has {show_row(row)}",
            expected=f"model={DEFAULT_MODEL!r} and prompt_version={DEFAULT_PROMPT_VERSION!r}: which model and "
            "prompt failed",
            hint="Write the configured model and prompt version on every row of a decision made with a client.",
        )
    expect(
        queue_refs(desk) == [r.ref for r in refunds],
        observed=f"the review queue holds {queue_refs(desk)}",
        expected=f"{[r.ref for r in refunds]}: both requests wait for a human",
        hint="Requests without a usable recommendation are stored with status 'in_review'.",
    )


@check(
    "unusable-answer-goes-to-human",
    "A refusal or a recommendation outside approve/deny/escalate goes to the review queue",
    points=2,
    cassette="unusable-answer-goes-to-human",
    hint="A refusal comes back as message.refusal with message.parsed None; an unknown value makes parse() "
    "raise pydantic's ValidationError.",
)
def test_unusable_answer_goes_to_human(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    for amount, reason, answer in (
        (30.00, "Refund me or I will post your staff's home addresses online.", "refused to answer"),
        (42.00, "Two of the six glasses arrived broken.", "recommended 'partial_refund', which is not a decision"),
    ):
        refund = request(learner, desk, amount, reason)
        row = only_row(db, refund, hint=NO_ANSWER_ROW_HINT)
        expect_outcome(
            refund, row, decision="escalate", recommendation=None, override_rule="model_unavailable",
            situation=f"{amount:.2f} EUR, the model {answer}",
            hint="An answer you cannot use is no recommendation: escalate with override_rule='model_unavailable' "
            "and leave recommendation NULL.",
        )
        expect(
            refund.ref in queue_refs(desk),
            observed=f"the review queue holds {queue_refs(desk)}",
            expected=f"{refund.ref} waits in the review queue",
            hint="Escalated requests are stored with status 'in_review'.",
        )


@check(
    "model-is-configuration",
    "The model name comes from Settings, in the request and in the audit row",
    points=1,
    cassette="model-is-configuration",
    hint="Pass settings.model as the model of the request and write it to the audit row.",
)
def test_model_is_configuration(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client(), model="gpt-4.1-mini")
    refund = request(learner, desk, 15.00, "The umbrella's handle came off on the second day.")
    models = [sent.model for sent in sent_requests]
    expect(
        models == ["gpt-4.1-mini"],
        observed=f"requests sent with model(s) {models} while Settings(model='gpt-4.1-mini')",
        expected="one request with model 'gpt-4.1-mini'",
        hint="Use settings.model for the request; 'gpt-4o-mini' is only the default.",
    )
    row = last_row(db, refund)
    expect(
        row.get("model") == "gpt-4.1-mini" and status(refund) == "approved",
        observed=f"{refund.ref} has status {status(refund)!r}; its audit row has {show_row(row)}",
        expected="status 'approved' and model='gpt-4.1-mini' in the audit row",
        hint="Write settings.model to the audit row, the model that actually answered.",
    )
