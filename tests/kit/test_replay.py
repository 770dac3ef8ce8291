"""Request identity and matching: what identifies an interaction, and what a learner is told."""

import json

import pytest

from kata.grader import replay

PATTERN = r"TCK-\d+"


def body(**overrides) -> bytes:
    data = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Secret reference prompt about TCK-9"},
                     {"role": "user", "content": "Ticket TCK-1001: my invoice is wrong"}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "Classification", "schema": {"properties": {"queue": {}, "confidence": {}}}}},
    }
    data.update(overrides)
    return json.dumps(data).encode()


def ident(raw: bytes, url: str = "https://api.openai.com/v1/chat/completions") -> replay.Identity:
    return replay.identify("POST", url, raw, PATTERN)


def test_identity_ignores_wording_system_prompt_and_host() -> None:
    other = body(messages=[{"role": "system", "content": "You are a router."},
                           {"role": "user", "content": [{"type": "text", "text": "Route TCK-1001 please"}]}])
    assert ident(body()) == ident(other, "http://127.0.0.1:8080/v1/chat/completions")
    assert ident(body()).records == ("TCK-1001",)  # the id in the system prompt is not the record


def test_identity_sees_model_schema_stream_and_records() -> None:
    base = ident(body())
    assert replay.differences(ident(body(model="gpt-4o")), base) == [
        "model: sent 'gpt-4o', recorded 'gpt-4o-mini'"]
    renamed = body(response_format={"type": "json_schema", "json_schema": {
        "name": "C", "schema": {"properties": {"label": {}, "confidence": {}}}}})
    assert replay.differences(ident(renamed), base) == [
        "schema fields: sent confidence, label, recorded confidence, queue"]
    assert replay.differences(ident(body(response_format=None)), base) == [
        "output mode: sent text, recorded structured"]
    assert replay.differences(ident(body(stream=True)), base) == [
        "streaming: sent stream=True, recorded stream=False"]
    other = body(messages=[{"role": "user", "content": "TCK-1002"}])
    assert replay.differences(ident(other), base) == [
        "records in the user message: sent TCK-1002, recorded TCK-1001"]


def test_responses_api_requests_are_identified() -> None:
    raw = json.dumps({"model": "gpt-4o-mini", "instructions": "hidden TCK-7", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "About TCK-5"}]}],
        "text": {"format": {"type": "json_schema", "name": "X", "schema": {"properties": {"a": {}}}}}})
    found = ident(raw.encode(), "https://api.openai.com/v1/responses")
    assert (found.endpoint, found.records, found.output, found.schema_fields) == (
        "POST /v1/responses", ("TCK-5",), "structured", ("a",))


def test_matcher_raises_assertion_with_differences_only() -> None:
    matcher = replay.make_matcher(PATTERN)

    class Req:
        def __init__(self, raw: bytes) -> None:
            self.method, self.uri, self.body = "POST", "https://api.openai.com/v1/chat/completions", raw

    matcher(Req(body()), Req(body()))
    with pytest.raises(AssertionError) as caught:
        matcher(Req(body(model="x")), Req(body()))
    assert "Secret reference prompt" not in str(caught.value) and "model" in str(caught.value)


def test_unmatched_explanations_never_quote_the_prompt() -> None:
    sent = ident(body(model="gpt-4o"))
    text = replay.explain_unmatched(sent, [ident(body())], already_played=False)
    assert "closest differs in model" in text and "Secret" not in text and "invoice" not in text
    assert "more requests" in replay.explain_unmatched(ident(body()), [ident(body())], already_played=True)
    assert "expects no model request" in replay.explain_unmatched(ident(body()), [], already_played=False)


def test_local_hosts_are_stored_as_the_api_host_idempotently() -> None:
    once = replay.rewrite_local_host("http://127.0.0.1:4010/rec/v1/chat/completions?x=1")
    assert once == "https://api.openai.com/v1/chat/completions?x=1"
    assert replay.rewrite_local_host(once) == once
    assert replay.rewrite_local_host("https://example.org/v1/x") == "https://example.org/v1/x"


def test_response_scrubbing_keeps_only_what_clients_read() -> None:
    response = {"headers": {"Set-Cookie": ["a"], "openai-organization": ["org-x"], "retry-after": ["2"],
                            "x-ratelimit-remaining-requests": ["0"], "cf-ray": ["1"], "content-type": ["j"]}}
    assert set(replay.scrub_response(response)["headers"]) == {
        "retry-after", "x-ratelimit-remaining-requests", "content-type"}


def test_secret_scanner_finds_each_kind() -> None:
    assert replay.find_secrets("nothing here: kata-replay-key, org-kata") == []
    assert replay.find_secrets("sk-abcdefghijklmn") == ["an API key (sk-...)"]


def test_a_header_word_in_a_body_is_no_secret_but_a_header_of_that_name_is() -> None:
    # A real model's reply may talk about a payment "authorization" or a browser "cookie": not a secret.
    def cassette(headers: str, body: str) -> str:
        return ("interactions:\n- request:\n    body: null\n    headers:\n" + headers + "    method: POST\n"
                "    uri: https://api.openai.com/v1/chat/completions\n  response:\n    body:\n"
                f"      string: '{body}'\n    headers: {{}}\n    status: {{code: 200, message: OK}}\nversion: 1\n")

    reply = '{"content": "Your payment Authorization is pending; clear the cookie and use your api-key"}'
    clean = cassette("      Content-Type:\n      - application/json\n", reply)
    assert replay.find_secrets(clean) == []
    leaky = cassette("      Authorization:\n      - Bearer x\n      Cookie:\n      - a=b\n", "{}")
    assert replay.find_secrets(leaky) == ["an authorization header", "a cookie"]
    assert replay.find_secrets(cassette("", '{"k": "sk-abcdefghijklmn"}')) == ["an API key (sk-...)"]
    echoed = cassette("", '{"content": "you sent Authorization: Bearer tok and Set-Cookie: id=1"}')
    assert replay.find_secrets(echoed) == ["an authorization header", "a cookie"]
    assert replay.find_secrets("not a cassette: Authorization") == ["an authorization header"]
    assert replay.find_secrets("our desk-assistant-tools and task-management-board") == []
    assert replay.find_secrets('"Bearer sk-abcdefghijklmn"') == ["an API key (sk-...)"]
