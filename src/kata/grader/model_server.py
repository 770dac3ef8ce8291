"""Model traffic, answered by the grader: every request learner code sends reaches this module.

The learner host's SDK client sends each HTTP request over the channel. Here the grader notes it as a
`SentRequest` (what the checks observe), decides the faults a check asked for (a time-out, a dropped
connection), and otherwise passes it upstream through an `httpx2` transport: under replay that
transport is VCR's, answering from the check's cassette with the kit's matcher; when recording it
reaches the stand-in or the learner's real endpoint, whose key stays in the grader. Embeddings requests
are answered by the kit's deterministic embedder, in live mode too. The answer goes back as plain data.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from kata import embedder
from kata.grader import replay
from kata.grader.remote import ModelClient

FORWARDED_SKIP = {"host", "authorization", "content-length", "openai-organization", "openai-project", "api-key",
                  "cookie", "connection", "accept-encoding"}
MAX_BODY = 8 * 1024**2


@dataclass
class SentRequest:
    """A request the code under test sent through a client from the `openai_client` fixture."""

    index: int
    method: str
    path: str
    body: dict[str, Any]
    model: str | None
    records: tuple[str, ...]
    user_text: str
    structured: bool
    schema_fields: tuple[str, ...]
    stream: bool
    timeout: float | None  # the read time-out the SDK set for this request, in seconds
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names: x-stainless-retry-count, ...
    answered: bool = True  # False: no recording matched it
    in_flight: int = 1  # requests of its client in flight in the learner's process when it was sent, itself included
    answered_at: int | None = None  # how many requests had been sent when this one got its answer

    @property
    def retry_count(self) -> int:
        """The SDK's attempt number for this call (0 for the first attempt), from `x-stainless-retry-count`."""
        try:
            return int(self.headers.get("x-stainless-retry-count", "0"))
        except ValueError:
            return 0


@dataclass(frozen=True)
class Upstream:
    """Where requests go after the grader: the replayed API, a recording stand-in, or a live endpoint."""

    standin_url: str | None = None
    live_base_url: str | None = None
    live_api_key: str | None = None
    live_model: str | None = None
    live_organization: str | None = None
    live_project: str | None = None

    def url(self, path: str, cassette: str) -> str:
        path = path[path.find("/v1/"):] if "/v1/" in path else path
        if self.live_base_url:
            return self.live_base_url.rstrip("/").removesuffix("/v1") + path
        if self.standin_url:  # the stand-in learns the cassette from the path prefix
            return f"{self.standin_url.rsplit('/v1', 1)[0]}/{cassette}{path}"
        return replay.API_ORIGIN + path

    def auth(self) -> list[tuple[str, str]]:
        if not self.live_api_key:
            return [("authorization", "Bearer kata-replay-key")]
        headers = [("authorization", f"Bearer {self.live_api_key}")]
        if self.live_organization:
            headers.append(("openai-organization", self.live_organization))
        if self.live_project:
            headers.append(("openai-project", self.live_project))
        return headers


def _chosen(rule: Any, sent: SentRequest) -> bool:
    if rule is None:
        return False
    return sent.index in rule if isinstance(rule, set | frozenset | list | tuple) else bool(rule(sent))


@functools.cache
def ssl_context() -> Any:
    """One TLS context per grader (the warm grader builds it before it forks): loading the CA bundle takes
    0.1 s, and replay forwards every request through a transport."""
    import httpx2

    return httpx2.create_ssl_context()


