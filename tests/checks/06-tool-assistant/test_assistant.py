"""Hidden checks of kata 06, the tool-calling support assistant.

The model's answers are scripted (tool calls, then a final text) and replayed; the checks read what the
learner's code sent back to the model (`sent_requests[i].body`: the tools offered, the assistant's tool
calls and the tool results with their call ids), the replies of `ask` and `confirm`, and the rows the
order API wrote (refunds, returns, orders). Every check seeds the same five orders in a database of
its own (assistant_support.ORDERS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant_support import (
    DEFAULT_MAX_STEPS,
    DEFAULT_TIMEOUT,
    INJECTED,
    ORDER_ID,
    ORDER_STATUSES,
    PARAMETERS,
    TOOLS,
    answered,
    converse,
    expect_error,
    expect_result,
    expect_status,
    make_assistant,
    messages,
    pending,
    rows,
    seed_database,
    show_pending,
    show_rows,
    status,
    text_of,
    tool_results,
)

from kata.checks import RemoteError, check, expect

RESULTS_HINT = (
    "After the model's answer with tool calls, send the conversation back with that answer (an assistant "
    "message with its tool_calls) and one tool message per call: role 'tool', tool_call_id = the call's id."
)
GATE_HINT = (
    "start_return and issue_refund never run when the model asks: end ask() with status 'needs_confirmation' "
    "and the pending calls, and run only those the agent passes to confirm()."
)


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    seed_database(path)
    return path


# --------------------------------------------------------------------------- the tools offered


def _schema_types(schema: Any, defs: dict[str, Any]) -> tuple[set[str], set[Any]]:
    """The JSON types and enum values a property's schema allows (following $ref, anyOf and oneOf)."""
    if not isinstance(schema, dict):
        return set(), set()
    if isinstance(schema.get("$ref"), str):
        return _schema_types(defs.get(schema["$ref"].rsplit("/", 1)[-1]), defs)
    types: set[str] = set()
    values: set[Any] = set()
    kind = schema.get("type")
    types |= set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    if isinstance(schema.get("enum"), list):
        values |= {v for v in schema["enum"] if v is None or isinstance(v, str | int | float)}
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key) or []:
            more_types, more_values = _schema_types(option, defs)
            types |= more_types
            values |= more_values
    return types, values


def _tool_problems(tools: Any) -> list[str]:
    """What is wrong with a request's tools, in learner words (empty when they are as the brief says)."""
    if not isinstance(tools, list) or not tools:
        return ["no tools were offered"]
    specs = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            return ["a tool is not a function tool ({'type': 'function', 'function': {...}})"]
        specs[function.get("name")] = function
    if tuple(sorted(map(str, specs))) != TOOLS or len(tools) != len(TOOLS):
        return [f"the tools offered are {', '.join(sorted(map(str, specs)))}, not exactly {', '.join(TOOLS)}"]
    problems = []
    for name, function in specs.items():
        params = function.get("parameters") if isinstance(function.get("parameters"), dict) else {}
        properties = params.get("properties") if isinstance(params.get("properties"), dict) else {}
        wanted = PARAMETERS[name]
        if function.get("strict") is not True:
            problems.append(f"{name} is not strict (strict: true)")
        if params.get("type") != "object" or params.get("additionalProperties") is not False:
            problems.append(f"{name}'s parameters are not an object with additionalProperties: false")
        if set(properties) != set(wanted):
            problems.append(f"{name}'s parameters are {', '.join(sorted(properties)) or 'none'}, "
                            f"not {', '.join(sorted(wanted))}")
            continue
        if set(params.get("required") or []) != set(wanted):
            problems.append(f"{name} does not list every parameter as required (strict mode)")
        defs = params.get("$defs") if isinstance(params.get("$defs"), dict) else {}
        for param, kind in wanted.items():
            types, values = _schema_types(properties[param], defs)
            if kind == "status":
                if not ({"null"} & types or None in values) or not set(ORDER_STATUSES) <= values:
                    problems.append(f"{name}.{param} does not allow exactly the order statuses or null")
                elif values - set(ORDER_STATUSES) - {None}:
                    problems.append(f"{name}.{param} allows values that are not order statuses")
            elif kind not in types or types - {kind}:
                problems.append(f"{name}.{param} is not of type {kind!r}")
    return problems


