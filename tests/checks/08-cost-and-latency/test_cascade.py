"""Hidden checks of kata 08, cost and latency: a cascade of two models, a budget, bounded concurrency.

The model's answers are recorded (scripted with the kit's stand-in: fixtures/08-cost-and-latency/
standin.toml, which also gives each answer its token usage). Every check builds its own database in
`tmp_path` (refs TCK-1001, TCK-1002, ... in the order the tickets are added) and its own batch, with an
`openai.AsyncOpenAI` whose requests the grader answers and counts while they are in flight. Time passes
only on the injected fake clock. Where a check needs to tell a model from the rules, the model's
recorded queue differs from the keyword rules' queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cascade_support import (
    DEFAULT_PRICES,
    DEFAULTS,
    LARGE,
    SMALL,
    Spec,
    add_tickets,
    asked,
    clock_advancer,
    close,
    cost,
    decided,
    field,
    make_batch,
    make_settings,
    nearest_rank,
    repository,
    results_of,
    run,
    seconds,
    show_models,
    stored,
    usd,
)

from kata.checks import RemoteError, check, expect, plain

CASCADE = "Ask settings.small_model first; keep its answer when it is usable and its confidence is at least " \
    "settings.cascade_threshold, otherwise ask settings.model once."
ESCALATE = "When the small model gives no usable answer (unsure, a refusal, an unknown queue, a failed " \
    "request), ask the large model, settings.model, once."


def _client(openai_client: Any, **options: Any) -> Any:
    return openai_client(is_async=True, **options)


# --------------------------------------------------------------------------- the cascade

SMALL_DECIDES: list[Spec] = [
    ("My boots came in the wrong size", "Ordered 42, got 44. How do I swap them?", "general"),
    ("Can't log in to pay my invoice", "The login page says my session expired, every time.", "billing"),
    ("Promo code", "SPRING10 is refused at checkout.", "general"),
]


@check(
    "small-model-decides-when-confident",
    "A confident answer of the small model decides the ticket: the large model is not asked",
    points=2,
    cassette="small-model-decides",
    hint=CASCADE,
)
def test_small_model_decides(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, SMALL_DECIDES)
    batch = make_batch(learner, repo, _client(openai_client), fake_clock)
    report = run(batch, tickets, sent_requests, "one request per ticket, to the small model")
    answers = [("shipping", "0.93"), ("account", "0.88"), ("billing", "0.81")]
    for ticket, spec, (queue, confidence) in zip(tickets, SMALL_DECIDES, answers, strict=True):
        asked(sent_requests, ticket.ref, [SMALL],
              f"the small model ({SMALL!r} by default) answered {queue!r} with confidence {confidence}, at or "
              f"above the default cascade_threshold ({DEFAULTS['cascade_threshold']})", CASCADE)
        decided(report, ticket.ref, queue, SMALL, f"the small model's confident answer (the rules say {spec[2]!r})",
                "Use the small model's answer when it is confident enough, and name the model in decided_by.")
        stored(learner, tmp_path / "helpdesk.db", ticket, queue, "model")


@check(
    "model-names-are-settings",
    "The two models are the ones the settings name",
    points=1,
    cassette="model-names-are-settings",
    hint="Send settings.small_model and settings.model, never a model name written in the code.",
)
def test_model_names_are_settings(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    names = {"small_model": "acme-small-2", "model": "acme-large-5"}
    prices = {"acme-small-2": DEFAULT_PRICES[SMALL], "acme-large-5": DEFAULT_PRICES[LARGE]}
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, [
        ("Parcel says delivered, nothing here", "Tracking says it arrived yesterday, nothing at my door.", "shipping"),
        ("Charged twice for one order", "My bank shows two payments of 39.90 for order 5521.", "billing"),
    ])
    batch = make_batch(learner, repo, _client(openai_client), fake_clock, prices=prices, **names)
    report = run(batch, tickets, sent_requests, "requests to 'acme-small-2', then 'acme-large-5' when it is unsure")
    why = "small_model='acme-small-2' and model='acme-large-5' in the settings"
    asked(sent_requests, tickets[0].ref, ["acme-small-2"], f"{why}; the small model was confident", CASCADE)
    asked(sent_requests, tickets[1].ref, ["acme-small-2", "acme-large-5"], f"{why}; the small model was unsure",
          CASCADE)
    decided(report, tickets[0].ref, "shipping", "acme-small-2", "the small model's confident answer (0.9)",
            "Name the configured model that decided in decided_by.")
    decided(report, tickets[1].ref, "billing", "acme-large-5", "the large model's answer (0.9)",
            "Name the configured model that decided in decided_by.")


ESCALATES: list[Spec] = [
    ("My boots came in the wrong size", "Ordered 42, got 44. How do I swap them?", "general"),
    ("Card declined at checkout", "My card works everywhere else but your checkout declines it.", "general"),
    ("Size guide for boots", "Do your boots run small? I am usually a 42.", "general"),
    ("Basket empty after I log in", "Every time I log in, my saved basket is gone.", "account"),
    ("Invoice shows my old address", "The invoice for order 7710 still has my old street on it.", "billing"),
]


@check(
    "unsure-answer-escalates",
    "Without a usable, confident small-model answer the large model is asked, once, and its answer decides",
    points=3,
    cassette="unsure-answer-escalates",
    hint=ESCALATE,
)
def test_unsure_answer_escalates(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, ESCALATES)
    batch = make_batch(learner, repo, _client(openai_client), fake_clock)
    report = run(batch, tickets, sent_requests, "one request to each model per ticket")
    cases = [
        ("answered with confidence 0.55, below the default cascade_threshold (0.8)", "shipping"),
        ("refused to answer", "billing"),
        ("answered a queue that does not exist ('returns')", "general"),
        ("failed with a 500 (a failed request is not retried)", "technical"),
        ("answered with confidence 0.79, just below the default cascade_threshold (0.8)", "general"),
    ]
    for ticket, spec, (what, queue) in zip(tickets, ESCALATES, cases, strict=True):
        small, large = asked(sent_requests, ticket.ref, [SMALL, LARGE], f"the small model {what}", ESCALATE)
        expect(
            small.answered_at is not None and small.answered_at <= large.index,
            observed=f"{ticket.ref}'s request to {LARGE!r} was sent before the small model's answer had arrived",
            expected="the large model is asked only after the small model's answer (or failure) is known",
            hint="Await the small model's answer before deciding to ask the large one.",
        )
        decided(report, ticket.ref, queue, LARGE, f"the small model {what}, then the large model answered "
                f"{queue!r} with enough confidence (the rules say {spec[2]!r})",
                "Use the large model's answer when it is at or above settings.confidence_threshold.")
    # The large model's answer needs only the legacy threshold (0.6 by default): TCK-1005's came with 0.7.


THRESHOLDS: list[Spec] = [
    ("Gift card balance", "How do I see what is left on my gift card?", "general"),
    ("Wishlist disappeared", "All the items on my wishlist are gone.", "general"),
]


@check(
    "confidence-at-threshold-is-kept",
    "An answer exactly at its threshold is kept: cascade_threshold for the small model, "
    "confidence_threshold for the large one",
    points=1,
    cassette="confidence-at-threshold",
    hint="Compare with >=, and use cascade_threshold for the small model and confidence_threshold for the large one.",
)
def test_confidence_at_threshold(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, THRESHOLDS)
    batch = make_batch(learner, repo, _client(openai_client), fake_clock, cascade_threshold=0.7,
                       confidence_threshold=0.5)
    report = run(batch, tickets, sent_requests, "one request for TCK-1001, two for TCK-1002")
    asked(sent_requests, tickets[0].ref, [SMALL], "the small model answered with confidence 0.7, exactly "
          "cascade_threshold=0.7: equal is confident enough", "Keep the small model's answer when its confidence "
          "is greater than or equal to settings.cascade_threshold.")
    decided(report, tickets[0].ref, "billing", SMALL, "the small model's answer at the threshold",
            "An answer at exactly cascade_threshold is kept.")
    asked(sent_requests, tickets[1].ref, [SMALL, LARGE], "the small model answered with confidence 0.65, below "
          "cascade_threshold=0.7 (though above confidence_threshold=0.5, which is the large model's)",
          "The small model's answer is measured against settings.cascade_threshold, not confidence_threshold.")
    decided(report, tickets[1].ref, "account", LARGE, "the large model answered with confidence 0.5, exactly "
            "confidence_threshold=0.5", "Keep the large model's answer when its confidence is greater than or "
            "equal to settings.confidence_threshold.")


LARGE_UNSURE: list[Spec] = [
    ("Order history empty", "My order history page shows no orders at all.", "general"),
    ("Pay button does nothing", "Clicking 'Pay now' in Firefox does nothing at all, no error shown.", "technical"),
    ("Courier left the box at the wrong door", "The delivery photo shows a door that is not mine.", "shipping"),
]


@check(
    "large-unsure-goes-to-rules",
    "Without a usable, confident answer of the large model either, the keyword rules decide",
    points=2,
    cassette="large-unsure-goes-to-rules",
    hint="When the large model's answer is unusable or below settings.confidence_threshold, keep the rules' queue.",
)
def test_large_unsure_goes_to_rules(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, LARGE_UNSURE)
    batch = make_batch(learner, repo, _client(openai_client), fake_clock)
    report = run(batch, tickets, sent_requests, "one request to each model per ticket")
    cases = ["answered with confidence 0.45, below the default confidence_threshold (0.6)",
             "failed with a 500", "refused to answer"]
    for ticket, spec, what in zip(tickets, LARGE_UNSURE, cases, strict=True):
        asked(sent_requests, ticket.ref, [SMALL, LARGE], "the small model was not sure", ESCALATE)
        decided(report, ticket.ref, spec[2], "rules", f"the large model {what}",
                "Without a usable answer at or above confidence_threshold, the keyword rules route the ticket.")
        stored(learner, tmp_path / "helpdesk.db", ticket, spec[2], "rules")


# --------------------------------------------------------------------------- cost and budget

PRICES = {SMALL: {"input": 0.20, "cached_input": 0.05, "output": 0.80},
          LARGE: {"input": 3.00, "cached_input": 0.75, "output": 12.00}}
COST_TICKETS: list[Spec] = [
    ("Refund still not on my card", "You confirmed the refund for order 5521 two weeks ago.", "billing"),
    ("Tracking page asks me to sign in", "The tracking link keeps asking me to sign in.", "account"),
    ("App crashes when I scan a code", "Scanning the QR code on my parcel slip crashes the app.", "shipping"),
    ("  ", "", "general"),
]
# (prompt, cached, completion) tokens of each answer, as the stand-in script bills them.
COST_USAGE = {
    ("TCK-1001", SMALL): (1200, 1024, 20),
    ("TCK-1002", SMALL): (1300, 0, 22),
    ("TCK-1002", LARGE): (1250, 1152, 18),
    ("TCK-1003", LARGE): (1180, 0, 16),  # its small-model request failed (500): no usage, nothing billed
    ("TCK-1005", SMALL): (900, 512, 15),
}


@check(
    "cost-from-usage",
    "The run's cost comes from each answer's usage and the price table: prompt, cached and completion tokens",
    points=3,
    cassette="cost-from-usage",
    hint="Read usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens and usage.completion_tokens of "
    "every answer; cached tokens are part of the prompt tokens and billed at the cached price.",
)
def test_cost_from_usage(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, COST_TICKETS)
    batch = make_batch(learner, repo, _client(openai_client), fake_clock, prices=PRICES)
    report = run(batch, tickets, sent_requests, "TCK-1001: the small model; TCK-1002 and TCK-1003: both models; "
                 "TCK-1004 (blank): none")
    expected = sum(cost(usage, PRICES[model]) for (ref, model), usage in COST_USAGE.items() if ref != "TCK-1005")
    got = field(report, "cost", "the run's cost in USD")
    expect(
        close(got, expected),
        observed=f"the report says the run cost {usd(got)} (requests: {show_models(sent_requests)})",
        expected=f"{usd(expected)}: per answer, (prompt - cached) tokens at the input price, cached tokens at "
        "cached_input and completion tokens at output, per million tokens, from the configured price table; a "
        "failed request costs nothing",
        hint="Take the token counts from each answer's usage; prompt_tokens_details.cached_tokens is the part of "
        "prompt_tokens billed at the cached price.",
    )
    # With the default price table.
    default_repo = repository(learner, tmp_path / "helpdesk.db")
    more = add_tickets(learner, default_repo, [("Promo code", "SPRING10 is refused at checkout.", "general")])
    default_batch = make_batch(learner, default_repo, _client(openai_client), fake_clock)
    default_report = run(default_batch, more, sent_requests, "one request to the small model")
    expected = cost(COST_USAGE[("TCK-1005", SMALL)], DEFAULT_PRICES[SMALL])
    got = field(default_report, "cost", "the run's cost in USD")
    expect(
        close(got, expected),
        observed=f"with the default price table, a run with one {SMALL!r} answer (900 prompt tokens of which 512 "
        f"cached, 15 completion tokens) cost {usd(got)}",
        expected=f"{usd(expected)}: {SMALL!r} costs $0.15 input, $0.075 cached input and $0.60 output per million "
        "tokens by default",
        hint="Give Settings.prices the default table of the brief.",
    )


@check(
    "unusable-answers-are-billed",
    "Answers that could not be used (a refusal, an unknown queue) still count in the cost",
    points=1,
    cassette="unusable-answers-are-billed",
    hint="Read the usage of an answer before deciding whether it is usable: parsing an answer outside the schema "
    "raises, but the tokens were billed.",
)
def test_unusable_answers_are_billed(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, [
        ("Card declined at checkout", "My card works everywhere else but your checkout declines it.", "general"),
        ("Size guide for boots", "Do your boots run small? I am usually a 42.", "general"),
    ])
    batch = make_batch(learner, repo, _client(openai_client), fake_clock)
    report = run(batch, tickets, sent_requests, "one request to each model per ticket")
    usage = {("TCK-1001", SMALL): (700, 0, 9), ("TCK-1001", LARGE): (720, 0, 14),
             ("TCK-1002", SMALL): (710, 0, 12), ("TCK-1002", LARGE): (730, 0, 13)}
    expected = sum(cost(u, DEFAULT_PRICES[model]) for (_, model), u in usage.items())
    lost = sum(cost(u, DEFAULT_PRICES[model]) for (_, model), u in usage.items() if model == SMALL)
    got = field(report, "cost", "the run's cost in USD")
    expect(
        close(got, expected),
        observed=f"the report says the run cost {usd(got)}"
        + (" (the two unusable answers are missing)" if close(got, expected - lost) else ""),
        expected=f"{usd(expected)}: TCK-1001's small-model answer was a refusal and TCK-1002's named an unknown "
        "queue; both were billed, like the two large-model answers that followed",
        hint="Every answer that arrived is billed, usable or not. Keep its usage even when parsing it fails.",
    )


BUDGET_HINT = ("Before every request (the large model's too), compare the cost of the answers received so far with "
               "settings.run_budget. Checked when a ticket's task starts, it sees a cost of 0: tasks start at once.")
BUDGET_PRICES = {SMALL: {"input": 2.00, "cached_input": 1.00, "output": 8.00},
                 LARGE: {"input": 20.00, "cached_input": 10.00, "output": 80.00}}
BUDGET_TICKETS: list[Spec] = [
    ("Parcel says delivered, nothing here", "Tracking says it arrived yesterday, nothing at my door.", "shipping"),
    ("Charged twice for one order", "My bank shows two payments of 39.90 for order 5521.", "billing"),
    ("Order history empty", "My order history page shows no orders at all.", "general"),
    ("Can't log in to pay my invoice", "The login page says my session expired, every time.", "billing"),
    ("Password reset mail never arrives", "I asked for a reset link three times today.", "account"),
]


@check(
    "budget-stops-requests",
    "Once the run's budget is spent, no request is sent: the remaining tickets go to the rules",
    points=3,
    cassette="budget-stops-requests",
    hint="Keep the run's cost as answers arrive, and ask it before every request, the large model's included.",
)
def test_budget_stops_requests(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, BUDGET_TICKETS)
    each = cost((1000, 0, 100), BUDGET_PRICES[SMALL])  # every small-model answer here: $0.0028
    batch = make_batch(learner, repo, _client(openai_client), fake_clock, prices=BUDGET_PRICES, run_budget=0.007,
                       max_concurrency=1)
    report = run(batch, tickets, sent_requests, "three requests to the small model, then none: TCK-1003's answer "
                 "took the run's cost to $0.0084, past run_budget=0.007", BUDGET_HINT)
    setting = "run_budget=0.007, max_concurrency=1, each small-model answer costs $0.0028"
    expect(
        [(r.records, r.model) for r in sent_requests] == [((t.ref,), SMALL) for t in tickets[:3]],
        observed=f"requests: {show_models(sent_requests)}",
        expected=f"TCK-1001, TCK-1002 and TCK-1003 to {SMALL!r}, and nothing more: after TCK-1003's answer the run "
        f"had cost $0.0084, past the budget, so TCK-1003 (unsure) is not sent to {LARGE!r} and TCK-1004 and "
        f"TCK-1005 are not sent at all ({setting})",
        hint=BUDGET_HINT,
    )
    decided(report, "TCK-1001", "shipping", SMALL, "its answer came within the budget", CASCADE)
    for ticket, spec in zip(tickets[2:], BUDGET_TICKETS[2:], strict=True):
        decided(report, ticket.ref, spec[2], "rules", "the budget was spent", "Once the budget is spent, the keyword "
                "rules route the remaining tickets.")
        stored(learner, tmp_path / "helpdesk.db", ticket, spec[2], "rules")
    got = field(report, "cost", "the run's cost in USD")
    expect(close(got, 3 * each), observed=f"the report says the run cost {usd(got)}",
           expected=f"{usd(3 * each)}: three answers of $0.0028", hint="Count every answer's cost.")
    # A budget of 0 allows no request at all; the default budget is $5.
    before = len(sent_requests)
    zero_repo = repository(learner, tmp_path / "helpdesk.db")
    zero = add_tickets(learner, zero_repo, [("App freezes on my order history", "It hangs on past orders.", "general")])
    run(make_batch(learner, zero_repo, _client(openai_client), fake_clock, run_budget=0.0), zero, sent_requests,
        "no request: run_budget=0 is spent before the first request", BUDGET_HINT)
    expect(len(sent_requests) == before, observed=f"with run_budget=0, requests: {show_models(sent_requests[before:])}",
           expected="no request: a budget of 0 is spent before the run starts", hint="Check the budget before the "
           "first request too.")
    default_repo = repository(learner, tmp_path / "helpdesk.db")
    big = add_tickets(learner, default_repo, [
        ("Gift wrapping", "Can you gift-wrap an order and add a handwritten card?", "general"),
        ("Wishlist disappeared", "All the items on my wishlist are gone.", "general"),
        ("Promo code", "SPRING10 is refused at checkout.", "general"),
    ])
    run(make_batch(learner, default_repo, _client(openai_client), fake_clock, max_concurrency=1), big, sent_requests,
        "two requests: their answers cost $6, past the default run_budget ($5.00)",
        "Give Settings.run_budget the default of the brief (5.0 USD), and ask it before every request.")
    made = sent_requests[before:]
    expect(
        [r.records for r in made] == [(big[0].ref,), (big[1].ref,)],
        observed=f"with the default settings, requests: {show_models(made)}",
        expected=f"{big[0].ref} and {big[1].ref} only: each of their answers billed 20 million prompt tokens "
        f"($3.00 at {SMALL!r}'s default price), so after two the run had cost $6, past the default run_budget "
        "($5.00)",
        hint="Give Settings.run_budget the default of the brief (5.0 USD).",
    )


# --------------------------------------------------------------------------- concurrency

MANY: list[Spec] = [
    ("Parcel says delivered, nothing here", "Tracking says it arrived yesterday, nothing at my door.", "shipping"),
    ("Charged twice for one order", "My bank shows two payments of 39.90 for order 5521.", "billing"),
    ("Order history empty", "My order history page shows no orders at all.", "general"),
    ("Can't log in to pay my invoice", "The login page says my session expired, every time.", "billing"),
    ("Password reset mail never arrives", "I asked for a reset link three times today.", "account"),
    ("Gift wrapping", "Can you gift-wrap an order and add a handwritten card?", "general"),
    ("Wishlist disappeared", "All the items on my wishlist are gone.", "general"),
    ("Promo code", "SPRING10 is refused at checkout.", "general"),
    ("Size guide for boots", "Do your boots run small? I am usually a 42.", "general"),
]


def _most_in_flight(requests: list[Any]) -> tuple[int, Any]:
    top = max(requests, key=lambda r: r.in_flight)
    return top.in_flight, top


@check(
    "in-flight-never-above-cap",
    "Never more requests in flight at once than max_concurrency",
    points=3,
    cassette="in-flight-never-above-cap",
    hint="Bound the requests in flight, not the tickets started: a slot is taken for each request and given "
    "back when its answer (or failure) arrives.",
)
def test_in_flight_never_above_cap(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, MANY)
    run(make_batch(learner, repo, _client(openai_client), fake_clock, max_concurrency=3), tickets, sent_requests,
        "one request per ticket, two for TCK-1002 and TCK-1005")
    expect(len(sent_requests) == 11, observed=f"requests: {show_models(sent_requests)}",
           expected="11 requests: one to the small model per ticket, and TCK-1002 and TCK-1005 (unsure) to the "
           "large model too", hint=CASCADE)
    most, at = _most_in_flight(sent_requests)
    expect(
        most <= 3,
        observed=f"{most} requests were in flight at once when {', '.join(at.records)}'s request to {at.model!r} "
        "was sent",
        expected="at most 3 at any moment (max_concurrency=3)",
        hint="Bound the number of requests in flight with settings.max_concurrency, e.g. one slot per request.",
    )
    before = len(sent_requests)
    default_repo = repository(learner, tmp_path / "helpdesk.db")
    more = add_tickets(learner, default_repo, MANY[:6])
    run(make_batch(learner, default_repo, _client(openai_client), fake_clock), more, sent_requests,
        "one request per ticket")
    most, at = _most_in_flight(sent_requests[before:])
    expect(
        most <= DEFAULTS["max_concurrency"],
        observed=f"with the default settings, {most} requests were in flight at once",
        expected=f"at most {DEFAULTS['max_concurrency']}: the default max_concurrency",
        hint="Give Settings.max_concurrency the default of the brief (4).",
    )


@check(
    "requests-run-concurrently",
    "Up to max_concurrency requests are in flight at once",
    points=2,
    cassette="requests-run-concurrently",
    hint="Start the tickets' requests as asyncio tasks (the client is an AsyncOpenAI) rather than awaiting one "
    "ticket after the other.",
)
def test_requests_run_concurrently(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, MANY[:7])
    run(make_batch(learner, repo, _client(openai_client), fake_clock, max_concurrency=3), tickets, sent_requests,
        "one request per ticket")
    most = max((r.in_flight for r in sent_requests), default=0)
    expect(
        most >= 3,
        observed=f"with max_concurrency=3, {len(tickets)} tickets and {len(sent_requests)} requests, at most {most} "
        "were in flight at once",
        expected="3 requests in flight at once: the run keeps max_concurrency requests going while tickets are left",
        hint="Run the requests concurrently (asyncio tasks or a pool of workers), bounded by "
        "settings.max_concurrency.",
    )


@check(
    "slow-request-does-not-hold-back",
    "One slow request does not hold back the other tickets",
    points=3,
    cassette="slow-request-does-not-hold-back",
    hint="Free a slot as soon as its request is answered and start the next ticket's request at once, rather "
    "than waiting for a whole group of tickets to finish.",
)
def test_slow_request(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, MANY[:8])
    client = _client(openai_client, slow_on=lambda r: "TCK-1001" in r.records)
    run(make_batch(learner, repo, client, fake_clock, max_concurrency=3), tickets, sent_requests,
        "one request per ticket, two for TCK-1004")
    slow = [r for r in sent_requests if "TCK-1001" in r.records]
    expect(len(slow) == 1, observed=f"requests about TCK-1001: {len(slow)}", expected="one, to the small model",
           hint=CASCADE)
    expect(len(sent_requests) == 9, observed=f"requests: {show_models(sent_requests)}",
           expected="9 requests: one to the small model per ticket, and TCK-1004 (unsure) to the large model too",
           hint=CASCADE)
    answered_at = slow[0].answered_at or 0
    expect(
        answered_at == len(sent_requests),
        observed=f"TCK-1001's request was slow; only {max(answered_at - 1, 0)} of the 8 other requests were sent "
        "before it got its answer, the rest waited for it",
        expected="all 8 other requests (TCK-1002 to TCK-1008, and TCK-1004's second) sent while it is in flight: "
        "with max_concurrency=3, the two other slots keep working",
        hint="Each slot takes the next request as soon as its own is answered; do not wait for a group of "
        "tickets (gather in chunks) or for one ticket at a time.",
    )


@check(
    "results-in-input-order",
    "The report's results are in the order the tickets were given, whatever finished first",
    points=2,
    cassette="results-in-input-order",
    hint="Collect the results by the ticket's position in the input, not in the order the answers arrive.",
)
def test_results_in_input_order(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, MANY[:4])
    given = [tickets[i] for i in (2, 0, 3, 1)]
    first = given[0].ref  # read here: the slow_on predicate runs while the learner's code waits for an answer
    client = _client(openai_client, slow_on=lambda r: first in r.records)
    report = run(make_batch(learner, repo, client, fake_clock, max_concurrency=2), given, sent_requests,
                 "one request per ticket")
    refs = [result.ref for result in results_of(report)]
    expect(
        refs == [t.ref for t in given],
        observed="results in the order " + ", ".join(refs),
        expected="the order the tickets were given: " + ", ".join(t.ref for t in given)
        + " (the first one's answer came last)",
        hint="Return the results in input order, e.g. gather() the tickets' tasks, or write each into its slot.",
    )


# --------------------------------------------------------------------------- the report

LATENCY_TICKETS = MANY[:6]
# Seconds each request takes on the fake clock: (ticket, model) -> latency. TCK-1002 and TCK-1005 escalate.
LATENCIES = {
    ("TCK-1001", SMALL): 0.4, ("TCK-1002", SMALL): 0.6, ("TCK-1003", SMALL): 0.5, ("TCK-1004", SMALL): 0.7,
    ("TCK-1005", SMALL): 0.3, ("TCK-1006", SMALL): 0.9, ("TCK-1002", LARGE): 2.5, ("TCK-1005", LARGE): 3.1,
}


@check(
    "latency-percentiles",
    "The report gives the requests' latency p50 and p95, on the injected clock",
    points=3,
    cassette="latency-percentiles",
    hint="Read clock.monotonic() just before each request is sent (after waiting for a slot) and when its answer "
    "arrives; report nearest-rank percentiles over all requests of the run.",
)
def test_latency_percentiles(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    def latency(request: Any) -> float:
        return LATENCIES.get((request.records[0] if request.records else "", request.model), 0.0)

    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, LATENCY_TICKETS)
    client = _client(openai_client, on_request=clock_advancer(fake_clock, latency))
    report = run(make_batch(learner, repo, client, fake_clock, max_concurrency=1), tickets, sent_requests,
                 "one request per ticket, two for TCK-1002 and TCK-1005")
    values = [latency(r) for r in sent_requests]
    shown = ", ".join(seconds(v) for v in sorted(values))
    for name, percent in (("latency_p50", 50), ("latency_p95", 95)):
        want = nearest_rank(values, percent)
        got = field(report, name, f"{name}: the {percent}th percentile of the requests' latency, in seconds")
        expect(
            close(got, want),
            observed=f"{name} = {seconds(got)}",
            expected=f"{seconds(want)}: the smallest latency that at least {percent}% of the {len(values)} requests do "
            f"not exceed (nearest rank; latencies on the clock: {shown}; max_concurrency=1)",
            hint="A request's latency runs from just before it is sent to its answer, on the injected clock (not "
            "time.monotonic, not the wait for a slot); take the nearest-rank percentile, not an interpolated one.",
        )
    # A run without any request has no latency to report.
    rules_only = make_batch(learner, repo, None, fake_clock)
    empty = run(rules_only, tickets[:2], sent_requests, "no request: there is no client")
    got = field(empty, "latency_p50", "latency_p50")
    expect(got is None, observed=f"without a client (no request), latency_p50 = {got!r}",
           expected="None: no request, no latency", hint="Report None for the percentiles of a run that sent "
           "no request.")


@check(
    "tickets-per-model",
    "The report counts the tickets each model decided, and the rules",
    points=2,
    cassette="tickets-per-model",
    hint="Count the results by decided_by: one per ticket, whichever model (or the rules) decided it.",
)
def test_tickets_per_model(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, MANY[:5] + [("", "   ", "general")])
    report = run(make_batch(learner, repo, _client(openai_client), fake_clock), tickets, sent_requests,
                 "TCK-1001 and TCK-1002: the small model; TCK-1003 to TCK-1005: both; TCK-1006 (blank): none")
    counts = field(report, "tickets_by_model", "tickets_by_model: tickets per model name, and 'rules'")
    got = {plain(k): v for k, v in dict(counts).items() if v} if isinstance(counts, dict) else counts
    want = {SMALL: 2, LARGE: 2, "rules": 2}
    expect(
        got == want,
        observed=f"tickets_by_model = {got!r}",
        expected=f"{want!r}: TCK-1001 and TCK-1002 decided by the small model, TCK-1003 and TCK-1005 by the large "
        "one, TCK-1004 (the large model was unsure too) and TCK-1006 (blank) by the rules",
        hint="Count tickets, not requests: an escalated ticket counts once, for the model that decided it.",
    )


# --------------------------------------------------------------------------- configuration


@check(
    "requests-have-a-timeout",
    "Every request has a read time-out of at most settings.request_timeout",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Give every model request timeout=settings.request_timeout (per call, or client.with_options(timeout=...)).",
)
def test_requests_have_a_timeout(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    repo = repository(learner, tmp_path / "helpdesk.db")
    tickets = add_tickets(learner, repo, MANY[:2])
    run(make_batch(learner, repo, _client(openai_client, sdk_defaults=True), fake_clock), tickets, sent_requests,
        "TCK-1001 to the small model, TCK-1002 to both")
    more = add_tickets(learner, repo, MANY[2:3])
    before = len(sent_requests)
    run(make_batch(learner, repo, _client(openai_client, sdk_defaults=True), fake_clock, request_timeout=5.0), more,
        sent_requests, "TCK-1003 to the small model")
    for index, request in enumerate(sent_requests):
        limit = 5.0 if index >= before else DEFAULTS["request_timeout"]
        setting = "request_timeout=5" if index >= before else "the default request_timeout (30 s)"
        timeout = request.timeout
        expect(
            timeout is not None and 0 < timeout <= limit + 1e-6,
            observed=f"the request about {', '.join(request.records)} to {request.model!r} was sent with "
            + ("no time-out" if timeout is None else f"a {seconds(timeout)} time-out")
            + ", from a client built like openai.AsyncOpenAI() (the SDK's default is 600 s)",
            expected=f"a read time-out of at most {seconds(limit)}: {setting}",
            hint="Set the time-out on each request yourself, from settings.request_timeout.",
        )


@check(
    "unpriced-model-refused",
    "A model without a price in the table is refused before any request",
    points=1,
    cassette="unpriced-model-refused",
    hint="Check that both configured models have a price (input, cached_input, output) before the run sends "
    "anything, and raise ValueError otherwise.",
)
def test_unpriced_model_refused(
    learner: Any, openai_client: Any, sent_requests: list[Any], fake_clock: Any, tmp_path: Path
) -> None:
    cases = [
        ({"prices": {SMALL: DEFAULT_PRICES[SMALL]}}, f"the price table has no {LARGE!r}, the large model"),
        ({"small_model": "gpt-4.1-nano"}, "small_model='gpt-4.1-nano' is not in the default price table"),
    ]
    for fields, what in cases:
        repo = repository(learner, tmp_path / "helpdesk.db")
        tickets = add_tickets(learner, repo, MANY[:1])
        refused: RemoteError | None = None
        try:
            settings = make_settings(learner, repo.db_path, **fields)
            batch = learner.load("helpdesk.batch").BacklogReclassifier(
                repo, settings=settings, client=_client(openai_client), clock=fake_clock)
            batch.run(tickets)
        except RemoteError as err:
            if err.is_a("NoRecordingMatched"):
                raise
            refused = err
        expect(
            refused is not None and refused.is_a("ValueError") and not sent_requests,
            observed=(f"when {what}, " + ("the run went ahead" if refused is None else
                      f"{refused.type_name} was raised") + f" and {len(sent_requests)} request(s) were sent"),
            expected="a ValueError, from Settings, BacklogReclassifier or run(), before any request: a model "
            "without a price cannot be budgeted",
            hint="Refuse a configuration whose small_model or model has no entry in settings.prices.",
        )
