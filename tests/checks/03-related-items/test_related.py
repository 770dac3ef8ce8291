"""Hidden checks of kata 03, related items: a model orders the box, the legacy ranking keeps it safe.

Each check builds its own shop in `tmp_path` (see related_support). The recorded model answers are
chosen so that the model's order always differs from the legacy order, and the legacy order differs
from the SKUs' alphabetical order wherever padding is observed: a check about the model's order or
about padding cannot pass by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from related_support import (
    CATALOG,
    DEFAULT_LIMIT,
    DEFAULT_MODEL,
    DEFAULT_POOL,
    SCHEMA_FIELDS,
    body_text,
    box,
    build_shop,
    customer_leaks,
    make_service,
    mentions,
    scenario,
    show,
)

from kata.checks import check, expect, plain

# --------------------------------------------------------------------------- scenarios

MODEL_ORDER = scenario(
    "SKU-1001", "SKU-1002", "SKU-1003", "SKU-1007", "SKU-1012", "SKU-1014", "SKU-1009", "SKU-1015", "SKU-1017",
    "SKU-1011",
)
REQUEST = scenario(
    "SKU-1004", "SKU-1005", "SKU-1019", "SKU-1006", "SKU-1016", "SKU-1013", "SKU-1009", "SKU-1011", "SKU-1010",
    "SKU-1015", "SKU-1020", discontinued={"SKU-1019"},
)
INVENTED = scenario(
    "SKU-1013", "SKU-1016", "SKU-1019", "SKU-1006", "SKU-1004", "SKU-1005", "SKU-1011", "SKU-1015", "SKU-1012",
    "SKU-1017", "SKU-1018", discontinued={"SKU-1019"},
)
DUPLICATES = scenario("SKU-1009", "SKU-1010", "SKU-1016", "SKU-1015", "SKU-1011", "SKU-1012")
PADDED = scenario("SKU-1014", "SKU-1018", "SKU-1011", "SKU-1012", "SKU-1003", "SKU-1017", "SKU-1009")
FEW = scenario("SKU-1015", "SKU-1013", "SKU-1009", "SKU-1010")
API_500 = scenario("SKU-1001", "SKU-1002", "SKU-1003", "SKU-1007", "SKU-1012", "SKU-1014")
API_TIMEOUT = scenario("SKU-1004", "SKU-1005", "SKU-1006", "SKU-1016", "SKU-1013", "SKU-1010")
REFUSED = scenario("SKU-1008", "SKU-1007", "SKU-1001", "SKU-1009", "SKU-1011", "SKU-1014")
NOT_JSON = scenario("SKU-1012", "SKU-1011", "SKU-1014", "SKU-1003", "SKU-1017", "SKU-1002")
CUT_OFF = scenario("SKU-1016", "SKU-1006", "SKU-1004", "SKU-1005", "SKU-1013", "SKU-1010")
CUSTOMER = scenario("SKU-1007", "SKU-1008", "SKU-1001", "SKU-1012", "SKU-1011", "SKU-1013", "SKU-1009", "SKU-1017")
CUSTOMER_HISTORY = [{"SKU-1014": 1, "SKU-1011": 1}, {"SKU-1001": 1, "SKU-1003": 1}]
NOTHING = scenario("SKU-1018")
ONE = scenario("SKU-1020", "SKU-1010")
ONE_LEFT = scenario("SKU-1019", "SKU-1016", "SKU-1005", discontinued={"SKU-1016"})
SETTINGS = scenario("SKU-1008", "SKU-1007", "SKU-1001", "SKU-1009", "SKU-1011", "SKU-1014", "SKU-1012", "SKU-1017")
LEGACY = scenario(
    "SKU-1001", "SKU-1002", "SKU-1019", "SKU-1003", "SKU-1007", "SKU-1012", "SKU-1014", discontinued={"SKU-1019"}
)

TIMEOUT = scenario("SKU-1006", "SKU-1004", "SKU-1005", "SKU-1016", "SKU-1013", "SKU-1020")
MAX_TIMEOUT = 60  # seconds; the SDK's default is 600

PAD_HINT = (
    "After the model's valid SKUs, append the candidates it did not name in the legacy ranking's order "
    "(most often bought together first), then cut the list at settings.related_limit."
)


def _db(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


def _why_legacy(what: str) -> str:
    return f"the legacy ranking, unchanged: {what}, so there is no usable order from the model"


# --------------------------------------------------------------------------- the model's order


@check(
    "model-order-wins",
    "The model's order of the candidates decides the box",
    points=3,
    cassette="model-order-wins",
    hint="Ask the model through the injected client with chat.completions.parse and show its order.",
)
def test_model_order_wins(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [MODEL_ORDER])
    service = make_service(learner, shop.repo, openai_client())
    got = box(service, MODEL_ORDER.viewed)
    expected = ["SKU-1007", "SKU-1003", "SKU-1017", "SKU-1002"]
    expect(
        got == expected,
        observed=f"the box for {MODEL_ORDER.viewed} was {show(got)} "
        f"(the legacy ranking is {show(MODEL_ORDER.legacy()[:DEFAULT_LIMIT])})",
        expected=f"{show(expected)}: the first {DEFAULT_LIMIT} of the model's order, which named all 8 "
        "candidates, each once",
        hint="When the model's answer is usable, its order wins; cut it at settings.related_limit.",
    )


@check(
    "request-carries-candidates",
    "One structured request per box, carrying the top candidates and their descriptions",
    points=2,
    cassette="request-carries-candidates",
    hint="Send exactly one chat.completions.parse request per related_items call, about the candidates.",
)
def test_request_carries_candidates(
    learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path
) -> None:
    shop = build_shop(learner, _db(tmp_path), [REQUEST])
    service = make_service(learner, shop.repo, openai_client())
    box(service, REQUEST.viewed)
    pool = REQUEST.legacy()[:DEFAULT_POOL]
    expect(
        len(sent_requests) == 1,
        observed=f"{len(sent_requests)} model requests for one related_items({REQUEST.viewed!r}) call",
        expected="exactly one request per call: no retries, no second opinion, no request per candidate",
        hint="Ask once, with every candidate in the same request.",
    )
    request = sent_requests[0]
    expect(
        request.method == "POST" and request.path.endswith("/chat/completions"),
        observed=f"the request went to {request.method} {request.path}",
        expected="POST /v1/chat/completions (the Chat Completions API)",
        hint="Use client.chat.completions.parse(...).",
    )
    expect(
        request.structured and tuple(request.schema_fields) == SCHEMA_FIELDS,
        observed="the request asked for "
        + (
            f"a schema with fields {', '.join(request.schema_fields) or '(none)'}"
            if request.structured
            else "plain text, not structured output"
        ),
        expected="structured output whose schema has exactly one field, skus (a list of strings)",
        hint="Pass a pydantic model with the single field `skus: list[str]` as response_format.",
    )
    wanted = tuple(sorted([REQUEST.viewed, *pool]))
    expect(
        request.records == wanted,
        observed=f"the user message names the SKUs {', '.join(request.records) or '(none)'}",
        expected=f"the viewed product {REQUEST.viewed} and the legacy ranking's first {DEFAULT_POOL} products "
        f"({', '.join(pool)}): SKU-1019 is discontinued and SKU-1020 comes 9th",
        hint="The candidates are the first settings.rerank_pool products of the legacy ranking "
        "(discontinued and already-bought products are never candidates); name no other SKU.",
    )
    missing = [sku for sku in (REQUEST.viewed, *pool) if CATALOG[sku][1] not in request.user_text]
    expect(
        not missing,
        observed=f"the user message lacks the description of {', '.join(missing)}",
        expected="the description of the viewed product and of every candidate, as stored in the catalog",
        hint="The model orders by what the products are: put each product's description in the user message.",
    )


# --------------------------------------------------------------------------- the model's answer, made safe


@check(
    "invented-ids-dropped",
    "SKUs that are not candidates never reach the box",
    points=3,
    cassette="invented-ids-dropped",
    hint="Keep a SKU from the model's answer only when it is one of the candidates you sent.",
)
def test_invented_ids_dropped(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [INVENTED])
    service = make_service(learner, shop.repo, openai_client())
    got = box(service, INVENTED.viewed)
    expected = ["SKU-1015", "SKU-1005", "SKU-1016", "SKU-1006"]
    answer = "SKU-9999, SKU-1015, SKU-1013, SKU-1019, SKU-1018, SKU-1005, SKU-2077"
    expect(
        got == expected,
        observed=f"the box for {INVENTED.viewed} was {show(got)} after the model answered [{answer}]",
        expected=f"{show(expected)}: the candidates the model named, in its order (SKU-1015, SKU-1005), then "
        "the legacy ranking's next candidates (SKU-1016, SKU-1006). SKU-9999 and SKU-2077 do not exist, "
        "SKU-1013 is the viewed product itself, SKU-1019 is discontinued and SKU-1018 was not among the "
        "8 candidates",
        hint="Check every SKU against the candidates you sent, not against the catalog: drop the others "
        "and keep the rest of the answer. " + PAD_HINT,
    )


@check(
    "duplicates-removed",
    "A SKU the model repeats appears once",
    points=2,
    cassette="duplicates-removed",
    hint="Skip a SKU you have already kept.",
)
def test_duplicates_removed(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [DUPLICATES])
    service = make_service(learner, shop.repo, openai_client())
    got = box(service, DUPLICATES.viewed)
    expected = ["SKU-1011", "SKU-1016", "SKU-1012", "SKU-1010"]
    expect(
        got == expected,
        observed=f"the box for {DUPLICATES.viewed} was {show(got)} after the model answered "
        "[SKU-1011, SKU-1011, SKU-1016, SKU-1011, SKU-1012, SKU-1016]",
        expected=f"{show(expected)}: each SKU once, at its first place in the answer, then padded with "
        "SKU-1010, the legacy ranking's best candidate not yet shown",
        hint="Walk the answer in order and keep a SKU only the first time you see it. " + PAD_HINT,
    )


@check(
    "padded-from-legacy-order",
    "A short answer is padded back to the limit from the legacy order",
    points=3,
    cassette="padded-from-legacy-order",
    hint=PAD_HINT,
)
def test_padded_from_legacy_order(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [PADDED, FEW])
    service = make_service(learner, shop.repo, openai_client())
    got = box(service, PADDED.viewed)
    expected = ["SKU-1017", "SKU-1012", "SKU-1018", "SKU-1011"]
    expect(
        got == expected,
        observed=f"the box for {PADDED.viewed} was {show(got)} after the model answered [SKU-1017, SKU-1012]; "
        f"the legacy ranking of its 6 candidates is {show(PADDED.legacy())}",
        expected=f"{show(expected)}: the model's two, then the two best candidates it left out, in legacy order",
        hint=PAD_HINT,
    )
    got = box(service, FEW.viewed)
    expected = ["SKU-1010", "SKU-1013", "SKU-1009"]
    expect(
        got == expected,
        observed=f"the box for {FEW.viewed} was {show(got)} after the model answered [SKU-1010]; it has only 3 "
        f"candidates, legacy order {show(FEW.legacy())}",
        expected=f"{show(expected)}: the model's one, then the other candidates in legacy order; with only "
        "3 candidates the box holds 3",
        hint="Pad from the candidates you have; with fewer candidates than the limit the box is shorter.",
    )


# --------------------------------------------------------------------------- failures keep the legacy ranking


@check(
    "api-error-falls-back",
    "A failed or timed-out model call leaves the legacy ranking unchanged",
    points=3,
    cassette="api-error-falls-back",
    hint="Catch the SDK's errors (openai.APIError covers 5xx answers and time-outs) and return the legacy ranking.",
)
def test_api_error_falls_back(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [API_500, API_TIMEOUT])
    client = openai_client(timeout_on=lambda request: API_TIMEOUT.viewed in request.records)
    service = make_service(learner, shop.repo, client)
    for one, what in ((API_500, "the API answered 500"), (API_TIMEOUT, "the request timed out")):
        got = box(service, one.viewed)
        asked = sum(1 for request in sent_requests if one.viewed in request.records)
        expect(
            asked == 1,
            observed=f"{asked} model requests for the box of {one.viewed} when {what}",
            expected="exactly one: a failed call is not retried, the box falls back to the legacy ranking at once",
            hint="Do not retry the model call here (retries and degraded mode are kata 09's subject): the "
            "product page is waiting, and the legacy box is a good answer.",
        )
        expected = one.legacy()[:DEFAULT_LIMIT]
        expect(
            got == expected,
            observed=f"the box for {one.viewed} was {show(got)} when {what}",
            expected=f"{show(expected)}: {_why_legacy(what)}",
            hint="Any model failure returns the legacy ranking cut at settings.related_limit: never an "
            "empty box, never an error on the product page.",
        )


@check(
    "unusable-answer-falls-back",
    "A refusal, a cut-off answer or one that is not the schema leaves the legacy ranking unchanged",
    points=2,
    cassette="unusable-answer-falls-back",
    hint="Besides API errors, parse() raises pydantic.ValidationError for an answer that is not the schema and "
    "openai.LengthFinishReasonError for a cut-off one; a refusal comes back as message.parsed = None.",
)
def test_unusable_answer_falls_back(learner: Any, openai_client: Any, tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [REFUSED, NOT_JSON, CUT_OFF])
    service = make_service(learner, shop.repo, openai_client())
    for one, what in (
        (REFUSED, "the model refused"),
        (NOT_JSON, "the model answered in prose instead of the JSON schema"),
        (CUT_OFF, "the answer was cut off (finish_reason 'length')"),
    ):
        got = box(service, one.viewed)
        expected = one.legacy()[:DEFAULT_LIMIT]
        expect(
            got == expected,
            observed=f"the box for {one.viewed} was {show(got)} when {what}",
            expected=f"{show(expected)}: {_why_legacy(what)}",
            hint="Treat every answer you cannot use like a failed call: return the legacy ranking.",
        )


# --------------------------------------------------------------------------- what is sent, and when


@check(
    "no-customer-data-sent",
    "No customer data leaves the service",
    points=3,
    cassette="no-customer-data-sent",
    hint="Build the request from product data only (the viewed product and the candidates).",
)
def test_no_customer_data_sent(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [CUSTOMER], history=CUSTOMER_HISTORY)
    maren = shop.customers[1]
    service = make_service(learner, shop.repo, openai_client())
    got = box(service, CUSTOMER.viewed, customer_id=maren.id)
    owned = {sku for lines in CUSTOMER_HISTORY for sku in lines}
    shown = {CUSTOMER.viewed, *CUSTOMER.legacy(owned)}

    leaks = customer_leaks(shop.customers)
    for sku in sorted(owned - shown):
        leaks += [(sku, f"{sku}, from the customer's order history"),
                  (CATALOG[sku][0], f"{CATALOG[sku][0]!r}, from the customer's order history")]
    for request in sent_requests:
        text = body_text(request)
        found = sorted({what for needle, what in leaks if mentions(text, needle)})
        expect(
            not found,
            observed=f"request {request.index + 1}, for customer {maren.id}'s view of {CUSTOMER.viewed}, carries "
            + "; ".join(found),
            expected="product data only: no name, e-mail, address, customer number or order history of any "
            "customer, in any message or field of the request (user, safety_identifier and metadata included)",
            hint="The customer id only serves the legacy ranking (to leave out what they already own); "
            "never put it, or anything about the customer, into the request.",
        )
    expect(
        len(sent_requests) == 1,
        observed=f"{len(sent_requests)} model requests for one related_items call",
        expected="exactly one request",
        hint="Ask once per related_items call.",
    )
    expected = ["SKU-1013", "SKU-1008", "SKU-1017", "SKU-1012"]
    expect(
        got == expected,
        observed=f"customer {maren.id}'s box for {CUSTOMER.viewed} was {show(got)}",
        expected=f"{show(expected)}: the model's order of her candidates (what she already bought, SKU-1001 "
        "and SKU-1011, is left out as before)",
        hint="Take the candidates from the legacy ranking for this customer, then use the model's order.",
    )


@check(
    "no-request-without-choice",
    "No model request when there are fewer than two candidates",
    points=1,
    cassette="no-request-without-choice",
    hint="Count the candidates before calling the model: with none or one there is nothing to order.",
)
def test_no_request_without_choice(
    learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path
) -> None:
    shop = build_shop(learner, _db(tmp_path), [NOTHING, ONE, ONE_LEFT])
    # Every request fails as a connection error here, so code that calls anyway still ends with a box.
    service = make_service(learner, shop.repo, openai_client(error_on=lambda request: True))
    for one, what in (
        (NOTHING, "no product was ever bought with it"),
        (ONE, "one product was bought with it"),
        (ONE_LEFT, "two products were bought with it and one of them is discontinued"),
    ):
        got = box(service, one.viewed)
        expected = one.legacy()
        expect(
            not sent_requests,
            observed=f"{len(sent_requests)} model request(s) for the box of {one.viewed}, where {what}",
            expected="no request: with fewer than two candidates there is nothing to order",
            hint="Only call the model when there are at least two candidates.",
        )
        expect(
            got == expected,
            observed=f"the box for {one.viewed} was {show(got)}",
            expected=f"{show(expected)}, the legacy ranking",
            hint="Return the legacy ranking when there is nothing to order.",
        )


@check(
    "settings-are-honoured",
    "The model, the candidate pool and the box size come from Settings",
    points=2,
    cassette="settings-are-honoured",
    hint="Use settings.model, settings.rerank_pool and settings.related_limit; write none of them as a literal.",
)
def test_settings_are_honoured(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [SETTINGS])
    service = make_service(learner, shop.repo, openai_client(), model="gpt-4.1-mini", related_limit=3, rerank_pool=5)
    got = box(service, SETTINGS.viewed)
    models = [r.model for r in sent_requests]
    expect(
        models == ["gpt-4.1-mini"],
        observed=f"requests sent with model(s) {models} while Settings(model='gpt-4.1-mini')",
        expected="one request with model 'gpt-4.1-mini'",
        hint=f"Use settings.model for the request; {DEFAULT_MODEL!r} is only the default.",
    )
    pool = SETTINGS.legacy()[:5]
    expect(
        sent_requests[0].records == tuple(sorted([SETTINGS.viewed, *pool])),
        observed=f"with rerank_pool=5 the user message names {', '.join(sent_requests[0].records)}",
        expected=f"the viewed product {SETTINGS.viewed} and the first 5 of the legacy ranking: {', '.join(pool)}",
        hint="Take settings.rerank_pool candidates from the legacy ranking.",
    )
    expected = ["SKU-1014", "SKU-1009", "SKU-1007"]
    expect(
        got == expected,
        observed=f"with related_limit=3 the box for {SETTINGS.viewed} was {show(got)}",
        expected=f"{show(expected)}: the first 3 of the model's order",
        hint="Cut the box at settings.related_limit.",
    )
    defaults = learner.load("shop.config").Settings(db_path=shop.repo.db_path)
    model, pool = plain(defaults.model), plain(defaults.rerank_pool)
    expect(
        model == DEFAULT_MODEL and pool == DEFAULT_POOL,
        observed=f"Settings(db_path=...) defaults to model={model!r} and rerank_pool={pool!r}",
        expected=f"model={DEFAULT_MODEL!r} and rerank_pool={DEFAULT_POOL}, the defaults the brief gives",
        hint="Give the two new Settings fields the brief's defaults; callers override them where they need to.",
    )


@check(
    "requests-have-a-timeout",
    "Model calls have a time-out shorter than the SDK's default",
    points=2,
    cassette="requests-have-a-timeout",
    hint="Give every model request a read time-out of at most 60 seconds: a client built with openai.OpenAI() "
    "waits up to 600 s, and the product page waits with it.",
)
def test_requests_have_a_timeout(
    learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path
) -> None:
    shop = build_shop(learner, _db(tmp_path), [TIMEOUT])
    # The client a caller gets from openai.OpenAI(): the SDK's own 600 s time-out and two retries.
    service = make_service(learner, shop.repo, openai_client(sdk_defaults=True))
    got = box(service, TIMEOUT.viewed)
    expect(
        bool(sent_requests),
        observed=f"no model request for the box of {TIMEOUT.viewed}, which has "
        f"{len(TIMEOUT.legacy())} candidates (the box was {show(got)})",
        expected="one request, made through the client given to ShopService",
        hint="Ask the model through the injected client when there are two or more candidates.",
    )
    for request in sent_requests:
        seconds = request.timeout
        if seconds is None:
            sent = "with no read time-out at all: it could wait for ever"
        elif seconds == 600:
            sent = "with a 600 s time-out (the SDK's default)"
        else:
            sent = f"with a {seconds:g} s time-out"
        expect(
            isinstance(seconds, int | float) and 0 < seconds <= MAX_TIMEOUT,
            observed=f"request {request.index + 1}, for the box of {TIMEOUT.viewed}, was sent {sent}",
            expected=f"a read time-out of at most {MAX_TIMEOUT} seconds on every model request, whatever the "
            "client given to ShopService was built with",
            hint="Set the time-out on each request (or on a copy of the client) from a value the service owns, "
            "so a caller's openai.OpenAI() with its 600 s default cannot hang the product page.",
        )


@check(
    "no-client-keeps-legacy",
    "Without a client the box is the legacy ranking, as before",
    points=1,
    cassette="no-client-keeps-legacy",
    guard=True,
    hint="With client=None, related_items must behave exactly as before: no model, the legacy ranking.",
)
def test_no_client_keeps_legacy(learner: Any, tmp_path: Path) -> None:
    shop = build_shop(learner, _db(tmp_path), [LEGACY], history=[{"SKU-1003": 1}])
    settings = learner.load("shop.config").Settings(db_path=shop.repo.db_path)
    service = learner.load("shop.service").ShopService(shop.repo, settings=settings)
    maren = shop.customers[1]
    for customer_id, expected in (
        (None, ["SKU-1002", "SKU-1003", "SKU-1007", "SKU-1012"]),
        (maren.id, ["SKU-1002", "SKU-1007", "SKU-1012", "SKU-1014"]),
    ):
        got = box(service, LEGACY.viewed, customer_id=customer_id)
        who = "an anonymous visitor" if customer_id is None else f"customer {customer_id}, who owns SKU-1003"
        expect(
            got == expected,
            observed=f"with no client, the box for {LEGACY.viewed} seen by {who} was {show(got)}",
            expected=f"{show(expected)}: the legacy ranking (SKU-1019 is discontinued)",
            hint="Keep the legacy path working when ShopService is built without a client.",
        )
