"""Replaying recorded model traffic: what identifies a request, matching, scrubbing, secrets.

A recorded interaction is identified by what the brief fixes (endpoint, model, streaming, output
mode and schema field names, tool names) and by the input records it is about, found in the *user*
content with the kata's record pattern. Prompt wording, system prompts and call order are the
learner's own, so they are never compared. The order in which interactions with the same identity
are consumed gives the attempt number of retried calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

API_ORIGIN = "https://api.openai.com"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1", "[::1]"}
# Response headers worth keeping: the ones the SDK or a retry policy reads.
KEPT_RESPONSE_HEADERS = {"content-type", "retry-after", "retry-after-ms", "x-should-retry", "openai-version"}
KEPT_RESPONSE_PREFIXES = ("x-ratelimit-",)
KEPT_REQUEST_HEADERS = {"content-type"}
SECRET_PATTERNS = {
    # Not inside a word: a model's "desk-assistant" or "task-management" is not a key.
    "an API key (sk-...)": re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{8,}"),
    "an authorization header": re.compile(r"(?i)\bauthorization\b"),
    "a cookie": re.compile(r"(?i)\b(set-)?cookie\b"),
    "an organization id": re.compile(r"(?i)openai-organization|\borg-[A-Za-z0-9]{8,}"),
    "a project id": re.compile(r"(?i)openai-project|\bproj_[A-Za-z0-9]{8,}"),
    "an api-key header": re.compile(r"(?i)\bapi-key\b"),
}
# Kinds that are header names: in a cassette they are looked for among its headers only, since the same
# word in a body is no secret (a real model's reply about a payment "authorization" is not one).
HEADER_KINDS = {"an authorization header", "a cookie", "an api-key header"}
# ...unless the body holds one written out as a header with a credential-shaped value (an echoed request).
HEADER_LINES = {
    "an authorization header": re.compile(r"(?i)\bauthorization\s*:\s*(bearer|basic|token)\s+\S"),
    "a cookie": re.compile(r"(?i)\b(set-)?cookie\s*:\s*[\w.-]+="),
    "an api-key header": re.compile(r"(?i)\bapi-key\s*:\s*\S{8,}"),
}


@dataclass(frozen=True)
class Identity:
    """What identifies a model request for replay."""

    endpoint: str
    model: str | None
    stream: bool
    output: str  # "structured", "json" or "text"
    schema_fields: tuple[str, ...]
    tools: tuple[str, ...]
    records: tuple[str, ...]


def endpoint_of(method: str, url_or_path: str) -> str:
    """`POST /v1/chat/completions`, whatever the host or base-URL prefix."""
    path = urlsplit(url_or_path).path or url_or_path
    if (at := path.find("/v1/")) >= 0:
        path = path[at:]
    return f"{method.upper()} {path}"


def parse_body(body: bytes | str | None) -> dict[str, Any]:
    """The JSON body of a request, or {} when it has none or is not JSON."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep to read
        return {}
    return data if isinstance(data, dict) else {}


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
    return texts


def user_text(body: dict[str, Any]) -> str:
    """The user content of a Chat Completions or Responses request; system text is left out."""
    texts: list[str] = []
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            texts += _texts(message.get("content"))
    items = body.get("input")
    if isinstance(items, str):
        texts.append(items)
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("role", "user") == "user" and "content" in item:
                texts += _texts(item.get("content"))
            elif isinstance(item, str):  # an embeddings request's list of texts
                texts.append(item)
    return "\n".join(texts)


def _schema(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict):
        return "text", None
    if fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema", fmt)
        return "structured", (schema.get("schema") if isinstance(schema, dict) else None)
    if fmt.get("type") == "json_object":
        return "json", None
    return "text", None


def _tool_names(body: dict[str, Any]) -> tuple[str, ...]:
    names = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            named = tool.get("function") if isinstance(tool.get("function"), dict) else tool
            if isinstance(named.get("name"), str):
                names.append(named["name"])
    return tuple(sorted(names))


def identify(method: str, url: str, body: bytes | str | None, record_pattern: str) -> Identity:
    """The identity of one request."""
    data = parse_body(body)
    output, schema = _schema(data)
    fields = tuple(sorted((schema or {}).get("properties", {}) or {}))
    records = tuple(sorted(set(re.findall(record_pattern, user_text(data))))) if record_pattern else ()
    model = data.get("model")
    return Identity(
        endpoint=endpoint_of(method, url),
        model=model if isinstance(model, str) else None,
        stream=bool(data.get("stream")),
        output=output,
        schema_fields=fields,
        tools=_tool_names(data),
        records=records,
    )


