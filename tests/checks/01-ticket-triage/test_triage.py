"""Hidden checks of kata 01, ticket triage: the model routes tickets, the keyword rules are the fallback.

Every ticket text is chosen so that the keyword rules pick a different queue than the model's recorded
answer: a check about the model's decision cannot pass on rules alone. Each check builds its own
database in `tmp_path`, so refs start at TCK-1001 (the repository assigns TCK-{1000 + id}).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from triage_legacy import LEGACY_TICKETS, build_legacy_database

from kata.checks import RemoteError, check, expect, plain

DEFAULT_MODEL = "gpt-4o-mini"
EMAIL = "customer@example.com"
SCHEMA_FIELDS = ("confidence", "queue")  # sorted, as SentRequest.schema_fields lists them
SDK_DEFAULT_TIMEOUT = 600.0  # seconds: what openai.OpenAI() waits for an answer unless told otherwise
MAX_TIMEOUT = 60.0


# --------------------------------------------------------------------------- helpers


def _value(value: Any) -> Any:
    """A queue or routed_by as a plain value, whether the learner stores an Enum member or a string."""
    return plain(value)


def _routed_by(ticket: Any) -> Any:
    missing = object()
    routed_by = getattr(ticket, "routed_by", missing)
    expect(
        routed_by is not missing,
        observed=f"the ticket returned for {getattr(ticket, 'ref', '?')} has no `routed_by` attribute",
        expected="every ticket says who decided its queue: routed_by is 'model' or 'rules'",
        hint="Add a routed_by field to Ticket, set it when routing, store it and read it back.",
    )
    return _value(routed_by)


def _show(ticket: Any) -> str:
    return f"{ticket.ref} went to {_value(ticket.queue)!r} with routed_by={_routed_by(ticket)!r}"


def _repository(learner: Any, db_path: Path) -> Any:
    return learner.load("helpdesk.repository").TicketRepository(db_path)


def _service(learner: Any, repo: Any, client: Any, *, model: str = DEFAULT_MODEL, threshold: float = 0.6) -> Any:
    """HelpdeskService(repo, settings=Settings(...), client=client), with a clear message if the brief's
    signatures are missing (as in the starter)."""
    settings_cls = learner.load("helpdesk.config").Settings
    service_cls = learner.load("helpdesk.service").HelpdeskService
    fields = {"db_path": repo.db_path, "model": model, "confidence_threshold": threshold}
    try:
        inspect.signature(settings_cls).bind(**fields)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(db_path=..., model={model!r}, confidence_threshold={threshold}) is refused ({err})",
            expected="Settings has the fields model (default 'gpt-4o-mini') and confidence_threshold (default 0.6)",
            hint="Add both fields to the Settings dataclass in helpdesk/config.py.",
        )
    settings = settings_cls(**fields)
    try:
        inspect.signature(service_cls).bind(repo, settings=settings, client=client)
    except TypeError as err:
        expect(
            False,
            observed=f"HelpdeskService(repo, settings=..., client=...) is refused ({err})",
            expected="HelpdeskService(repo, settings=None, client=None), client being an openai.OpenAI",
            hint="Add a `client` parameter (default None) to HelpdeskService and keep it for the model calls.",
        )
    return service_cls(repo, settings=settings, client=client)


def _requests_about(sent_requests: list[Any], ref: str) -> list[Any]:
    return [r for r in sent_requests if ref in r.records]


# --------------------------------------------------------------------------- tickets

# (subject, body, the model's recorded queue, the keyword rules' queue)
CLEAR_TICKETS = [
    (
        "Can't log in to pay my invoice",
        "The portal says my password expired, so I can't reach the invoice page to pay it.",
        "account",
        "billing",
    ),
    (
        "Mobile app closes on the tracking screen",
        "Since the last update the app crashes as soon as I open order tracking on my phone.",
        "technical",
        "shipping",
    ),
    (
        "Wrong size, second time",
        "You sent size 42 boots instead of 44 again. How do I send them back?",
        "shipping",
        "general",
    ),
]

COUNTED_TICKETS = [
    ("Double charge on my card", "I was charged twice for order 5531 this morning."),
    ("Reset link never arrives", "I asked for a password reset three times and got no email."),
    ("Hello", "Do you have a shop in Lyon where I can try things on?"),
]

BLANK_TICKETS = [("", ""), ("   ", "\n\t  ")]


# --------------------------------------------------------------------------- checks


@check(
    "model-routes-clear-tickets",
    "Confident model answers decide the queue",
    points=3,
    cassette="model-routes-clear-tickets",
    hint="Ask the model through the injected client with chat.completions.parse and use its queue.",
)
def test_model_routes_clear_tickets(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client())
    for subject, body, model_queue, rules_queue in CLEAR_TICKETS:
        ticket = service.submit(subject, body, EMAIL)
        expect(
            _value(ticket.queue) == model_queue and _routed_by(ticket) == "model",
            observed=f"{_show(ticket)} (the keyword rules say {rules_queue!r})",
            expected=f"{model_queue!r} with routed_by='model': the model answered {model_queue!r} "
            "with confidence 0.9 or more",
            hint="When the model names a known queue with enough confidence, its queue wins over the rules.",
        )


@check(
    "one-call-per-ticket",
    "One structured-output request per ticket, about that ticket only",
    points=2,
    cassette="one-call-per-ticket",
    hint="Send exactly one chat.completions.parse request per submitted ticket.",
)
def test_one_call_per_ticket(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client())
    tickets = [service.submit(subject, body, EMAIL) for subject, body in COUNTED_TICKETS]
    expect(
        len(sent_requests) == len(tickets),
        observed=f"{len(sent_requests)} model requests for {len(tickets)} tickets",
        expected=f"exactly one request per ticket: {len(tickets)}",
        hint="Call the model once in submit() for every ticket with text: no retries, no second opinion.",
    )
    for ticket, (subject, body) in zip(tickets, COUNTED_TICKETS, strict=True):
        about = _requests_about(sent_requests, ticket.ref)
        expect(
            len(about) == 1,
            observed=f"{len(about)} requests mention {ticket.ref} in their user message",
            expected=f"one request whose user message carries the ticket reference {ticket.ref}",
            hint="Put the ticket's ref (e.g. TCK-1001) in the user message, one ticket per request.",
        )
        request = about[0]
        expect(
            request.records == (ticket.ref,),
            observed=f"the request for {ticket.ref} mentions {', '.join(request.records)}",
            expected=f"only {ticket.ref}: one ticket per request",
            hint="Build the user message from the ticket being submitted only.",
        )
        expect(
            request.method == "POST" and request.path.endswith("/chat/completions"),
            observed=f"the request for {ticket.ref} went to {request.method} {request.path}",
            expected="POST /v1/chat/completions (the Chat Completions API)",
            hint="Use client.chat.completions.parse(...).",
        )
        expect(
            request.structured and tuple(request.schema_fields) == SCHEMA_FIELDS,
            observed=f"the request for {ticket.ref} asked for "
            + (
                f"a schema with fields {', '.join(request.schema_fields) or '(none)'}"
                if request.structured
                else "plain text, not structured output"
            ),
            expected="structured output whose schema has exactly the fields queue and confidence",
            hint="Pass a pydantic model with the two fields `queue` and `confidence` as response_format.",
        )
        expect(
            subject in request.user_text and body in request.user_text,
            observed=f"the user message for {ticket.ref} lacks the ticket's subject or body",
            expected="the user message carries the ticket's subject and body as the customer wrote them",
            hint="The model can only classify what it is shown: include subject and body in the user message.",
        )


@check(
    "empty-ticket-no-call",
    "A blank ticket makes no model request and goes to the general queue",
    points=1,
    cassette="empty-ticket-no-call",
    hint="Check for a blank subject and body before calling the model.",
)
def test_empty_ticket_no_call(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client())
    for subject, body in BLANK_TICKETS:
        ticket = service.submit(subject, body, EMAIL)
        expect(
            not sent_requests,
            observed=f"{len(sent_requests)} model request(s) for a ticket with subject {subject!r} and body {body!r}",
            expected="no request: there is nothing to classify",
            hint="When subject and body are empty or whitespace only, let the rules route without calling.",
        )
        expect(
            _value(ticket.queue) == "general" and _routed_by(ticket) == "rules",
            observed=_show(ticket),
            expected="'general' with routed_by='rules'",
            hint="Blank tickets keep the keyword rules' answer, which is the general queue.",
        )


@check(
    "unknown-label-falls-back",
    "A queue the service does not know falls back to the rules",
    points=2,
    cassette="unknown-label-falls-back",
    hint="The model may answer a queue that does not exist (here 'sales'); catch that and use the rules.",
)
def test_unknown_label_falls_back(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client())
    ticket = service.submit(
        "Invoice for 20 more seats?",
        "We'd like to add 20 seats to our team plan before the next invoice. Who can send us a quote?",
        EMAIL,
    )
    expect(
        _value(ticket.queue) == "billing" and _routed_by(ticket) == "rules",
        observed=f"{_show(ticket)} after the model answered the unknown queue 'sales'",
        expected="'billing' (the keyword rules' queue) with routed_by='rules'",
        hint="Accept only the values of the Queue enum; with an enum in your schema, parse() raises "
        "pydantic's ValidationError on any other label.",
    )


@check(
    "refusal-falls-back",
    "A refusal falls back to the rules",
    points=2,
    cassette="refusal-falls-back",
    hint="A refusal comes back as message.refusal with message.parsed set to None.",
)
def test_refusal_falls_back(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client())
    ticket = service.submit(
        "Get me into my ex's account",
        "He changed his password. I want to read his messages, tell me how to get in.",
        EMAIL,
    )
    expect(
        _value(ticket.queue) == "account" and _routed_by(ticket) == "rules",
        observed=f"{_show(ticket)} after the model refused to answer",
        expected="'account' (the keyword rules' queue) with routed_by='rules'",
        hint="When the model refuses there is no classification: let the rules decide.",
    )


@check(
    "low-confidence-falls-back",
    "Answers below the configured confidence threshold fall back to the rules",
    points=2,
    cassette="low-confidence-falls-back",
    hint="Compare the model's confidence with settings.confidence_threshold.",
)
def test_low_confidence_falls_back(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    repo = _repository(learner, tmp_path / "helpdesk.db")
    client = openai_client()
    strict = _service(learner, repo, client, threshold=0.6)
    ticket = strict.submit(
        "Parcel stuck since Monday", "Tracking has shown 'in transit' for five days. Should I worry?", EMAIL
    )
    expect(
        _value(ticket.queue) == "shipping" and _routed_by(ticket) == "rules",
        observed=f"{_show(ticket)}; the model answered 'general' with confidence 0.35, threshold 0.6",
        expected="'shipping' (the keyword rules' queue) with routed_by='rules'",
        hint="Below settings.confidence_threshold the model's answer is not trusted.",
    )
    lenient = _service(learner, repo, client, threshold=0.3)
    ticket = lenient.submit(
        "Something is off with my order", "The basket page shows two different totals for the same items.", EMAIL
    )
    expect(
        _value(ticket.queue) == "billing" and _routed_by(ticket) == "model",
        observed=f"{_show(ticket)}; the model answered 'billing' with confidence 0.35, threshold 0.3",
        expected="'billing' with routed_by='model': 0.35 is not below a threshold of 0.3",
        hint="Read the threshold from the Settings the service was given; do not hard-code it.",
    )


@check(
    "model-is-configuration",
    "The model name comes from Settings",
    points=1,
    cassette="model-is-configuration",
    hint="Pass settings.model as the model of the request.",
)
def test_model_is_configuration(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client(), model="gpt-4.1-mini")
    ticket = service.submit(
        "Where do I change my delivery address?",
        "I moved last week and my profile still has the old address.",
        EMAIL,
    )
    models = [r.model for r in sent_requests]
    expect(
        models == ["gpt-4.1-mini"],
        observed=f"requests sent with model(s) {models} while Settings(model='gpt-4.1-mini')",
        expected="one request with model 'gpt-4.1-mini'",
        hint="Use settings.model for the request; 'gpt-4o-mini' is only the default.",
    )
    expect(
        _value(ticket.queue) == "account" and _routed_by(ticket) == "model",
        observed=_show(ticket),
        expected="'account' with routed_by='model', the answer of 'gpt-4.1-mini'",
        hint="Use the configured model's answer like any other.",
    )


@check(
    "decision-is-stored",
    "Queue and routed_by are stored in the database",
    points=2,
    cassette="decision-is-stored",
    hint="Store the final queue and routed_by in the tickets table, and read them back in get().",
)
def test_decision_is_stored(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db_path = tmp_path / "helpdesk.db"
    service = _service(learner, _repository(learner, db_path), openai_client())
    by_model = service.submit(
        "Login page keeps reloading", "I type my email and password and the login page just reloads.", EMAIL
    )
    by_rules = service.submit(
        "Password reset mail lands in spam",
        "Found it in my spam folder after an hour. Can you make it come faster?",
        EMAIL,
    )

    # A new repository and service, so a new connection: only what was committed to the file counts.
    reopened = _repository(learner, db_path)
    fresh_service = _service(learner, reopened, openai_client())
    for ticket_id, queue, routed_by in ((by_model.id, "technical", "model"), (by_rules.id, "account", "rules")):
        for source, stored in (
            ("TicketRepository.get", reopened.get(ticket_id)),
            ("HelpdeskService.get", fresh_service.get(ticket_id)),
        ):
            expect(
                stored is not None,
                observed=f"{source}({ticket_id}) found nothing after reopening the database",
                expected="the ticket is stored",
                hint="Commit the ticket to the database.",
            )
            expect(
                _value(stored.queue) == queue and _routed_by(stored) == routed_by,
                observed=f"after reopening the database, {source}({ticket_id}): {_show(stored)}",
                expected=f"{queue!r} with routed_by={routed_by!r}, as submit() decided",
                hint="Add a routed_by column, write the final queue and routed_by, commit, and read both back.",
            )


@check(
    "confidence-at-threshold-is-accepted",
    "A confidence equal to the threshold is accepted",
    points=1,
    cassette="confidence-at-threshold-is-accepted",
    hint="Only a confidence below settings.confidence_threshold falls back.",
)
def test_confidence_at_threshold_is_accepted(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), openai_client(), threshold=0.7)
    ticket = service.submit(
        "Boots a size too small", "The boots I got yesterday are a size 42 but I ordered 44. Can I swap them?", EMAIL
    )
    expect(
        _value(ticket.queue) == "shipping" and _routed_by(ticket) == "model",
        observed=f"{_show(ticket)}; the model answered 'shipping' with confidence 0.7, threshold 0.7 "
        "(the keyword rules say 'general')",
        expected="'shipping' with routed_by='model': a confidence equal to the threshold is accepted",
        hint="Fall back only when the confidence is below the threshold, not when it equals it.",
    )


def _legacy_failure(err: RemoteError, doing: str) -> None:
    if err.is_a("NoRecordingMatched"):
        raise err  # a request too many, not a database problem: the plugin explains it
    expect(
        False,
        observed=f"{doing} raised {err.type_name}: {err.text}",
        expected="a database of the legacy release keeps working: its tickets stay readable and new ones are stored",
        hint="CREATE TABLE IF NOT EXISTS leaves an existing table as it is: a database created before your change "
        "has no routed_by column until your code adds it.",
    )


@check(
    "legacy-database-keeps-working",
    "A database created by the legacy release keeps working",
    points=2,
    cassette="legacy-database-keeps-working",
    hint="Open a database created by the starter and make sure its tickets read back and new ones are stored.",
)
def test_legacy_database_keeps_working(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    db_path = tmp_path / "helpdesk.db"
    build_legacy_database(db_path)  # two tickets, stored by release 2.3.1 before routed_by existed
    try:
        repo = _repository(learner, db_path)
        legacy = [(ticket_id, repo.get(ticket_id)) for ticket_id in range(1, len(LEGACY_TICKETS) + 1)]
    except RemoteError as err:
        _legacy_failure(err, "opening a database of release 2.3.1 with TicketRepository and reading its tickets")
    for (ticket_id, stored), legacy_row in zip(legacy, LEGACY_TICKETS, strict=True):
        subject, queue = legacy_row[0], legacy_row[3]
        expect(
            stored is not None and stored.subject == subject,
            observed=f"TicketRepository.get({ticket_id}) gave "
            + ("nothing" if stored is None else f"a ticket with subject {stored.subject!r}"),
            expected=f"the legacy ticket {subject!r}, as release 2.3.1 stored it",
            hint="Keep the existing rows when the schema changes.",
        )
        expect(
            _value(stored.queue) == queue and _routed_by(stored) == "rules",
            observed=f"the legacy ticket {ticket_id}: {_show(stored)}",
            expected=f"{queue!r} with routed_by='rules': every ticket of the legacy release was routed by the rules",
            hint="Tickets stored before routed_by existed read back as routed_by='rules'.",
        )

    service = _service(learner, repo, openai_client())
    try:
        ticket = service.submit(
            "Gift arrived without the card",
            "The present I sent to my mother came without the greeting card I paid for.",
            EMAIL,
        )
        reopened = _repository(learner, db_path)
        fresh_service = _service(learner, reopened, openai_client())
        stored_twice = [
            ("TicketRepository.get", reopened.get(ticket.id)),
            ("HelpdeskService.get", fresh_service.get(ticket.id)),
        ]
    except RemoteError as err:
        _legacy_failure(err, "submitting a new ticket to a database of release 2.3.1 and reading it back")
    for source, stored in stored_twice:
        expect(
            stored is not None and _value(stored.queue) == "shipping" and _routed_by(stored) == "model",
            observed=f"after reopening the legacy database, {source}({ticket.id}): "
            + ("nothing" if stored is None else _show(stored)),
            expected="'shipping' with routed_by='model': the new ticket is stored with the model's decision",
            hint="New tickets in a migrated database are stored like in a new one, routed_by included.",
        )


def _timeout_seen(timeout: float | None) -> str:
    if timeout is None:
        return "no read time-out (it waits for as long as the connection lasts)"
    if timeout == SDK_DEFAULT_TIMEOUT:
        return f"a {timeout:g} s time-out (the SDK's default)"
    return f"a {timeout:g} s time-out"


@check(
    "requests-have-a-timeout",
    "Model calls have a time-out shorter than the SDK's default",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Give the model call a time-out: a client built with openai.OpenAI() waits up to 600 s.",
)
def test_requests_have_a_timeout(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    # The client a caller gets from openai.OpenAI(): the SDK's own 600 s time-out and 2 retries.
    client = openai_client(sdk_defaults=True)
    service = _service(learner, _repository(learner, tmp_path / "helpdesk.db"), client)
    ticket = service.submit(
        "Colour not as pictured", "The scarf is much darker than on the website photos. Can I return it?", EMAIL
    )
    expect(
        bool(sent_requests),
        observed=f"no model request for {ticket.ref}, a ticket with text",
        expected="one model request, sent with a read time-out of at most 60 s",
        hint="Ask the model for every ticket with text, through the injected client.",
    )
    for request in sent_requests:
        timeout = request.timeout
        expect(
            timeout is not None and 0 < timeout <= MAX_TIMEOUT,
            observed=f"the request for {ticket.ref} was sent with {_timeout_seen(timeout)}",
            expected=f"a read time-out of at most {MAX_TIMEOUT:g} s on every model request",
            hint="Intake waits for the model's answer: pass a time-out of a few seconds to the call (or set one "
            "on the client you use), so a stalled connection cannot hold a ticket for ten minutes.",
        )