class ModelServer:
    """Answers the learner host's model requests for one check."""

    def __init__(self, pattern: str, upstream: Upstream, cassette: Callable[[], str],
                 clients: Callable[[int], ModelClient | None], on_unmatched: Callable[[Exception], str]) -> None:
        self.pattern = pattern
        self.upstream = upstream
        self.cassette = cassette
        self.clients = clients
        self.on_unmatched = on_unmatched  # the learner-facing note for a request no recording answers
        self.sent: list[SentRequest] = []
        # slow requests (slow_on) not yet answered: index -> (requests seen when it last asked, the request)
        self._held: dict[int, tuple[int, tuple[str, str, list[tuple[str, str]], bytes]]] = {}

    def _sent(self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: Any) -> SentRequest:
        data = replay.parse_body(body)
        ident = replay.identify(method, url, body, self.pattern)
        read = timeout.get("read") if isinstance(timeout, dict) else None
        return SentRequest(
            index=len(self.sent), method=method, path=ident.endpoint.split(" ", 1)[1], body=data,
            model=ident.model, records=ident.records, user_text=replay.user_text(data),
            structured=ident.output == "structured", schema_fields=ident.schema_fields, stream=ident.stream,
            timeout=float(read) if isinstance(read, int | float) else None, headers=headers,
        )

    def serve(self, ask: dict[str, Any]) -> dict[str, Any]:
        """The answer to one `http` request of the host."""
        if isinstance(ask.get("again"), int) and not isinstance(ask.get("again"), bool):
            return self._again(ask["again"], ask.get("busy"))
        try:
            method = str(ask.get("method", "GET")).upper()[:10]
            url = str(ask.get("url", ""))[:2000]
            raw_headers = [(str(k)[:200], str(v)[:4000]) for k, v in ask.get("headers", [])][:100]
            body = base64.b64decode(str(ask.get("body", "")))[:MAX_BODY]
        except (ValueError, TypeError):
            return {"fault": "unmatched", "message": "a request the grader could not read"}
        headers = {k.lower(): v for k, v in raw_headers}
        sent = self._sent(method, url, headers, body, ask.get("timeout"))
        in_flight = ask.get("in_flight")
        sent.in_flight = in_flight if isinstance(in_flight, int) and 0 < in_flight < 10**6 else 1
        self.sent.append(sent)
        client = self.clients(int(ask.get("client", 0)) if isinstance(ask.get("client"), int) else 0)
        if client is not None:
            if client.on_request is not None:
                client.on_request(sent)
            if _chosen(client.timeout_on, sent):
                if client.on_timeout is not None:
                    client.on_timeout(sent)
                return self._answered(sent, {"fault": "timeout"})
            if _chosen(client.error_on, sent):
                return self._answered(sent, {"fault": "connect"})
            if _chosen(client.kill_on, sent):
                return self._answered(sent, {"fault": "kill"})
            if client.is_async and _chosen(client.slow_on, sent):
                self._held[sent.index] = (len(self.sent), (method, url, raw_headers, body))
                return {"fault": "later", "id": sent.index}
        return self._answer(sent, method, url, raw_headers, body)

    def _again(self, index: int, busy: Any) -> dict[str, Any]:
        """A slow request asked again: answered once no other request has arrived since it last asked and
        none is still going in the learner's process (other held ones aside)."""
        held = self._held.get(index)
        if held is None:
            return {"fault": "unmatched", "message": "a request the grader was not holding"}
        seen, request = held
        if seen != len(self.sent) or (isinstance(busy, int) and busy > 0):
            self._held[index] = (len(self.sent), request)
            return {"fault": "later", "id": index}
        del self._held[index]
        return self._answer(self.sent[index], *request)

    def _answer(self, sent: SentRequest, method: str, url: str, headers: list[tuple[str, str]],
                body: bytes) -> dict[str, Any]:
        if sent.path == "/v1/embeddings" and method == "POST":
            return self._answered(sent, self._embeddings(sent))
        return self._answered(sent, self._forward(sent, method, url, headers, body))

    def _answered(self, sent: SentRequest, answer: dict[str, Any]) -> dict[str, Any]:
        sent.answered_at = len(self.sent)
        return answer

    @staticmethod
    def _embeddings(sent: SentRequest) -> dict[str, Any]:
        """Embeddings come from the kit's deterministic embedder, not from cassettes (kata.embedder says why)."""
        status, answer = embedder.response(sent.body)
        return {"status": status, "headers": [["content-type", "application/json"]],
                "body": base64.b64encode(json.dumps(answer).encode()).decode()}

    def _forward(self, sent: SentRequest, method: str, url: str, headers: list[tuple[str, str]],
                 body: bytes) -> dict[str, Any]:
        import httpx2

        forwarded = [(k, v) for k, v in headers if k.lower() not in FORWARDED_SKIP]
        forwarded += self.upstream.auth()
        if self.upstream.live_model and sent.model and sent.model != self.upstream.live_model:
            body = replay.swap_model(body, self.upstream.live_model)
            forwarded.append((replay.SENT_MODEL_HEADER, sent.model))
        target = self.upstream.url(urlsplit(url).path, self.cassette())
        request = httpx2.Request(method, target, headers=forwarded, content=body)
        transport = httpx2.HTTPTransport(verify=ssl_context())
        try:
            response = transport.handle_request(request)
            content = response.read()
        except Exception as exc:  # noqa: BLE001 - VCR's "no match", or a live endpoint that failed
            if type(exc).__name__ == "CannotOverwriteExistingCassetteException":
                sent.answered = False
                return {"fault": "unmatched", "message": self.on_unmatched(exc)}
            if isinstance(exc, httpx2.TimeoutException):
                return {"fault": "timeout"}
            return {"fault": "connect"}
        finally:
            transport.close()
        return {"status": response.status_code,
                "headers": [[k, v] for k, v in response.headers.multi_items()
                            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")],
                "body": base64.b64encode(content).decode()}
