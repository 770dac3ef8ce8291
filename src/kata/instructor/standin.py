"""A scripted, local, OpenAI-compatible stand-in server, for producing cassettes reproducibly.

The kit's cassettes are recorded through the real SDK against this stand-in, not the real API:
each kata's `fixtures/NN-slug/standin.toml` scripts the answer to every request (by cassette, record
id and attempt), and the stand-in shapes it the way the API does (chat completions, structured
output, refusals, streaming, 429 with retry-after, 5xx, 400, 404 for a retired model). Same script, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import tomllib
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kata.catalog import KitError
from kata.grader import replay

CREATED = 1_764_000_000  # a fixed timestamp keeps re-recorded cassettes byte-identical
ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", "invalid_value",
          "Invalid value for 'messages': the request could not be processed as sent."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    # What the API answers for a retired (or misspelt) model.
    404: ("invalid_request_error", "model_not_found",
          "The model `{model}` does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for {model} in organization org-kata on requests per min (RPM): "
          "Limit 500, Used 500, Requested 1. Please try again in {retry}s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: dict[str, Any] | str


class Reply(BaseModel):
    """One scripted answer: to the n-th request about `record` while recording `cassette`."""

    model_config = ConfigDict(extra="forbid")

    cassette: str
    record: str = ""
    parsed: dict[str, Any] | list[Any] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    status: int = 200
    retry_after: float | None = None
    error_message: str | None = None
    finish_reason: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    cached_tokens: int | None = None  # of the prompt tokens, those the API read from its prompt cache
    completion_tokens: int | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> Reply:
        answers = [self.parsed is not None, self.content is not None, self.refusal is not None,
                   bool(self.tool_calls)]
        if self.status == 200 and sum(answers) != 1:
            raise ValueError("a 200 reply needs exactly one of parsed, content, refusal, tool_calls")
        if self.status != 200 and self.status not in ERRORS:
            raise ValueError(f"status {self.status} is not one the stand-in can shape ({sorted(ERRORS)})")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return self.cassette, _record_key(self.record.split(","))

    def text(self) -> str | None:
        if self.parsed is not None:
            return json.dumps(self.parsed, separators=(",", ":"))
        return self.content


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reply: list[Reply] = Field(default_factory=list)


def _record_key(records: Any) -> str:
    return ",".join(sorted(r.strip() for r in records if r.strip()))


def load_script(path: Path) -> Script:
    """Read a kata's `standin.toml`; errors name the file and the reply."""
    if not path.is_file():
        raise KitError(f"{path}: missing (it scripts the stand-in that produces the cassettes)")
    try:
        return Script.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise KitError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise KitError(f"{path}: {where}") from exc


def _usage(reply: Reply, body: dict[str, Any], text: str) -> dict[str, Any]:
    prompt = reply.prompt_tokens or 20 + len(json.dumps(body.get("messages") or body.get("input") or "")) // 4
    completion = reply.completion_tokens or max(1, len(text) // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": min(reply.cached_tokens or 0, prompt), "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _tool_calls(reply: Reply, seed: str) -> list[dict[str, Any]]:
    calls = []
    for n, call in enumerate(reply.tool_calls):
        args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        calls.append({"id": f"call_{_digest(seed + str(n))[:24]}", "type": "function",
                      "function": {"name": call.name, "arguments": args}})
    return calls


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chat_completion(reply: Reply, body: dict[str, Any], seed: str) -> dict[str, Any]:
    """A `chat.completion` object as the API returns it."""
    text = reply.text()
    calls = _tool_calls(reply, seed)
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": reply.refusal,
                               "annotations": []}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{_digest(seed)[:29]}", "object": "chat.completion", "created": CREATED,
        "model": reply.model or body.get("model", "gpt-4o-mini"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(reply, body, text or reply.refusal or json.dumps(calls)),
        "service_tier": "default", "system_fingerprint": "fp_kata0standin",
    }