def _show(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "(none)"


def _differing(sent: Identity, recorded: Identity) -> list[tuple[str, str]]:
    """(aspect, learner-facing words) for each part of the identity that differs."""
    found = []
    if sent.endpoint != recorded.endpoint:
        found.append(("endpoint", f"endpoint: sent {sent.endpoint}, recorded {recorded.endpoint}"))
    if sent.model != recorded.model:
        found.append(("model", f"model: sent {sent.model!r}, recorded {recorded.model!r}"))
    if sent.stream != recorded.stream:
        found.append(("streaming", f"streaming: sent stream={sent.stream}, recorded stream={recorded.stream}"))
    if sent.output != recorded.output:
        found.append(("output mode", f"output mode: sent {sent.output}, recorded {recorded.output}"))
    elif sent.schema_fields != recorded.schema_fields:
        found.append(("schema fields", f"schema fields: sent {_show(sent.schema_fields)}, "
                                       f"recorded {_show(recorded.schema_fields)}"))
    if sent.tools != recorded.tools:
        found.append(("tools", f"tools: sent {_show(sent.tools)}, recorded {_show(recorded.tools)}"))
    if sent.records != recorded.records:
        found.append(("records", f"records in the user message: sent {_show(sent.records)}, "
                                 f"recorded {_show(recorded.records)}"))
    return found


def differences(sent: Identity, recorded: Identity) -> list[str]:
    """What differs between a sent and a recorded request, in learner-facing words."""
    return [words for _, words in _differing(sent, recorded)]


def _closest(sent: Identity, recorded: list[Identity], already_played: bool) -> tuple[str, Identity | None]:
    """Why a request went unmatched: `no request` (none recorded), `count` (one like it was recorded
    but already played), or `differs` with the closest recording."""
    if not recorded:
        return "no request", None
    if already_played or any(not differences(sent, r) for r in recorded):
        return "count", None
    return "differs", min(recorded, key=lambda r: len(differences(sent, r)))


def unmatched_aspects(sent: Identity, recorded: list[Identity], already_played: bool) -> list[str]:
    """Which parts of the brief's contract an unmatched request breaks: `no request`, `count`, or
    the aspects that differ from the closest recording (`endpoint`, `model`, `streaming`,
    `output mode`, `schema fields`, `tools`, `records`)."""
    why, best = _closest(sent, recorded, already_played)
    return [why] if best is None else [aspect for aspect, _ in _differing(sent, best)]


# Words that point at the row of a brief's contract table about each part of a request.
_BRIEF_WORDS = {
    "no request": ("count", "blank", "empty", "no request", "none for"),
    "count": ("count", "one request", "per ", "retries"),
    "endpoint": ("post /v1", "endpoint", "request"),
    "model": ("model", "request"),
    "streaming": ("stream", "request"),
    "output mode": ("schema", "structured", "output", "request"),
    "schema fields": ("schema", "field", "structured", "request"),
    "tools": ("tool", "function", "request"),
    "records": ("user message", "user content", "record", "ref", "id"),
}


def brief_says(brief: str, aspects: list[str]) -> str | None:
    """The row of the brief's contract table that fixes the first of `aspects`, as plain text.

    Briefs list the contracts the checks rely on in a `| what | contract |` table; the row that
    mentions most of the aspect's words wins (a word in the row's first cell counts double).
    """
    rows = []
    for line in brief.splitlines():
        cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2 or set("".join(cells)) <= set("-: "):
            continue
        rows.append(cells)
    if len(rows) < 2 or not aspects:
        return None
    words = _BRIEF_WORDS.get(aspects[0], ())
    best, best_score = None, 0
    for cells in rows[1:]:  # the first row is the table's header
        head, text = cells[0].lower(), " ".join(cells).lower()
        score = sum(1 for w in words if w in text) + sum(1 for w in words if w in head)
        if score > best_score:
            best, best_score = cells, score
    return f"{best[0]}: {' '.join(best[1:])}" if best else None


def explain_unmatched(sent: Identity, recorded: list[Identity], already_played: bool) -> str:
    """A learner-facing account of why a request got no recorded answer (never the recorded prompt)."""
    about = f"{sent.endpoint} with model {sent.model!r} about {_show(sent.records)}"
    why, best = _closest(sent, recorded, already_played)
    if why == "no request":
        return f"your code sent a request ({about}) but this check expects no model request at all"
    if best is None:
        same = sum(1 for r in recorded if not differences(sent, r))
        return (
            f"your code sent more requests ({about}) than were recorded for it ({same}); "
            "each recorded answer is played once"
        )
    return f"no recording matches a request your code sent ({about}); closest differs in " + "; ".join(
        differences(sent, best)
    )


def make_matcher(record_pattern: str):  # noqa: ANN201 - vcrpy's matcher protocol
    """A vcrpy matcher comparing identities; raises AssertionError naming what differs."""

    def kata_identity(r1: Any, r2: Any) -> None:
        one = identify(r1.method, r1.uri, r1.body, record_pattern)
        two = identify(r2.method, r2.uri, r2.body, record_pattern)
        found = differences(one, two)
        if found:
            # An explicit raise: a bare assert would be rewritten to print both bodies.
            raise AssertionError("; ".join(found))

    return kata_identity


def rewrite_local_host(uri: str) -> str:
    """Store requests made to a local stand-in as requests to the API's host (idempotent)."""
    parts = urlsplit(uri)
    if parts.hostname in LOCAL_HOSTS:
        origin = urlsplit(API_ORIGIN)
        path = parts.path[parts.path.find("/v1/"):] if "/v1/" in parts.path else parts.path
        return urlunsplit((origin.scheme, origin.netloc, path, parts.query, parts.fragment))
    return uri


SENT_MODEL_HEADER = "x-kata-sent-model"  # live mode: the model the code asked for, before an override


def swap_model(body: bytes, model: str) -> bytes:
    """The JSON request body with another `model`, encoded as the SDK encodes it (compact, UTF-8)."""
    data = parse_body(body)
    if not data or "model" not in data:
        return body
    data["model"] = model
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def redact(text: str) -> str:
    """Secrets a response body can carry (an organisation id in a 429 message, say), made harmless."""
    text = SECRET_PATTERNS["an API key (sk-...)"].sub("[redacted key]", text)
    text = re.sub(r"\borg-[A-Za-z0-9]{8,}", "org-kata", text)
    return re.sub(r"\bproj_[A-Za-z0-9]{8,}", "proj_kata", text)


def scrub_request(request: Any) -> Any:
    """vcrpy `before_record_request`: local host -> API host; only content-type kept of the headers;
    a model swapped by live mode's `--model` is stored as the model the code sent."""
    request.uri = rewrite_local_host(request.uri)
    sent_model = request.headers.get(SENT_MODEL_HEADER)
    if sent_model and isinstance(request.body, bytes | str):
        raw = request.body.encode() if isinstance(request.body, str) else request.body
        request.body = swap_model(raw, sent_model)
    for name in list(request.headers):
        if name.lower() not in KEPT_REQUEST_HEADERS:
            del request.headers[name]
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy `before_record_response`: drop cookies, organisation, request ids and other volatile headers."""
    headers = response.get("headers") or {}
    response["headers"] = {
        name: value
        for name, value in headers.items()
        if name.lower() in KEPT_RESPONSE_HEADERS or name.lower().startswith(KEPT_RESPONSE_PREFIXES)
    }
    body = response.get("body") or {}
    if isinstance(body.get("string"), bytes):
        try:
            body["string"] = redact(body["string"].decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            pass  # not text: nothing a secret pattern could match
    elif isinstance(body.get("string"), str):
        body["string"] = redact(body["string"])
    return response


# The HTTP libraries vcrpy patches when they are there; it tries to import each one on every cassette it
# opens, and an import that fails is searched for again each time (2 ms a cassette, warm).
VCR_OPTIONAL_LIBRARIES = ("requests", "urllib3", "botocore", "httplib2", "tornado", "aiohttp", "httpx",
                          "httpx_curl_cffi", "pyreqwest")


def mark_absent_http_libraries() -> None:
    """Record the libraries of VCR_OPTIONAL_LIBRARIES this interpreter lacks as absent (`None` in
    `sys.modules`), so that importing one fails at once, as it would after a search."""
    import importlib.util
    import sys

    for name in VCR_OPTIONAL_LIBRARIES:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment] - the import system's "not there"


def vcr_config() -> dict[str, Any]:
    """The VCR configuration every check runs under (record mode is chosen by the grader)."""
    return {
        "match_on": ["method", "kata_identity"],
        "filter_headers": ["authorization", "openai-organization", "openai-project", "cookie", "api-key"],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }


def find_secrets(text: str) -> list[str]:
    """Names of the kinds of secret found in a cassette's text (header kinds among its headers only)."""
    headers = _header_names(text)
    found = []
    for name, pattern in SECRET_PATTERNS.items():
        if name in HEADER_KINDS and headers is not None:
            hit = pattern.search(headers) or HEADER_LINES[name].search(text)
        else:
            hit = pattern.search(text)
        if hit:
            found.append(name)
    return found


def _header_names(text: str) -> str | None:
    """Every request and response header name of a VCR cassette, one per line; None for other text."""
    import yaml  # only the scanners need it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        return None
    names = []
    for interaction in data["interactions"]:
        for side in ("request", "response"):
            part = interaction.get(side) if isinstance(interaction, dict) else None
            headers = part.get("headers") if isinstance(part, dict) else None
            if isinstance(headers, dict):
                names += [str(name) for name in headers]
    return "\n".join(names)
