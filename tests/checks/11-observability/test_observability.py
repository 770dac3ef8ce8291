"""Hidden checks of kata 11, observability: GenAI spans, token and duration metrics, structured logs.

Each check builds its own recorders in the learner's process (a real OpenTelemetry SDK TracerProvider with
an in-memory exporter, a MeterProvider with an in-memory reader, a text stream for the JSON log records) and
hands them to a new service on an empty database, so its tickets are TCK-1001, TCK-1002, ... in submission
order. Model answers are recordings (stand-in script: fixtures/11-observability/standin.toml); the fake clock
moves on by CALL_SECONDS while each request is in flight.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from observability_support import (
    CALL_SECONDS,
    CONTENT_KEYS,
    EMAIL,
    MODEL,
    PROMPT_VERSION,
    SDK_LOGGERS,
    Recorders,
    about,
    call_spans,
    descends_from,
    describe,
    instrument,
    json_record,
    latency_client,
    leaks,
    log_lines,
    make_service,
    points,
    shown_attributes,
    submit,
    ticket_span,
    value_text,
)

from kata.checks import check, expect, plain

GENAI_KEYS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
              "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons")
BLANK = ("   ", "")


def _outcome(ticket: Any) -> str:
    return f"{ticket.ref} ended in {plain(ticket.queue)!r} (routed_by={plain(ticket.routed_by)!r}, " \
           f"degraded={ticket.degraded})"


# --------------------------------------------------------------------------- model-call spans


@check(
    "call-span-per-request",
    "Every request to the model is one CLIENT span 'chat {model}' inside its ticket's span",
    points=3,
    cassette="call-span-per-request",
    hint="Start a span for every request, inside the ticket's span (start_as_current_span makes it the parent).",
)
def test_call_span_per_request(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                               tmp_path: Path) -> None:
    recorders = Recorders(learner)
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    cases = [
        # (subject, body, what the recordings answer)
        ("My order history crashes the app", "Since the update the app closes as soon as I open my past orders.",
         "a 503, then an answer: two requests"),
        (*BLANK, "nothing: a blank ticket is not sent to the model"),
        ("Parcel went to the neighbour's address", "The courier left it two streets away.", "one answer"),
    ]
    for subject, body, answers in cases:
        ticket, spans = submit(service, recorders, subject, body)
        requests = about(sent_requests, ticket.ref)
        root = ticket_span(spans, ticket.ref)
        calls = call_spans(spans)
        expect(
            len(calls) == len(requests),
            observed=f"{ticket.ref}: {len(requests)} request(s) reached the model ({answers}) and its submit() "
            f"ended {len(calls)} model-call span(s): {describe(spans)}",
            expected="one model-call span per request sent, retries included, and none when no request is sent",
            hint="Make the span around each request (each attempt), not around the ticket's whole retry loop.",
        )
        for span in calls:
            expect(
                span["name"] == f"chat {MODEL}" and span["kind"] == "CLIENT",
                observed=f"{ticket.ref}: a model-call span is named {span['name']!r}, of kind {span['kind']}",
                expected=f"name 'chat {MODEL}' ('chat' and settings.model), kind CLIENT",
                hint="Name the span f\"chat {settings.model}\" and give it kind=SpanKind.CLIENT.",
            )
            expect(
                descends_from(span, root, spans),
                observed=f"{ticket.ref}: the spans were {describe(spans)}; the model-call span is not inside "
                "'helpdesk.submit'" + ("" if span["trace_id"] == root["trace_id"] else " (another trace)"),
                expected="every model-call span inside its ticket's helpdesk.submit span, in the same trace",
                hint="Make the ticket's span current (tracer.start_as_current_span) while its requests are made.",
            )


@check(
    "call-span-attributes",
    "A model-call span carries the GenAI attributes: models, token usage, finish reasons",
    points=3,
    cassette="call-span-attributes",
    hint="Set the request attributes when the span starts and read completion.model, completion.usage and each "
    "choice's finish_reason from the response.",
)
def test_call_span_attributes(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                              tmp_path: Path) -> None:
    recorders = Recorders(learner)
    model = "gpt-4.1-mini"
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders,
                           model=model)
    cases = [
        # (subject, body, expected attributes: as scripted in standin.toml, why)
        ("Charged twice for one order", "My card statement shows two payments of 54.90 for order 7781.",
         {"input": 412, "output": 19}, "a confident answer the service used"),
        ("Question about gift wrapping", "Can the parcel be gift-wrapped with a card?",
         {"input": 388, "output": 23}, "an answer under the confidence threshold, which the service did not use"),
    ]
    for subject, body, tokens, why in cases:
        ticket, spans = submit(service, recorders, subject, body)
        calls = call_spans(spans)
        expect(
            len(calls) == 1,
            observed=f"{ticket.ref}: one request was answered and its submit() ended {len(calls)} model-call "
            f"span(s): {describe(spans)}",
            expected="one model-call span for the one request",
            hint="One span per request, made with the injected tracer_provider.",
        )
        span = calls[0]
        wanted = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "gen_ai.response.model": f"{model}-2025-04-14",
            "gen_ai.usage.input_tokens": tokens["input"],
            "gen_ai.usage.output_tokens": tokens["output"],
            "gen_ai.response.finish_reasons": ["stop"],
        }
        attributes = span["attributes"]
        wrong = [key for key, value in wanted.items() if attributes.get(key) != value]
        expect(
            not wrong,
            observed=f"{ticket.ref} ({why}): {shown_attributes(span, GENAI_KEYS)}",
            expected=", ".join(f"{k}={v!r}" for k, v in wanted.items())
            + f" (settings.model={model!r}; the response named {model}-2025-04-14 and used "
            f"{tokens['input']} + {tokens['output']} tokens)",
            hint="gen_ai.request.model is what you asked for, gen_ai.response.model what the response says "
            "(completion.model); the usage is completion.usage.prompt_tokens and completion_tokens; the finish "
            "reasons are a list of strings.",
        )
        expect(
            "error.type" not in attributes and span["status"] != "ERROR",
            observed=f"{ticket.ref}: the span of a call that got an answer has "
            f"{shown_attributes(span, ['error.type'])} and status {span['status']}",
            expected="no error.type and no ERROR status: the call got an answer, whatever the service did with it",
            hint="Mark a span as failed only when the request itself failed.",
        )


@check(
    "failed-call-span-has-error-type",
    "A failed call's span has error.type and the status ERROR",
    points=2,
    cassette="failed-call-span-has-error-type",
    hint="Catch the exception around the request, set error.type to its class name and the status to ERROR, "
    "then let it go on to the service's retry logic.",
)
def test_failed_call_span_has_error_type(learner: Any, openai_client: Any, sent_requests: list[Any],
                                         fake_clock: Any, tmp_path: Path) -> None:
    recorders = Recorders(learner)
    timed_out: set[str] = set()

    def first_attempt_of_tck_1003(request: Any) -> bool:
        # The first request about TCK-1003 hangs until its time-out; the retry gets an answer.
        if "TCK-1003" in request.records and "TCK-1003" not in timed_out:
            timed_out.add("TCK-1003")
            return True
        return False

    client = latency_client(openai_client, fake_clock, timeout_on=first_attempt_of_tck_1003)
    service = make_service(learner, tmp_path, client, fake_clock, recorders)
    cases = [
        # (subject, body, failed? per request, what happened)
        ("Checkout button does nothing", "Clicking 'Pay now' in Firefox does nothing, no error shown.",
         [True, True], "a 500, then a 502"),
        ("Cannot change my e-mail address", "The profile page rejects my new address.", [True],
         "a 400 (not retried)"),
        ("Tracking page asks me to sign in", "I only want to know where my parcel is.", [True, False],
         "a time-out, then an answer"),
    ]
    for subject, body, failed, what in cases:
        ticket, spans = submit(service, recorders, subject, body)
        calls = call_spans(spans)
        expect(
            len(calls) == len(failed),
            observed=f"{ticket.ref} ({what}): {len(calls)} model-call span(s): {describe(spans)}",
            expected=f"{len(failed)} model-call span(s), one per request",
            hint="One span per request, failed requests included.",
        )
        for n, (span, is_failed) in enumerate(zip(calls, failed, strict=True), start=1):
            error_type = span["attributes"].get("error.type")
            state = f"{shown_attributes(span, ['error.type'])}, status {span['status']}"
            if is_failed:
                expect(
                    isinstance(error_type, str) and 0 < len(error_type) <= 80 and " - " not in error_type
                    and span["status"] == "ERROR",
                    observed=f"{ticket.ref} ({what}): the span of failed request {n} has {state}",
                    expected="error.type set to a short name of the failure (an exception's class name, a status "
                    "code), not its message, and the status ERROR",
                    hint="span.set_attribute('error.type', type(err).__qualname__) and "
                    "span.set_status(Status(StatusCode.ERROR)) when the request raises.",
                )
            else:
                expect(
                    error_type is None and span["status"] != "ERROR",
                    observed=f"{ticket.ref} ({what}): the span of request {n}, which got an answer, has {state}",
                    expected="no error.type and no ERROR status on a call that got an answer",
                    hint="Each attempt has a span of its own: the failure of the first is not the second's.",
                )


# --------------------------------------------------------------------------- the ticket's span


@check(
    "ticket-span-carries-outcome",
    "The ticket's span says how it was routed: ref, queue, outcome, prompt version",
    points=2,
    cassette="ticket-span-carries-outcome",
    hint="Set the helpdesk.* attributes on the helpdesk.submit span once the ticket is routed.",
)
def test_ticket_span_carries_outcome(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                                     tmp_path: Path) -> None:
    recorders = Recorders(learner)
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    cases = [
        # (subject, body, expected outcome, asked the model?, what the recordings answer)
        ("Invoice page shows an error", "Opening any invoice gives a blank page.", "model", True,
         "a confident 'technical'"),
        ("Size guide for boots", "Do your boots run small? I am usually a 42.", "rules", True,
         "'shipping' with confidence 0.3, under the threshold"),
        ("Password reset link expired", "The link in the reset mail says it expired.", "degraded", True,
         "a 503 twice: the model failed"),
        (*BLANK, "rules", False, "nothing: a blank ticket is not sent to the model"),
    ]
    for subject, body, outcome, asked, what in cases:
        ticket, spans = submit(service, recorders, subject, body)
        span = ticket_span(spans, ticket.ref)
        wanted: dict[str, Any] = {
            "helpdesk.ticket.ref": ticket.ref,
            "helpdesk.ticket.queue": plain(ticket.queue),
            "helpdesk.ticket.outcome": outcome,
        }
        if asked:
            wanted["helpdesk.prompt.version"] = PROMPT_VERSION
        attributes = span["attributes"]
        wrong = [key for key, value in wanted.items() if attributes.get(key) != value]
        expect(
            not wrong,
            observed=f"{_outcome(ticket)} ({what}); its helpdesk.submit span has {shown_attributes(span, wanted)}",
            expected=", ".join(f"{k}={v!r}" for k, v in wanted.items()),
            hint="outcome is 'degraded' when the model failed, 'model' when it routed the ticket, 'rules' otherwise; "
            "the prompt version is classifier.PROMPT_VERSION, whenever the model was asked.",
        )


# --------------------------------------------------------------------------- no content in spans


@check(
    "no-content-in-spans",
    "No span holds message content or personal data",
    points=2,
    cassette="no-content-in-spans",
    hint="Record what happened (models, tokens, errors by class), never what was said: leave the messages, the "
    "answer and error messages out of spans.",
)
def test_no_content_in_spans(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                             tmp_path: Path) -> None:
    recorders = Recorders(learner)
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    cases = [
        ("Refund for order 5521 please",
         "Hi, this is Noor Haddad (+33 6 12 34 56 78). You charged my Visa twice for order 5521.",
         ["Noor Haddad", "+33 6 12 34 56 78"]),
        ("Boots for Lina arrived in the wrong size",
         "The boots for my daughter Lina arrived in size 38 instead of 35; I live at 12 rue des Lilas.",
         ["daughter Lina", "rue des Lilas"]),
    ]
    found: list[str] = []
    for subject, body, fragments in cases:
        ticket, spans = submit(service, recorders, subject, body)
        needles = [EMAIL, subject, body, *fragments, '"confidence"']
        for span in spans:
            texts = [("its name", span["name"])]
            texts += [(f"attribute {key}", value_text(value)) for key, value in span["attributes"].items()]
            for event in span["events"]:
                texts += [(f"event {event['name']!r}, attribute {key}", value_text(value))
                          for key, value in event["attributes"].items()]
            for where, text in texts:
                for needle in leaks(text, needles):
                    shown = "the model's answer" if needle == '"confidence"' else repr(needle)
                    found.append(f"span {span['name']!r} of {ticket.ref}, {where}, holds {shown}")
            found += [f"span {span['name']!r} of {ticket.ref} sets the content attribute {key}"
                      for key in span["attributes"] if key.startswith(CONTENT_KEYS)]
    expect(
        not found,
        observed="; ".join(found[:3]) + (f" (and {len(found) - 3} more)" if len(found) > 3 else ""),
        expected="no subject, body, e-mail address or answer text in any span name, attribute or event, and none "
        "of the opt-in content attributes (gen_ai.input.messages, gen_ai.output.messages, gen_ai.system_instructions)",
        hint="Spans are exported to systems with wider access than the ticket database. The ref identifies the "
        "ticket; the error's class (not its message) names a failure.",
    )


# --------------------------------------------------------------------------- metrics


@check(
    "token-usage-metric",
    "Token usage is recorded in the gen_ai.client.token.usage histogram, input and output apart",
    points=2,
    cassette="token-usage-metric",
    hint="Create the histogram with the injected meter_provider and record the response's prompt_tokens and "
    "completion_tokens, each with its gen_ai.token.type.",
)
def test_token_usage_metric(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                            tmp_path: Path) -> None:
    recorders = Recorders(learner)
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    # (subject, body); the recordings: 301 + 14 tokens; a 500 then 322 + 15 tokens; a 400 (no usage).
    tickets = [
        ("Receipt missing the VAT number", "Our accountant needs the VAT number on the receipt for order 6610."),
        ("App shows an error at login", "Logging in on Android ends with 'unexpected error'."),
        ("Wrong colour delivered", "I ordered a blue scarf and got a green one."),
    ]
    for subject, body in tickets:
        service.submit(subject, body, EMAIL)
    expected = {"input": (301 + 322, 2), "output": (14 + 15, 2)}
    metric = instrument(recorders.metrics(), "gen_ai.client.token.usage",
                        "meter.create_histogram('gen_ai.client.token.usage', unit='{token}') on the injected "
                        "meter_provider; record the tokens of every call that got an answer.")
    expect(
        metric["type"] == "histogram" and metric["unit"] == "{token}",
        observed=f"gen_ai.client.token.usage is a {metric['type']} with unit {metric['unit']!r}",
        expected="a histogram with unit '{token}'",
        hint="Use create_histogram(..., unit='{token}'), as the GenAI conventions define it.",
    )
    totals: dict[Any, list[float]] = {}
    for point in points(metric):
        kind = point["attributes"].get("gen_ai.token.type")
        total = totals.setdefault(kind, [0, 0])
        total[0] += point["sum"]
        total[1] += point["count"]
    observed = {kind: (total[0], total[1]) for kind, total in totals.items()}
    expect(
        observed == expected,
        observed="recorded (sum, count) by gen_ai.token.type: "
        + ", ".join(f"{k!r}: {v}" for k, v in sorted(observed.items(), key=str)),
        expected="'input': (623, 2), 'output': (29, 2): two calls got an answer (301 + 322 input tokens, 14 + 15 "
        "output tokens), a failed one (500) and a rejected one (400) used none",
        hint="One measurement per token type per answered call: usage.prompt_tokens as 'input', "
        "usage.completion_tokens as 'output'; nothing for a failed call.",
    )
    wanted = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": MODEL}
    for point in points(metric):
        attributes = point["attributes"]
        expect(
            all(attributes.get(k) == v for k, v in wanted.items()),
            observed=f"a token-usage measurement has the attributes {attributes}",
            expected=", ".join(f"{k}={v!r}" for k, v in wanted.items()) + " on every measurement",
            hint="Give the measurements the request's GenAI attributes, as on the call's span.",
        )


@check(
    "duration-metric",
    "Every call's duration is recorded in seconds in gen_ai.client.operation.duration, failed ones with error.type",
    points=2,
    cassette="duration-metric",
    hint="Measure each request (in a finally, so failed ones count) and record the seconds in a histogram with "
    "unit 's', adding error.type when the request failed.",
)
def test_duration_metric(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                         tmp_path: Path) -> None:
    recorders = Recorders(learner)
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    # The recordings: an answer; a 503, then an answer; a 400.
    tickets = [
        ("Promo code rejected at checkout", "SPRING10 is refused although your mail says it runs until Sunday."),
        ("Parcel marked as delivered", "Tracking says delivered yesterday but nothing is here."),
        ("Two-factor code never arrives", "The sign-in code goes to my old phone number."),
    ]
    clock_start, wall_start = fake_clock.monotonic(), time.monotonic()
    for subject, body in tickets:
        service.submit(subject, body, EMAIL)
    clock_spent, wall_spent = fake_clock.monotonic() - clock_start, time.monotonic() - wall_start
    metric = instrument(recorders.metrics(), "gen_ai.client.operation.duration",
                        "meter.create_histogram('gen_ai.client.operation.duration', unit='s') on the injected "
                        "meter_provider; record every call's duration.")
    expect(
        metric["type"] == "histogram" and metric["unit"] == "s",
        observed=f"gen_ai.client.operation.duration is a {metric['type']} with unit {metric['unit']!r}",
        expected="a histogram with unit 's' (seconds)",
        hint="Use create_histogram(..., unit='s'), as the GenAI conventions define it.",
    )
    measured = points(metric)
    count = sum(p["count"] for p in measured)
    failed = sum(p["count"] for p in measured if p["attributes"].get("error.type"))
    expect(
        count == len(sent_requests) and failed == 2,
        observed=f"{count} duration measurement(s), {failed} of them with error.type, for {len(sent_requests)} "
        "request(s)",
        expected=f"{len(sent_requests)} measurements, one per request, 2 of them (the 503 and the 400) with error.type",
        hint="Record the duration of every request, the failed ones too, and give a failed one error.type.",
    )
    total = sum(p["sum"] for p in measured)
    bound = clock_spent + wall_spent + 0.05
    expect(
        0 < total <= bound,
        observed=f"the durations add up to {total:g}",
        expected=f"more than 0 and at most {bound:.3g} seconds: the {len(sent_requests)} requests took "
        f"{CALL_SECONDS:g} s each on the injected clock (and a few milliseconds of real time)",
        hint="Record seconds, not milliseconds: the difference of two clock.monotonic() (or time.monotonic()) "
        "readings around the request.",
    )
    wanted = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": MODEL}
    for point in measured:
        attributes = point["attributes"]
        expect(
            all(attributes.get(k) == v for k, v in wanted.items()),
            observed=f"a duration measurement has the attributes {attributes}",
            expected=", ".join(f"{k}={v!r}" for k, v in wanted.items()) + " on every measurement",
            hint="Give the measurements the request's GenAI attributes, as on the call's span.",
        )


# --------------------------------------------------------------------------- structured logs


@check(
    "json-log-per-ticket",
    "Every submit() writes one JSON log record with the ref, the outcome and the trace id",
    points=2,
    cassette="json-log-per-ticket",
    hint="Write one JSON object per line to log_stream at the end of submit(), inside the ticket's span.",
)
def test_json_log_per_ticket(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                             tmp_path: Path) -> None:
    recorders = Recorders(learner)
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    cases = [
        # (subject, body, expected outcome, what the recordings answer)
        ("Login page keeps reloading", "I enter my password and the login page just reloads.", "model",
         "a confident answer"),
        ("Refund still not on my card", "You confirmed the refund for order 5521 two weeks ago.", "model",
         "a 503, then a confident answer"),
        ("Basket empty after I sign in", "Every time I sign in, my saved basket is gone.", "degraded", "a 400"),
        (*BLANK, "rules", "nothing: a blank ticket"),
    ]
    for subject, body, outcome, what in cases:
        ticket, spans = submit(service, recorders, subject, body)
        lines = log_lines(recorders.new_log_text())
        expect(
            len(lines) == 1,
            observed=f"submitting {ticket.ref} wrote {len(lines)} line(s) to log_stream"
            + (f", the first: {lines[0][:160]!r}" if lines else ""),
            expected="exactly one line, a JSON object, per submit()",
            hint="Write one record per ticket to the injected log_stream, and nothing else there.",
        )
        record = json_record(lines[0], ticket.ref)
        root = ticket_span(spans, ticket.ref)
        wanted = {
            "ticket": ticket.ref,
            "queue": plain(ticket.queue),
            "outcome": outcome,
            "model_calls": len(about(sent_requests, ticket.ref)),
            "trace_id": root["trace_id"],
        }
        shown = ", ".join(f"{k}={record[k]!r}" if k in record else f"{k}=(missing)" for k in wanted)
        expect(
            all(record.get(k) == v and type(record.get(k)) is type(v) for k, v in wanted.items()),
            observed=f"{_outcome(ticket)} ({what}); its log record has {shown}",
            expected=", ".join(f"{k}={v!r}" for k, v in wanted.items())
            + " (trace_id: the trace of its helpdesk.submit span, 32 lower-case hex digits)",
            hint="model_calls counts the requests sent for the ticket (retries included); the trace id is "
            "format(span.get_span_context().trace_id, '032x') of the ticket's span.",
        )


@check(
    "no-personal-data-in-logs",
    "No log record holds the customer's e-mail address or the ticket's text",
    points=2,
    cassette="no-personal-data-in-logs",
    hint="Log the ref, never the e-mail address, the subject, the body or the prompt, at any level.",
)
def test_no_personal_data_in_logs(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                                  tmp_path: Path) -> None:
    recorders = Recorders(learner)
    logs = learner.load("kata.host.telemetry").LogRecorder("")
    service = make_service(learner, tmp_path, latency_client(openai_client, fake_clock), fake_clock, recorders)
    cases = [
        # (subject, body, personal data in them); recordings: an answer; a 500 twice (degraded); a low confidence
        ("Invoice sent to my old address, Noor Haddad", "Please resend invoice 4410 to 12 rue des Lilas, 69003 Lyon.",
         ["Noor Haddad", "rue des Lilas"]),
        ("Courier was rude to my mother Samira", "The courier shouted at my mother Samira at the door this morning.",
         ["Samira"]),
        ("Question about my account", "My phone number changed to +33 6 98 76 54 32, can you update it?",
         ["+33 6 98 76 54 32"]),
    ]
    needles = [EMAIL]
    for subject, body, fragments in cases:
        service.submit(subject, body, EMAIL)
        needles += [subject, body, *fragments]
    found: list[str] = []
    for record in logs.records():
        if record["logger"].split(".")[0] in SDK_LOGGERS:
            continue
        text = " ".join([record["message"], record["exc_text"] or "", *record["extra"].values()])
        found += [f"a {record['level']} record of logger {record['logger']!r} holds {needle!r}"
                  for needle in leaks(text, needles)]
    for line in log_lines(recorders.new_log_text()):
        found += [f"a JSON record on log_stream holds {needle!r}" for needle in leaks(line, needles)]
    expect(
        not found,
        observed="; ".join(found[:3]) + (f" (and {len(found) - 3} more)" if len(found) > 3 else ""),
        expected="no e-mail address, subject or body in any log record of the service (DEBUG included) nor on "
        "log_stream",
        hint="Look for every log call that formats the ticket, its customer or the message sent to the model; the "
        "ref is how an agent finds the ticket.",
    )


# --------------------------------------------------------------------------- requests as before


@check(
    "requests-keep-their-timeout",
    "Requests still have the configured time-out, also with a client built with the SDK's defaults",
    points=1,
    guard=True,
    cassette="requests-keep-their-timeout",
    hint="Keep the time-out and the SDK's retries switched off on every request, however the spans are made.",
)
def test_requests_keep_their_timeout(learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any,
                                     tmp_path: Path) -> None:
    client = openai_client(sdk_defaults=True)
    service = make_service(learner, tmp_path, client, fake_clock, None, request_timeout=4.0)
    ticket = service.submit("Refund for a cancelled order", "I cancelled order 8812 within the hour.", EMAIL)
    requests = about(sent_requests, ticket.ref)
    shown = ", ".join(f"time-out {r.timeout}, SDK attempt {r.retry_count}" for r in requests) or "none"
    expect(
        len(requests) == 1 and all(r.timeout is not None and 0 < r.timeout <= 4.0 and r.retry_count == 0
                                   for r in requests),
        observed=f"{len(requests)} request(s) about {ticket.ref}: {shown}",
        expected="one request with a time-out of at most settings.request_timeout (4 s here), not the SDK's 600 s",
        hint="Every request keeps timeout=settings.request_timeout and max_retries=0, whatever client was injected.",
    )