def chat_chunks(reply: Reply, body: dict[str, Any], seed: str) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed answer, split into small pieces."""
    text = reply.text() or ""
    base = {"id": f"chatcmpl-{_digest(seed)[:29]}", "object": "chat.completion.chunk", "created": CREATED,
            "model": reply.model or body.get("model", "gpt-4o-mini"), "service_tier": "default",
            "system_fingerprint": "fp_kata0standin"}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
                                     "logprobs": None, "finish_reason": None}]}]
    for start in range(0, len(text), 24):
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": text[start:start + 24]},
                                            "logprobs": None, "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                        "finish_reason": reply.finish_reason or "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(reply, body, text)})
    return chunks


def response_object(reply: Reply, body: dict[str, Any], seed: str) -> dict[str, Any]:
    """A Responses API `response` object (text or structured output)."""
    text = reply.text() or ""
    usage = _usage(reply, body, text)
    part: dict[str, Any] = ({"type": "refusal", "refusal": reply.refusal} if reply.refusal is not None
                            else {"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    return {
        "id": f"resp_{_digest(seed)[:40]}", "object": "response", "created_at": CREATED, "status": "completed",
        "model": reply.model or body.get("model", "gpt-4o-mini"),
        "output": [{"id": f"msg_{_digest(seed + 'm')[:40]}", "type": "message", "status": "completed",
                    "role": "assistant", "content": [part]}],
        "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
                  "total_tokens": usage["total_tokens"],
                  "input_tokens_details": {"cached_tokens": usage["prompt_tokens_details"]["cached_tokens"]},
                  "output_tokens_details": {"reasoning_tokens": 0}},
        "error": None, "incomplete_details": None, "parallel_tool_calls": True, "tools": [],
        "text": body.get("text") or {"format": {"type": "text"}},
    }


def error_object(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    kind, code, message = ERRORS[reply.status]
    text = reply.error_message or message.format(model=body.get("model", "gpt-4o-mini"),
                                                 retry=f"{reply.retry_after or 1:g}")
    return {"error": {"message": text, "type": kind, "param": None, "code": code}}


class StandIn:
    """The stand-in server; use as a context manager: `with StandIn(script, pattern) as s: s.url`."""

    def __init__(self, script: Script, record_pattern: str) -> None:
        self.script = script
        self.pattern = record_pattern
        self.served: set[int] = set()
        self.unscripted: list[str] = []
        self._attempts: dict[tuple[str, str], int] = defaultdict(int)
        self._by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        for n, reply in enumerate(script.reply):
            self._by_key[reply.key].append(n)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give the SDK (ends in /v1)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def unused(self) -> list[Reply]:
        """Scripted replies no request asked for."""
        return [r for n, r in enumerate(self.script.reply) if n not in self.served]

    def answer(self, method: str, path: str, raw: bytes, cassette: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request recorded into `cassette`."""
        body = replay.parse_body(raw)
        ident = replay.identify(method, path, raw, self.pattern)
        key = (cassette, _record_key(ident.records))
        with self._lock:
            attempt = self._attempts[key]
            self._attempts[key] += 1
            indexes = self._by_key.get(key, [])
            if attempt >= len(indexes):
                self.unscripted.append(f"cassette {key[0]!r}, record {key[1]!r}, attempt {attempt + 1}")
                reply = Reply(cassette=key[0], record=key[1], status=500,
                              error_message=f"kata stand-in: nothing scripted for cassette {key[0]!r}, "
                                            f"record {key[1]!r}, attempt {attempt + 1}")
            else:
                self.served.add(indexes[attempt])
                reply = self.script.reply[indexes[attempt]]
        seed = f"{key[0]}|{key[1]}|{attempt}"
        headers = {"content-type": "application/json", "openai-version": "2020-10-01"}
        if reply.status != 200:
            if reply.retry_after is not None:
                headers["retry-after"] = f"{reply.retry_after:g}"
            if reply.status == 429:
                headers.update({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
                                "x-ratelimit-reset-requests": f"{reply.retry_after or 1:g}s"})
            if self.unscripted and reply.error_message and reply.error_message.startswith("kata stand-in"):
                headers["x-should-retry"] = "false"
            return reply.status, headers, json.dumps(error_object(reply, body)).encode()
        if ident.endpoint.endswith("/responses"):
            return 200, headers, json.dumps(response_object(reply, body, seed)).encode()
        if body.get("stream"):
            headers["content-type"] = "text/event-stream; charset=utf-8"
            events = "".join(f"data: {json.dumps(c)}\n\n" for c in chat_chunks(reply, body, seed))
            return 200, headers, (events + "data: [DONE]\n\n").encode()
        return 200, headers, json.dumps(chat_completion(reply, body, seed)).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                path = urlsplit(self.path).path
                # Clients recording a check use the base URL `<stand-in>/<cassette>/v1`.
                cassette = path[1:path.find("/v1/")] if path.find("/v1/") > 0 else ""
                self._send(*standin.answer("POST", path, raw, cassette))

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep grading output clean

        return Handler