@check(
    "tools-offered",
    "Every request offers the four order functions as strict function tools, with settings.model",
    points=2,
    cassette="tools-offered",
    hint="Call client.chat.completions.create(model=settings.model, messages=..., tools=[...]) with one strict "
    "function tool per order function.",
)
def test_tools_offered(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    assistant = make_assistant(learner, _database(tmp_path), openai_client(), model="gpt-4.1-mini")
    reply = converse(lambda: assistant.ask("Has ORD-1003 shipped yet? The customer is asking."), sent_requests,
                     requests=2, why="the model looked the order up, then answered",
                     hint="Send the tool result back and ask the model again, until it answers.")
    for request in sent_requests:
        expect(
            request.path == "/v1/chat/completions" and request.model == "gpt-4.1-mini",
            observed=f"request {request.index + 1} went to {request.path} with model {request.model!r}",
            expected="POST /v1/chat/completions with model=settings.model ('gpt-4.1-mini' here)",
            hint="Use the Chat Completions API and read the model from the settings.",
        )
        problems = _tool_problems(request.body.get("tools"))
        expect(
            not problems,
            observed=f"request {request.index + 1}: " + "; ".join(problems[:4]),
            expected="lookup_order, list_orders, start_return and issue_refund as function tools with strict: true; "
            "each tool's parameters are the function's, typed as the function types them, all required, "
            "additionalProperties: false (list_orders' status: one of the order statuses, or null)",
            hint="Build each tool from its function's signature; in strict mode an optional parameter is still "
            "required, and may be null.",
        )
    answered(reply, "ORD-1003 has shipped and is on its way.", "the model's second answer called no tool")


# --------------------------------------------------------------------------- results and their call ids


@check(
    "results-go-back-with-call-ids",
    "A tool's result goes back to the model in a tool message with the call's id, and the final answer is returned",
    points=3,
    cassette="results-go-back-with-call-ids",
    hint=RESULTS_HINT,
)
def test_results_go_back(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    assistant = make_assistant(learner, _database(tmp_path), openai_client())
    reply = converse(lambda: assistant.ask("CUS-2001 asks whether ORD-1002 was delivered."), sent_requests,
                     requests=2, why="the model looked ORD-1002 up (a read-only tool runs at once), then answered",
                     hint="Run read-only tools at once, send their results back, and ask the model again.")
    (result,) = tool_results(sent_requests[1], [("lookup_order", {"order_ref": "ORD-1002"})], "request 2",
                             RESULTS_HINT)
    expect_result(result, "lookup_order(ORD-1002)", ("ORD-1002", "delivered"), "request 2")
    answered(reply, "Yes: ORD-1002 was delivered on 3 March 2026.", "the model's second answer called no tool")


@check(
    "parallel-calls-all-answered",
    "Every tool call of one answer is run and answered",
    points=3,
    cassette="parallel-calls-all-answered",
    hint="An answer can hold several tool calls: run each of them and send one tool message per call id.",
)
def test_parallel_calls(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    assistant = make_assistant(learner, _database(tmp_path), openai_client())
    reply = converse(
        lambda: assistant.ask("CUS-2001 asks about ORD-1001 and ORD-1002, and whether they have other orders."),
        sent_requests, requests=2, why="the model's first answer made three read-only calls, its second answered",
        hint="Answer all the calls of one answer before asking the model again.")
    lookup_1, lookup_2, listing = tool_results(
        sent_requests[1],
        [("lookup_order", {"order_ref": "ORD-1001"}), ("lookup_order", {"order_ref": "ORD-1002"}),
         ("list_orders", {"customer_ref": "CUS-2001", "status": None})],
        "request 2", "Send one tool message per tool call of the answer, each with its call's id.")
    expect_result(lookup_1, "lookup_order(ORD-1001)", ("ORD-1001", "placed"), "request 2")
    expect_result(lookup_2, "lookup_order(ORD-1002)", ("ORD-1002", "delivered"), "request 2")
    expect_result(listing, "list_orders(CUS-2001)", ("ORD-1001", "ORD-1002", "ORD-1003"), "request 2")
    expect(
        "ORD-1004" not in listing,
        observed="request 2: the result of list_orders(CUS-2001) names ORD-1004, an order of CUS-2002",
        expected="the customer's own orders, as the order API lists them",
        hint="Run list_orders with the arguments the model gave.",
    )
    answered(reply, "ORD-1001 is not shipped yet, ORD-1002 was delivered, and ORD-1003 is on its way.",
             "the model's second answer called no tool")


# --------------------------------------------------------------------------- errors, validation, unknown tools


@check(
    "tool-errors-go-back-to-the-model",
    "A function that refuses (unknown order, amount too high) is answered to the model as an error, not raised",
    points=2,
    cassette="tool-errors-go-back-to-the-model",
    hint="Catch the order API's LookupError and ValueError around the call and send {\"error\": ...} as its result.",
)
def test_tool_errors(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    assistant = make_assistant(learner, db, openai_client())
    reply = converse(lambda: assistant.ask("Where is ORD-1999? The customer says it never came."), sent_requests,
                     requests=2, why="lookup_order(ORD-1999) failed, its error went back, then the model answered",
                     hint="A function's error is a result for the model: send it and ask the model again.")
    (result,) = tool_results(sent_requests[1], [("lookup_order", {"order_ref": "ORD-1999"})], "request 2",
                             RESULTS_HINT)
    expect_error(result, "lookup_order(ORD-1999)", "there is no such order (the function raised LookupError)",
                 "request 2", "Send the function's error to the model as {\"error\": \"...\"}.")
    answered(reply, "There is no order ORD-1999; please ask the customer for the right number.",
             "the model answered after the error")
    # An agent-confirmed refund of more than is left on ORD-1005 (64.00): the function refuses.
    proposal = converse(lambda: assistant.ask("CUS-2002 wants 100 EUR back on ORD-1005."), sent_requests,
                        requests=1, why="the model's first answer proposed a refund, which waits for the agent",
                        hint=GATE_HINT, first=lambda reply: expect_status(
                            reply, "needs_confirmation", "issue_refund waits for the agent", GATE_HINT))
    actions = pending(proposal)
    expect(len(actions) == 1, observed=f"pending: {show_pending(actions)}",
           expected="issue_refund(order_ref='ORD-1005', amount=100.0)", hint=GATE_HINT)
    final = converse(lambda: assistant.confirm([actions[0]["call_id"]]), sent_requests, requests=1,
                     why="the confirmed refund failed, its error went back, then the model answered",
                     hint="After the agent confirms, run the action and send its result (or its error) back.")
    (refused,) = tool_results(
        sent_requests[-1],
        [("issue_refund", {"order_ref": "ORD-1005", "amount": 100.0, "reason": "knife sent back unused"})],
        "the request after confirm()", RESULTS_HINT)
    expect_error(refused, "issue_refund(ORD-1005, 100.0)",
                 "only 64.00 EUR can be refunded on ORD-1005 (the function raised ValueError)",
                 "the request after confirm()", "Send the function's error to the model as {\"error\": \"...\"}.")
    expect(not rows(db, "refunds"), observed=f"refunds stored: {show_rows(rows(db, 'refunds'))}",
           expected="none: the order API refused the refund", hint="Call the order API's own issue_refund.")
    answered(final, "The refund was refused: only 64.00 EUR is left to refund on ORD-1005.",
             "the model answered after the error")


INVALID_CALLS = [
    ("issue_refund", {"order_ref": "ORD-1002", "amount": "all of it", "reason": "customer unhappy"},
     "issue_refund with amount 'all of it'", "amount must be a number"),
    ("list_orders", {"customer_ref": "CUS-2001", "status": "lost"},
     "list_orders with status 'lost'", "'lost' is not an order status"),
    ("lookup_order", {}, "lookup_order without arguments", "order_ref is missing"),
    ("lookup_order", '{"order_ref": "ORD-1002"', "lookup_order with arguments that are not JSON",
     "the arguments are not valid JSON"),
    ("lookup_order", {"order_ref": "ORD-1002", "verbose": True}, "lookup_order with an argument 'verbose'",
     "lookup_order takes no argument 'verbose'"),
]
VALIDATE_HINT = (
    "Check every call's arguments against the function's parameters and their types before anything runs "
    "(a missing argument, one the function does not take, a value of the wrong type, arguments that are not "
    "JSON), and answer such a call with {\"error\": ...} without running or proposing it."
)


@check(
    "invalid-arguments-rejected",
    "Arguments that do not fit the function are answered as errors; nothing runs and nothing is proposed",
    points=3,
    cassette="invalid-arguments-rejected",
    hint=VALIDATE_HINT,
)
def test_invalid_arguments(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    assistant = make_assistant(learner, db, openai_client())
    question = "CUS-2001 is unhappy with ORD-1002 and wants everything back; check their other orders too."

    def nothing_pending(reply: Any) -> None:
        expect(
            status(reply) != "needs_confirmation",
            observed=f"ask() ended with status 'needs_confirmation', pending: {show_pending(pending(reply))}",
            expected="no pending action: issue_refund's amount 'all of it' is not a number, so the call is "
            "rejected before the agent is asked",
            hint=VALIDATE_HINT,
        )

    reply = converse(lambda: assistant.ask(question), sent_requests, requests=2,
                     why="the model's five tool calls were all invalid and answered as errors, then it answered",
                     hint=VALIDATE_HINT, first=nothing_pending)
    results = tool_results(sent_requests[1], [(name, args) for name, args, _, _ in INVALID_CALLS], "request 2",
                           RESULTS_HINT)
    for (_, _, call, why), result in zip(INVALID_CALLS, results, strict=True):
        expect_error(result, call, why, "request 2", VALIDATE_HINT)
    expect(not rows(db, "refunds"), observed=f"refunds stored: {show_rows(rows(db, 'refunds'))}",
           expected="none: the only refund call had an invalid amount", hint=VALIDATE_HINT)
    answered(reply, "My tool calls were rejected; please look ORD-1002 up in the console.",
             "the model answered after the errors")


@check(
    "unknown-tools-never-run",
    "A tool the assistant does not offer is answered as an error and never runs, even if the order API has it",
    points=2,
    cassette="unknown-tools-never-run",
    hint="Run only the four tools you offer, looked up by name in a table of your own; answer any other name "
    "with {\"error\": ...}.",
)
def test_unknown_tools(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    assistant = make_assistant(learner, db, openai_client())
    reply = converse(lambda: assistant.ask("CUS-2001 no longer wants ORD-1001; it has not shipped."), sent_requests,
                     requests=2, why="the model called cancel_order (not a tool), got an error, then answered",
                     hint="An unknown tool is answered to the model as an error; then ask the model again.")
    order = next(r for r in rows(db, "orders") if r["id"] == ORDER_ID["ORD-1001"])
    expect(
        order["status"] == "placed",
        observed=f"ORD-1001 is now {order['status']!r}: the model's cancel_order call ran",
        expected="'placed': cancel_order is a function of the order API but not one of the assistant's tools",
        hint="Never look a tool up on the OrderDesk by the name the model gave; only the four tools may run.",
    )
    (result,) = tool_results(sent_requests[1], [("cancel_order", {"order_ref": "ORD-1001"})], "request 2",
                             RESULTS_HINT)
    expect_error(result, "cancel_order", "cancel_order is not one of the assistant's tools", "request 2",
                 "Answer a call of a tool you did not offer with {\"error\": ...}.")
    answered(reply, "I cannot cancel orders; the checkout team can.", "the model answered after the error")


# --------------------------------------------------------------------------- the confirmation gate


@check(
    "acting-tools-wait-for-confirmation",
    "A refund the model asks for waits for the agent's confirmation, then runs and its result goes back",
    points=4,
    cassette="acting-tools-wait-for-confirmation",
    hint=GATE_HINT,
)
def test_acting_tools_wait(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    assistant = make_assistant(learner, db, openai_client())
    question = "CUS-2001 says one mug from ORD-1002 arrived broken; please refund 12.50 EUR."

    def waits(reply: Any) -> None:
        refunds = rows(db, "refunds")
        expect(
            not refunds,
            observed=f"before any confirmation, refunds stored: {show_rows(refunds)}",
            expected="none: a refund runs only after the agent's explicit confirmation (the question asking for "
            "it is not one)",
            hint=GATE_HINT,
        )
        expect_status(reply, "needs_confirmation", "issue_refund waits for the agent", GATE_HINT)

    reply = converse(lambda: assistant.ask(question), sent_requests, requests=2,
                     why="the model looked the order up, then called issue_refund, which waits for the agent: "
                     "no request until the agent has decided", hint=GATE_HINT, first=waits)
    actions = pending(reply)
    want = {"order_ref": "ORD-1002", "amount": 12.5, "reason": "one mug arrived broken"}
    expect(
        len(actions) == 1 and actions[0]["tool"] == "issue_refund" and actions[0]["arguments"] == want,
        observed=f"pending: {show_pending(actions)}",
        expected="one pending action: issue_refund(order_ref='ORD-1002', amount=12.5) with the model's arguments",
        hint="List each acting call waiting for the agent in reply.pending: call_id, tool, arguments.",
    )
    final = converse(lambda: assistant.confirm([actions[0]["call_id"]]), sent_requests, requests=1,
                     why="the agent confirmed, the refund ran, its result went back, then the model answered",
                     hint="confirm() runs the approved actions, sends their results back and goes on with the loop.")
    refunds = rows(db, "refunds")
    expect(
        len(refunds) == 1 and refunds[0]["order_id"] == ORDER_ID["ORD-1002"]
        and abs(refunds[0]["amount"] - 12.5) < 1e-9,
        observed=f"after confirm(), refunds stored: {show_rows(refunds)}",
        expected="exactly one: 12.5 EUR on ORD-1002",
        hint="Run the confirmed call through the order API's issue_refund, once.",
    )
    (result,) = tool_results(sent_requests[-1], [("issue_refund", want)], "the request after confirm()",
                             RESULTS_HINT)
    calls_ids = [m.get("tool_call_id") for m in messages(sent_requests[-1]) if m.get("role") == "tool"]
    expect(
        actions[0]["call_id"] in calls_ids,
        observed="the request after confirm() has no tool message with the pending action's call_id",
        expected="the refund's result answers the model's call: tool_call_id = the call_id in reply.pending",
        hint="Keep the model's call id in PendingAction.call_id and answer the call with it.",
    )
    expect_result(result, "issue_refund(ORD-1002, 12.5)", ("ORD-1002",), "the request after confirm()")
    answered(final, "Done: 12.50 EUR refunded on ORD-1002.", "the model answered after the refund")


@check(
    "only-confirmed-actions-run",
    "Of several proposed actions only those the agent confirms run; the others are answered as declined",
    points=3,
    cassette="only-confirmed-actions-run",
    hint="Keep every pending call of the answer; confirm() runs those whose call_id it is given, answers the "
    "others with {\"error\": ...}, and sends every result of that answer back.",
)
def test_only_confirmed_run(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    assistant = make_assistant(learner, db, openai_client())
    question = "The knife of ORD-1005 is blunt. CUS-2002 would send it back, or keep it for 20 EUR off."

    def waits(reply: Any) -> None:
        stored = rows(db, "returns") + rows(db, "refunds")
        expect(not stored, observed=f"before any confirmation, stored: {show_rows(stored)}",
               expected="no return and no refund: both wait for the agent", hint=GATE_HINT)
        expect_status(reply, "needs_confirmation", "start_return and issue_refund wait for the agent", GATE_HINT)

    reply = converse(lambda: assistant.ask(question), sent_requests, requests=1,
                     why="the model's answer looked the order up and proposed a return and a refund", hint=GATE_HINT,
                     first=waits)
    actions = {a["tool"]: a for a in pending(reply)}
    expect(
        sorted(actions) == ["issue_refund", "start_return"] and len(pending(reply)) == 2,
        observed=f"pending: {show_pending(pending(reply))}",
        expected="two pending actions, start_return(ORD-1005) and issue_refund(ORD-1005, 20.0); the look-up of "
        "the same answer is read-only and not pending",
        hint="Every acting call of the answer is pending; read-only calls run at once.",
    )
    final = converse(lambda: assistant.confirm([actions["start_return"]["call_id"]]), sent_requests, requests=1,
                     why="the agent confirmed the return only; every call of the answer was answered, then the "
                     "model answered", hint="confirm() goes on with the loop once every call has a result.")
    returns, refunds = rows(db, "returns"), rows(db, "refunds")
    expect(
        len(returns) == 1 and returns[0]["order_id"] == ORDER_ID["ORD-1005"] and not refunds,
        observed=f"after confirming the return only: returns {show_rows(returns)}; refunds {show_rows(refunds)}",
        expected="one return of ORD-1005 and no refund: the agent declined the refund by not confirming it",
        hint="Run exactly the actions whose call_id was passed to confirm().",
    )
    lookup, started, declined = tool_results(
        sent_requests[-1],
        [("lookup_order", {"order_ref": "ORD-1005"}),
         ("start_return", {"order_ref": "ORD-1005", "reason": "blade is blunt"}),
         ("issue_refund", {"order_ref": "ORD-1005", "amount": 20.0, "reason": "blunt blade, customer keeps it"})],
        "the request after confirm()",
        "Answer every call of the model's answer: the look-up's result, the confirmed action's result, and an "
        "error for the declined one.")
    expect_result(lookup, "lookup_order(ORD-1005)", ("ORD-1005", "delivered"), "the request after confirm()")
    expect_result(started, "start_return(ORD-1005)", ("ORD-1005",), "the request after confirm()")
    expect_error(declined, "issue_refund(ORD-1005, 20.0)", "the agent did not confirm it",
                 "the request after confirm()", "Answer a declined action with {\"error\": ...}.")
    answered(final, "The return of ORD-1005 is started; no refund was issued.", "the model answered")


@check(
    "order-notes-stay-data",
    "A customer's note asking for a refund stays data: it goes to the model only as a tool result and "
    "nothing is refunded",
    points=3,
    cassette="order-notes-stay-data",
    hint="Tool results go to the model only in tool messages, never into the system or user messages; and "
    "whatever the model then asks, a refund waits for the agent.",
)
def test_order_notes(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    assistant = make_assistant(learner, db, openai_client())

    def waits(reply: Any) -> None:
        expect(not rows(db, "refunds"), observed=f"refunds stored: {show_rows(rows(db, 'refunds'))}",
               expected="none: the note asked for a refund, the agent did not", hint=GATE_HINT)
        expect_status(reply, "needs_confirmation", "the model's issue_refund waits for the agent", GATE_HINT)

    converse(lambda: assistant.ask("What is the status of ORD-1004?"), sent_requests, requests=2,
             why="the model looked the order up, then (following the note) called issue_refund", hint=GATE_HINT,
             first=waits)
    for request in sent_requests:
        leaked = [m.get("role") for m in messages(request)
                  if m.get("role") in ("system", "developer", "user") and INJECTED in text_of(m.get("content"))]
        expect(
            not leaked,
            observed=f"request {request.index + 1}: the note of ORD-1004 is in a {leaked[0] if leaked else ''} message",
            expected="order data reaches the model only as tool results (role 'tool'), never as instructions or as "
            "the agent's words",
            hint="Do not put order data into the system prompt or the user message; let the model look it up.",
        )
    final = converse(lambda: assistant.confirm([]), sent_requests, requests=1,
                     why="the agent declined; the declined call was answered, then the model answered",
                     hint="confirm([]) declines every pending action and goes on with the loop.")
    expect(not rows(db, "refunds"), observed=f"after confirm([]), refunds stored: {show_rows(rows(db, 'refunds'))}",
           expected="none: the agent confirmed nothing", hint="Run only the actions whose call_id was passed.")
    (declined,) = tool_results(
        sent_requests[-1],
        [("issue_refund", {"order_ref": "ORD-1004", "amount": 89.0, "reason": "customer note: refund me now"})],
        "the request after confirm([])", RESULTS_HINT)
    expect_error(declined, "issue_refund(ORD-1004, 89.0)", "the agent declined it", "the request after confirm([])",
                 "Answer a declined action with {\"error\": ...}.")
    answered(final, "ORD-1004 was delivered. Its note asks for a refund; none was issued.", "the model answered")


# --------------------------------------------------------------------------- limits


STEP_HINT = (
    "Count the requests of one ask() or confirm(); after settings.max_steps of them, stop and return a reply "
    "with status 'step_limit' instead of raising."
)


@check(
    "step-limit-ends-the-loop",
    "A model that keeps calling tools is stopped after settings.max_steps requests, reported as 'step_limit'",
    points=3,
    cassette="step-limit-ends-the-loop",
    hint=STEP_HINT,
)
def test_step_limit(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    for fields, question, limit in (
        ({"max_steps": 3}, "Keep checking ORD-1003 until it says delivered.", 3),
        ({}, "Check ORD-1001 again and again.", DEFAULT_MAX_STEPS),
    ):
        assistant = make_assistant(learner, db, openai_client(), **fields)
        setting = f"max_steps={limit}" + ("" if fields else " (the default)")
        try:
            reply = converse(lambda q=question, a=assistant: a.ask(q), sent_requests, requests=limit,
                             why=f"every answer called a tool again and {setting}", hint=STEP_HINT)
        except RemoteError as err:
            if err.is_a("NoRecordingMatched"):
                raise
            expect(False, observed=f"with {setting}, ask() raised {err.type_name}",
                   expected="a reply with status 'step_limit': the limit is reported, not raised", hint=STEP_HINT)
        expect_status(reply, "step_limit", f"the model still called tools after {limit} requests ({setting})",
                      STEP_HINT)


@check(
    "requests-have-a-timeout",
    "Every model request has a time-out of at most settings.request_timeout",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Pass timeout=settings.request_timeout to each create() call (or use client.with_options(timeout=...)).",
)
def test_requests_have_a_timeout(learner: Any, openai_client: Any, sent_requests: list[Any], tmp_path: Path) -> None:
    db = _database(tmp_path)
    for fields, question, limit, calls in (
        ({}, "Has ORD-1002 arrived?", DEFAULT_TIMEOUT, 2),
        ({"request_timeout": 12.0}, "Has ORD-1003 arrived?", 12.0, 1),
    ):
        assistant = make_assistant(learner, db, openai_client(sdk_defaults=True), **fields)
        before = len(sent_requests)
        converse(lambda q=question, a=assistant: a.ask(q), sent_requests, requests=calls,
                 why="the model's answers as recorded", hint="Send one request per step of the loop.")
        setting = f"request_timeout={limit:g}" + ("" if fields else " (the default)")
        for request in sent_requests[before:]:
            sent = request.timeout
            expect(
                sent is not None and 0 < sent <= limit + 1e-6,
                observed=f"with {setting}, request {request.index + 1} was sent with "
                + ("no time-out" if sent is None else f"a {sent:g} s time-out")
                + (" (the SDK's default)" if sent is not None and abs(sent - 600) < 1e-6 else ""),
                expected=f"at most {limit:g} s, whatever the client was built with",
                hint="Give every model request timeout=settings.request_timeout; the SDK's own default is 600 s.",
            )
