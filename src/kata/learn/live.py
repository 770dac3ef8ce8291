"""`kata live`: a kata's hidden checks against a real OpenAI-compatible endpoint, recorded locally.

Grading is offline: every check replays recorded answers. Live mode is the learner's step from
those recordings to a real model. It runs the same checks with a client pointed at the endpoint
the learner's `OPENAI_API_KEY` / `OPENAI_BASE_URL` name (OpenAI, or a local server such as
Ollama), optionally with another model, and records the traffic into `.kata/live/NN-slug/`
(git-ignored) through the same scrubbing as the kit's cassettes: no key, no authorization,
cookie, organisation or project header is stored.

A live model answers as it likes, so some checks can fail for reasons that are the model's, not
the code's. The recordings tell which: `expectations()` reads each check's cassette and names what
it scripted (a 429, a 5xx, a refusal, an answer cut short, a low confidence) that a live model will
not give on demand, and which checks depend on the model's particular answer at all.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kata import targets
from kata.catalog import Kata, KitError
from kata.grader import replay, runner
from kata.grader.endpoint import LiveEndpoint
from kata.outputs.results import KataResult, Status

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LIVE_DIR = Path(".kata") / "live"
# A real model takes seconds per answer (a local one on a laptop CPU, tens of seconds).
LIVE_CHECK_TIME_LIMIT = 180.0
LIVE_KATA_TIME_LIMIT = 1200.0
LOW_CONFIDENCE = 0.5  # below this, a recorded confidence is one a live model rarely gives on demand

HOW_TO_GO_LIVE = """\
{command} needs a real OpenAI-compatible endpoint: {missing}.

  OpenAI:
    export OPENAI_API_KEY=sk-...            # your own key; a run of a kata costs a few cents at most

  A local server, e.g. Ollama (free, offline, slower):
    ollama serve &  ollama pull llama3.2
    export OPENAI_BASE_URL=http://localhost:11434/v1
    export OPENAI_API_KEY=ollama            # any value: the SDK needs one, Ollama ignores it
    export KATA_MODEL=llama3.2              # or --model llama3.2: the model your server has

  vLLM, LM Studio, llama.cpp's server and other OpenAI-compatible servers work the same way
  with their own URL. OPENAI_ORG_ID and OPENAI_PROJECT_ID are used when set.
"""


class NoEndpoint(KitError):
    """No usable endpoint in the environment; the message says what to set."""


def endpoint_from_env(environ: Mapping[str, str], model: str | None = None, command: str = "kata live") -> LiveEndpoint:
    """The endpoint `OPENAI_API_KEY`, `OPENAI_BASE_URL` and `KATA_MODEL` (or `model`) name.

    Raises NoEndpoint, explaining what to set for OpenAI or for a local server, when there is no key.
    """
    key = environ.get("OPENAI_API_KEY", "").strip()
    base = environ.get("OPENAI_BASE_URL", "").strip().rstrip("/")
    if not key:
        missing = ("OPENAI_BASE_URL is set but OPENAI_API_KEY is not" if base
                   else "OPENAI_API_KEY (and, for a local server, OPENAI_BASE_URL) are not set")
        raise NoEndpoint(HOW_TO_GO_LIVE.format(command=command, missing=missing))
    if base and urlsplit(base).scheme not in ("http", "https"):
        raise NoEndpoint(f"OPENAI_BASE_URL={base!r} is not an http(s) URL; e.g. http://localhost:11434/v1")
    return LiveEndpoint(
        base_url=base or DEFAULT_BASE_URL, api_key=key,
        model=(model or environ.get("KATA_MODEL", "")).strip() or None,
        organization=environ.get("OPENAI_ORG_ID") or None, project=environ.get("OPENAI_PROJECT_ID") or None,
    )


# --------------------------------------------------------------------------- what the recordings script


@dataclass(frozen=True)
class Expectation:
    """What a check's recording holds, and so how far a live run of it can be compared."""

    check_id: str
    cassette: str
    interactions: int
    scripted: tuple[str, ...] = ()  # situations a live model does not produce on demand

    @property
    def kind(self) -> str:
        """`offline-only` (scripted situations), `model-answers` (depends on the answers), `no-traffic`."""
        if self.scripted:
            return "offline-only"
        return "model-answers" if self.interactions else "no-traffic"


def check_cassettes(kata: Kata) -> dict[str, str]:
    """Check id -> cassette name, read from the `@check(...)` decorators without importing the checks."""
    found: dict[str, str] = {}
    if not kata.checks_dir.is_dir():
        return found
    for path in sorted(kata.checks_dir.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError):
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "check"):
                continue
            if not node.args or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
                continue
            check_id = node.args[0].value
            cassette = next((k.value.value for k in node.keywords if k.arg == "cassette"
                             and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)), None)
            found[check_id] = cassette or check_id
    return found


def _enum_of(schema: dict[str, Any], prop: dict[str, Any]) -> list[Any] | None:
    """The allowed values of a schema property (following a local `$ref`), if it has an enum."""
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = schema
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        prop = node if isinstance(node, dict) else {}
    values = prop.get("enum")
    return values if isinstance(values, list) else None


