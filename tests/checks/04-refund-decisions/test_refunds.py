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
    AUDIT_COLUMNS,
    DEFAULT_MODEL,
    DEFAULT_PROMPT_VERSION,
    MAX_TIMEOUT,
    SCHEMA_FIELDS,
    STATUS_OF,
    add_order,
    all_audit_rows,
    audit_rows,
    build_legacy_database,
    expect_outcome,
    last_row,
    make_desk,
    only_row,
    queue_refs,
    repository,
    request,
    same_confidence,
    show_row,
    show_timeout,
    status,
    stored_status,
    timeout_ok,
)

from kata.checks import RemoteError, check, expect, open_database

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


@check(
    "confidence-at-threshold-is-accepted",
    "A confidence equal to the threshold is enough: the recommendation stands",
    points=2,
    cassette="confidence-at-threshold-is-accepted",
    hint="Only a confidence below the threshold sends the request to a human; equal is enough.",
)
def test_confidence_at_threshold_is_accepted(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    repo = repository(learner, db)
    client = openai_client()
    default = make_desk(learner, repo, client)
    approve = request(learner, default, 30.00, "The zip of the backpack broke on the first day.")
    expect_outcome(
        approve, last_row(db, approve), decision="approve", recommendation="approve", override_rule=None,
        situation="30.00 EUR, the model said 'approve' with confidence 0.7, default threshold 0.7",
        hint="Compare with `confidence < threshold`: a confidence equal to settings.confidence_threshold is "
        "acted on, it is not low.",
    )
    strict = make_desk(learner, repo, client, confidence_threshold=0.85)
    deny = request(learner, strict, 30.00, "I changed my mind about the colour after using the mug for a month.")
    expect_outcome(
        deny, last_row(db, deny), decision="deny", recommendation="deny", override_rule=None,
        situation="30.00 EUR, the model said 'deny' with confidence 0.85, Settings(confidence_threshold=0.85)",
        hint="A denial exactly at the threshold stands too: only a confidence below it goes to a human.",
    )


@check(
    "escalation-has-no-override-rule",
    "An 'escalate' goes to the review queue as the model asked, with no override rule",
    points=2,
    cassette="escalation-has-no-override-rule",
    hint="The rules never override an escalation: it stands as the model's own recommendation.",
)
def test_escalation_has_no_override_rule(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    cases = [
        (dict(amount=30.00, reason="The courier says the parcel was delivered; my camera says nobody came."),
         "30.00 EUR, the model said 'escalate' with confidence 0.35, below the threshold 0.7",
         "An unsure escalation is still the model asking for a human: low_confidence only overrides an "
         "approval or a denial, so the row's override_rule stays NULL."),
        (dict(amount=40.00, reason="The bracelet arrived, but not the one I ordered.", total=60.0, fraud_flag=True),
         "40.00 EUR on a fraud-flagged order, the model said 'escalate' with confidence 0.9",
         "The fraud flag only stops an approval: an escalation on a flagged order has no override rule."),
        (dict(amount=80.00, reason="The drill stopped after ten minutes; I would like a refund or a new one.",
              total=200.0),
         "80.00 EUR, above the limit 50.00, the model said 'escalate' with confidence 0.9",
         "The limit only stops an approval: an escalation above it has no override rule."),
    ]
    refunds = []
    for fields, situation, hint in cases:
        amount, reason = fields.pop("amount"), fields.pop("reason")
        refund = request(learner, desk, amount, reason, **fields)
        refunds.append(refund)
        expect_outcome(
            refund, last_row(db, refund), decision="escalate", recommendation="escalate", override_rule=None,
            situation=situation, hint=hint,
        )
    expect(
        queue_refs(desk) == [r.ref for r in refunds],
        observed=f"the review queue holds {queue_refs(desk)}",
        expected=f"{[r.ref for r in refunds]}: every escalation waits for a human",
        hint="Escalated requests are stored with status 'in_review'.",
    )


@check(
    "rules-apply-in-table-order",
    "When several rules apply, the first row of the table names the override",
    points=2,
    cassette="rules-apply-in-table-order",
    hint="Apply the rules in the table's order; the first that matches sets the decision and the override.",
)
def test_rules_apply_in_table_order(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    cases = [
        (dict(amount=120.00, reason="The wardrobe doors do not close; the hinges are bent.", total=300.0,
              fraud_flag=True),
         "fraud_flag", "120.00 EUR on a fraud-flagged order (both the fraud flag and the limit apply), the "
         "model said 'approve' with confidence 0.95"),
        (dict(amount=90.00, reason="The blender jar cracked when I poured in hot soup.", total=200.0),
         "auto_approve_limit", "90.00 EUR, above the limit 50.00, the model said 'approve' with confidence 0.5, "
         "below the threshold 0.7"),
        (dict(amount=30.00, reason="The book arrived with water damage on every page.", fraud_flag=True),
         "fraud_flag", "30.00 EUR on a fraud-flagged order, the model said 'approve' with confidence 0.45, "
         "below the threshold 0.7"),
    ]
    for fields, rule, situation in cases:
        amount, reason = fields.pop("amount"), fields.pop("reason")
        refund = request(learner, desk, amount, reason, **fields)
        expect_outcome(
            refund, last_row(db, refund), decision="escalate", recommendation="approve", override_rule=rule,
            situation=situation,
            hint="The audit row names the first rule of the table that matches: no usable answer, then the "
            "fraud flag, then the limit, then low confidence. The hard rules come before confidence.",
        )


@check(
    "hard-rules-stop-approvals-only",
    "A confident denial stands on a fraud-flagged order and above the limit",
    points=1,
    cassette="hard-rules-stop-approvals-only",
    hint="The fraud flag and the limit only stop an approval; they never touch a denial.",
)
def test_hard_rules_stop_approvals_only(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    flagged = request(learner, desk, 40.00, "I want my money back for the shoes I wore to the marathon.",
                      total=60.0, fraud_flag=True)
    expect_outcome(
        flagged, last_row(db, flagged), decision="deny", recommendation="deny", override_rule=None,
        situation="40.00 EUR on a fraud-flagged order, the model said 'deny' with confidence 0.9",
        hint="The fraud flag only stops an approval: a confident denial on a flagged order stands, with no "
        "override rule.",
    )
    above = request(learner, desk, 150.00, "The price dropped by 150 EUR a week after I bought the TV.",
                    total=600.0)
    expect_outcome(
        above, last_row(db, above), decision="deny", recommendation="deny", override_rule=None,
        situation="150.00 EUR, above the limit 50.00, the model said 'deny' with confidence 0.92",
        hint="The limit only stops an approval: a confident denial above it stands, with no override rule.",
    )


@check(
    "out-of-range-confidence-goes-to-human",
    "A confidence outside 0..1 is no usable answer: review queue, model_unavailable",
    points=1,
    cassette="out-of-range-confidence-goes-to-human",
    hint="Validate the answer's confidence: outside 0..1 there is no usable recommendation.",
)
def test_out_of_range_confidence_goes_to_human(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    for amount, reason, answer in (
        (30.00, "The headlamp's strap snapped on the first run.", "'approve' with confidence 1.4"),
        (20.00, "I would like a refund because the socks are the wrong shade.", "'deny' with confidence -0.2"),
    ):
        refund = request(learner, desk, amount, reason)
        row = only_row(db, refund, hint=NO_ANSWER_ROW_HINT)
        expect_outcome(
            refund, row, decision="escalate", recommendation=None, override_rule="model_unavailable",
            situation=f"{amount:.2f} EUR, the model answered {answer}",
            hint="A confidence outside 0..1 makes the whole answer unusable: escalate with override_rule "
            "'model_unavailable' and leave recommendation and confidence NULL.",
        )
        expect(
            row.get("confidence") is None,
            observed=f"the audit row of {refund.ref} has {show_row(row)}",
            expected="confidence NULL: there was no usable recommendation",
            hint="Do not store a value the answer was rejected for.",
        )


@check(
    "invalid-request-asks-no-model",
    "An unknown order or an amount that cannot be refunded raises as today, stores nothing and asks no model",
    points=1,
    cassette="invalid-request-asks-no-model",
    hint="Check the order and the amount first, as the legacy desk does; only a valid request is stored and "
    "sent to the model.",
)
def test_invalid_request_asks_no_model(learner: Any, openai_client: Any, sent_requests: list[Any],
                                       tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    desk = make_desk(learner, repository(learner, db), openai_client())
    order_id = add_order(learner, desk.repo, 30.0)
    for args, wanted, what in (
        ((order_id + 99, 10.00, "The lamp is broken."), "LookupError", "an order that does not exist"),
        ((order_id, 45.00, "The lamp is broken."), "ValueError", "45.00 EUR on a 30.00 EUR order"),
        ((order_id, 0.0, "The lamp is broken."), "ValueError", "an amount of 0.00 EUR"),
    ):
        before = len(sent_requests)
        try:
            refund = desk.request_refund(*args)
        except RemoteError as err:
            expect(
                not err.is_a("NoRecordingMatched"),
                observed=f"request_refund() for {what} sent a model request",
                expected="no model request for a request that cannot be refunded",
                hint="Check the order and the amount before you store the request and ask the model.",
            )
            expect(
                err.is_a(wanted),
                observed=f"request_refund() for {what} raised {err.type_name}: {err.text}",
                expected=f"a {wanted}, as the legacy desk raises",
                hint="Keep the legacy order and amount checks, and their exceptions, in front of the model call.",
            )
        else:
            expect(
                False,
                observed=f"request_refund() for {what} returned {getattr(refund, 'ref', refund)!r} "
                f"with status {status(refund)!r}",
                expected=f"a {wanted}, as the legacy desk raises",
                hint="Keep the legacy order and amount checks in front of the model call.",
            )
        sent = len(sent_requests) - before
        expect(
            sent == 0,
            observed=f"request_refund() for {what} sent {sent} model request(s) before raising",
            expected="no model request for a request that cannot be refunded",
            hint="Check the order and the amount before you store the request and ask the model.",
        )
    stored = repository(learner, db).get_refund(1)
    expect(
        stored is None,
        observed=f"after three refused requests the database holds {stored.ref} with status "
        f"{status(stored)!r}" if stored is not None else "",
        expected="no refund request stored: none of them could be refunded",
        hint="Validate before storing: a refused request leaves nothing behind.",
    )


@check(
    "failure-is-not-retried",
    "A failed or timed-out model call is not retried: one request, then the review queue",
    points=1,
    cassette="failure-is-not-retried",
    hint="Call the model once; when it fails or times out, the request goes to a human instead of a second "
    "attempt.",
)
def test_failure_is_not_retried(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    # RF-1001 gets a recorded 503; RF-1002's connection drops and RF-1003 times out (both simulated), however
    # often they are tried.
    client = openai_client(error_on=lambda sent: "RF-1002" in sent.records,
                           timeout_on=lambda sent: "RF-1003" in sent.records)
    desk = make_desk(learner, repository(learner, db), client)
    for amount, reason, failure in (
        (19.00, "The bike bell rusted within a week.", "a 503 Service Unavailable"),
        (24.00, "The bike light does not switch on.", "a lost connection"),
        (16.00, "The bike lock's key snapped in the lock.", "a time-out"),
    ):
        refund = request(learner, desk, amount, reason)
        about = [sent for sent in sent_requests if refund.ref in sent.records]
        expect(
            len(about) == 1,
            observed=f"after {failure}, {len(about)} requests were sent for {refund.ref}",
            expected="exactly one: no retries (resilience is the subject of kata 09)",
            hint="Do not loop around the model call: one attempt, then the rules decide (model_unavailable).",
        )
        expect(
            status(refund) == "in_review",
            observed=f"after {failure}, {refund.ref} came back with status {status(refund)!r}",
            expected="'in_review': without a usable recommendation a human decides",
            hint="A failed call means no usable recommendation: escalate with override_rule 'model_unavailable'.",
        )


@check(
    "requests-have-a-timeout",
    "Model calls have a time-out shorter than the SDK's default",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Give the model call a read time-out of at most 60 seconds; the caller's client may have the SDK's "
    "600 s default.",
)
def test_requests_have_a_timeout(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    # The client a caller gets from openai.OpenAI(): the SDK's own retries and its 600 s time-out.
    desk = make_desk(learner, repository(learner, db), openai_client(sdk_defaults=True))
    refund = request(learner, desk, 22.00, "The kettle's switch broke after three uses.")
    expect(
        bool(sent_requests),
        observed=f"{refund.ref} was decided ({status(refund)!r}) without any model request",
        expected="one model request for the refund request",
        hint="Ask the model through the injected client.",
    )
    for sent in sent_requests:
        expect(
            timeout_ok(sent.timeout),
            observed=f"the request for {', '.join(sent.records) or 'a refund'} was sent {show_timeout(sent.timeout)}",
            expected=f"a read time-out of at most {MAX_TIMEOUT:g} seconds",
            hint="A customer is waiting on the refund page: set a time-out of your own on the model call (the "
            "SDK waits ten minutes by default). Where the value comes from is yours.",
        )
    expect(
        status(refund) == "approved",
        observed=f"{refund.ref} came back with status {status(refund)!r}; the model said 'approve' (0.9)",
        expected="'approved': the answer arrived in time",
        hint="The time-out only bounds the wait; an answer that arrives is used as usual.",
    )


@check(
    "legacy-database-keeps-working",
    "A database created by the legacy release keeps working: its rows stay readable, new decisions are audited",
    points=2,
    cassette="legacy-database-keeps-working",
    hint="Opening an existing database must bring its refund_audit table up to the new columns.",
)
def test_legacy_database_keeps_working(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    build_legacy_database(db)  # release 4.8's schema, RF-1001 approved by the rules, RF-1002 in review
    upgrade_hint = (
        "CREATE TABLE IF NOT EXISTS leaves an existing refund_audit table as it is: on opening, add the "
        "columns it lacks (nullable, so the old rows keep NULL model data)."
    )
    try:
        repo = repository(learner, db)
        desk = make_desk(learner, repo, openai_client())
        old = [repo.get_refund(1), repo.get_refund(2)]
        queue = queue_refs(desk)
    except RemoteError as err:
        expect(
            False,
            observed=f"opening a database created by release 4.8 raised {err.type_name}: {err.text}",
            expected="the repository opens it and reads its refund requests",
            hint=upgrade_hint,
        )
    expect(
        all(r is not None for r in old)
        and [status(r) for r in old] == ["approved", "in_review"]
        and queue == ["RF-1002"],
        observed="the legacy requests read back as "
        + ", ".join(f"{r.ref} {status(r)!r}" if r is not None else "None" for r in old)
        + f"; the review queue holds {queue}",
        expected="RF-1001 'approved', RF-1002 'in_review', and the review queue ['RF-1002']",
        hint="Keep the rows of an existing database readable as they are.",
    )
    try:
        refund = desk.request_refund(1, 25.00, "The replacement strap broke too, in the same place.")
    except RemoteError as err:
        expect(
            False,
            observed=f"request_refund() on a database created by release 4.8 raised {err.type_name}: {err.text}",
            expected="the request is decided and audited as on a new database",
            hint=upgrade_hint,
        )
    conn = open_database(db)
    try:
        present = {row["name"] for row in conn.execute("PRAGMA table_info(refund_audit)")}
    finally:
        conn.close()
    missing = [column for column in AUDIT_COLUMNS if column not in present]
    expect(
        not missing,
        observed="after opening a database created by release 4.8, its refund_audit table has no column "
        + ", ".join(missing),
        expected="refund_audit has the columns " + ", ".join(AUDIT_COLUMNS) + ", in old databases too",
        hint=upgrade_hint,
    )
    row = last_row(db, refund)
    expect(
        refund.ref == "RF-1003"
        and status(refund) == "approved"
        and row.get("decision") == "approve"
        and row.get("recommendation") == "approve"
        and row.get("override_rule") is None
        and row.get("model") == DEFAULT_MODEL
        and row.get("prompt_version") == DEFAULT_PROMPT_VERSION,
        observed=f"the new request {refund.ref} came back with status {status(refund)!r}; its audit row has "
        + show_row(row),
        expected=f"RF-1003 'approved'; audit row decision='approve', recommendation='approve', override_rule=None, "
        f"model={DEFAULT_MODEL!r}, prompt_version={DEFAULT_PROMPT_VERSION!r}",
        hint="A new decision on an old database is audited exactly as on a new one.",
    )
    resolved = desk.resolve(2, approve=False, agent="mia")
    legacy_rows = [audit_rows(db, refund_id) for refund_id in (1, 2)]
    kept = [(r.get("decision"), r.get("decided_by"), r.get("model"), r.get("override_rule"))
            for rows in legacy_rows for r in rows]
    expect(
        status(resolved) == "denied"
        and kept == [("approve", "rules", None, None), ("escalate", "rules", None, None),
                     ("deny", "mia", None, None)],
        observed=f"after an agent denied RF-1002 it has status {status(resolved)!r}; the audit rows of RF-1001 "
        f"and RF-1002 read (decision, decided_by, model, override_rule) {kept}",
        expected="RF-1002 'denied'; the old rows as they were, with NULL model data, and the agent's new row: "
        "[('approve', 'rules', None, None), ('escalate', 'rules', None, None), ('deny', 'mia', None, None)]",
        hint="Never rewrite old audit rows: the upgrade only adds columns, which stay NULL for them.",
    )