def _outside_schema(request: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """Answer fields whose value the request's structured-output schema does not allow (`queue='sales'`)."""
    body = replay.parse_body((request or {}).get("body"))
    fmt = body.get("response_format") or (body.get("text") or {}).get("format") or {}
    schema = (fmt.get("json_schema") or fmt).get("schema") if isinstance(fmt, dict) else None
    if not isinstance(schema, dict):
        return []
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        allowed = _enum_of(schema, prop) if isinstance(prop, dict) else None
        if allowed is not None and name in answer and answer[name] not in allowed:
            found.append(f"an answer outside the schema ({name}={answer[name]!r})")
    return found


def _situations(interaction: dict[str, Any]) -> list[str]:
    """Scripted situations in one recorded interaction."""
    response = interaction.get("response") or {}
    status = int((response.get("status") or {}).get("code") or 200)
    if status == 429:
        return ["a 429 rate limit"]
    if status >= 500:
        return [f"a {status} server error"]
    if status >= 400:
        return [f"a {status} client error"]
    text = (response.get("body") or {}).get("string") or ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return []  # a stream: its chunks are ordinary answers
    found = []
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        if message.get("refusal"):
            found.append("a refusal")
        if choice.get("finish_reason") in ("length", "content_filter"):
            found.append(f"an answer cut short (finish_reason={choice['finish_reason']})")
        try:
            parsed = json.loads(message.get("content") or "")
        except (ValueError, RecursionError):  # any text a model wrote, e.g. an array nested 1,200 deep
            parsed = None
        confidence = parsed.get("confidence") if isinstance(parsed, dict) else None
        if isinstance(confidence, int | float) and confidence < LOW_CONFIDENCE:
            found.append(f"a low confidence ({confidence:g})")
        if isinstance(parsed, dict):
            found += _outside_schema(interaction.get("request") or {}, parsed)
    for item in body.get("output") or []:
        for part in item.get("content") or [] if isinstance(item, dict) else []:
            if isinstance(part, dict) and part.get("type") == "refusal":
                found.append("a refusal")
    return found


def expectations(kata: Kata) -> list[Expectation]:
    """For each check, what its recording scripts (read from the kata's cassettes)."""
    result = []
    for check_id, cassette in check_cassettes(kata).items():
        path = kata.cassette_dir / f"{cassette}.yaml"
        interactions: list[dict[str, Any]] = []
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            interactions = data.get("interactions") or []
        scripted: list[str] = []
        for item in interactions:
            for situation in _situations(item):
                if situation not in scripted:
                    scripted.append(situation)
        result.append(Expectation(check_id, cassette, len(interactions), tuple(scripted)))
    return result


# --------------------------------------------------------------------------- running live


@dataclass
class LiveOutcome:
    """A live run: the result, where the traffic was recorded, and what the recordings scripted."""

    result: KataResult
    folder: Path
    cassettes: list[Path]
    expectations: list[Expectation]
    leaks: list[str] = field(default_factory=list)  # secrets found in the recording (then deleted)


def live_folder(kata: Kata) -> Path:
    """`.kata/live/NN-slug/` under the kit root (git-ignored with the rest of `.kata/`)."""
    return kata.root / LIVE_DIR / kata.name


def find_leaks(folder: Path, endpoint: LiveEndpoint | None = None) -> list[str]:
    """`cassette: what` for every secret found in the recorded cassettes (and, given the endpoint, its
    key, organisation or project id verbatim)."""
    own = ((endpoint.api_key, "the API key"), (endpoint.organization, "the organisation id"),
           (endpoint.project, "the project id")) if endpoint is not None else ()
    leaks = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        kinds = replay.find_secrets(text)
        for value, name in own:
            if value and len(value) >= 6 and value in text:
                kinds.append(name)
        leaks += [f"{path.name}: {kind}" for kind in kinds]
    return leaks


def run_live(kata: Kata, endpoint: LiveEndpoint, target: targets.Target | None = None, *,
             time_limit: float | None = None) -> LiveOutcome:
    """Run the kata's checks on `target` (the learner's exercise) against `endpoint`, recording into
    `.kata/live/NN-slug/` (emptied first)."""
    folder = live_folder(kata)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    options = runner.RunOptions(
        live=endpoint, cassettes_out=folder,
        time_limit=time_limit or max(kata.spec.time_limit, LIVE_KATA_TIME_LIMIT),
        check_time_limit=max(kata.spec.check_time_limit, LIVE_CHECK_TIME_LIMIT),
    )
    result = runner.grade(kata, target or targets.exercise(kata), options)
    expected = expectations(kata)
    result = with_live_notes(result, expected, folder, kata)
    leaks = find_leaks(folder, endpoint)
    if leaks:  # never leave a secret on disk, even in a git-ignored folder
        shutil.rmtree(folder, ignore_errors=True)
    cassettes = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return LiveOutcome(result=result, folder=folder, cassettes=cassettes, expectations=expected, leaks=leaks)


LIVE_NOTE = ("live: a check's words were written for the recorded answers (what 'the model answered' there); "
             "this run's answers came from the live model and are in {where}. Offline, `kata grade {id}` "
             "says whether your code is at fault.")


def with_live_notes(result: KataResult, expected: list[Expectation], folder: Path, kata: Kata) -> KataResult:
    """The result with a note on each failed check that talked to the model: its message describes the
    recording, while the answers it got were the live model's (and so may be why it failed)."""
    by_id = {e.check_id: e for e in expected}
    checks = []
    for check in result.checks:
        exp = by_id.get(check.id)
        if check.status != Status.PASSED and exp is not None and exp.interactions:
            where = f"{LIVE_DIR / kata.name / exp.cassette}.yaml"
            note = LIVE_NOTE.format(where=where, id=kata.id)
            check = check.model_copy(update={"message": f"{note}\n{check.message}".strip()})
        checks.append(check)
    return result.model_copy(update={"checks": checks})
