"""Re-recording a kata's cassettes through the real SDK: against the scripted stand-in (the kit's own
cassettes, reproducible byte for byte) or against a real OpenAI-compatible endpoint.

Both run the reference solution's checks with VCR in record mode and the same scrubbing
(`replay.vcr_config`): request headers dropped but content-type, response headers kept only where a
client reads them, compressed bodies stored decoded, secret-looking ids in bodies redacted, local
hosts stored as `https://api.openai.com`. The cassettes are written only when the solution gets full
marks and no secret is found in them; a summary says what changed against the previous ones.

A recording from a real endpoint leaves `fixtures/NN-slug/recorded.toml` saying where the cassettes
came from; a recording from the stand-in removes it (`standin.toml` then says it all).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kata import targets
from kata.catalog import Kata
from kata.grader import replay, runner
from kata.instructor.standin import StandIn, load_script
from kata.learn.live import LIVE_CHECK_TIME_LIMIT, LIVE_KATA_TIME_LIMIT, LiveEndpoint, find_leaks
from kata.outputs.results import KataResult

PROVENANCE = "recorded.toml"


@dataclass
class RecordOutcome:
    """What a recording run produced and how the cassettes changed."""

    result: KataResult
    changes: list[str] = field(default_factory=list)
    unused_replies: list[str] = field(default_factory=list)
    unscripted: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # secrets found in the new cassettes: nothing is written
    written_to: Path | None = None

    @property
    def ok(self) -> bool:
        return self.result.full_marks and not self.unused_replies and not self.unscripted and not self.leaks


def _interactions(path: Path) -> int:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return len(data.get("interactions") or [])


def diff_summary(old_dir: Path, new_dir: Path) -> list[str]:
    """One line per cassette that was added, removed or changed, with its interaction counts."""
    old = {p.name: p for p in old_dir.glob("*.yaml")} if old_dir.is_dir() else {}
    new = {p.name: p for p in new_dir.glob("*.yaml")}
    lines = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            lines.append(f"added    {name} ({_interactions(new[name])} interactions)")
        elif name not in new:
            lines.append(f"removed  {name} ({_interactions(old[name])} interactions)")
        elif old[name].read_bytes() != new[name].read_bytes():
            lines.append(f"changed  {name} ({_interactions(old[name])} -> {_interactions(new[name])} interactions)")
    return lines


def _identity_order(folder: Path, pattern: str) -> None:
    """Write each cassette's interactions ordered by request identity (record ids, endpoint, model, ...).

    Concurrent requests (an async client) reach the stand-in in an order that varies between runs; replay
    does not care, as it matches by identity, but a re-recording should be byte for byte the same. The sort
    is stable, so the attempts of one identity keep the order they were answered in."""
    from vcr.serializers import yamlserializer

    for path in sorted(folder.glob("*.yaml")):
        data = yamlserializer.deserialize(path.read_text(encoding="utf-8"))
        items = data.get("interactions") or []

        def key(item: dict[str, Any]) -> tuple[Any, ...]:
            request = item.get("request") or {}
            ident = replay.identify(str(request.get("method", "")), str(request.get("uri", "")),
                                    request.get("body"), pattern)
            return (ident.records, ident.endpoint, ident.model or "", ident.stream, ident.output,
                    ident.schema_fields, ident.tools)

        ordered = sorted(items, key=key)
        if ordered != items:
            data["interactions"] = ordered
            path.write_text(yamlserializer.serialize(data), encoding="utf-8")


def _replace_cassettes(kata: Kata, recorded: Path) -> None:
    if kata.cassette_dir.is_dir():
        shutil.rmtree(kata.cassette_dir)
    shutil.copytree(recorded, kata.cassette_dir)


def record_with_standin(kata: Kata, target: targets.Target | None = None, *, write: bool = True) -> RecordOutcome:
    """Run the reference solution's checks against the stand-in and (re)write the kata's cassettes."""
    script = load_script(kata.fixtures_dir / "standin.toml")
    target = target or targets.solution(kata)
    out = Path(tempfile.mkdtemp(prefix=f"kata-record-{kata.id}-"))
    try:
        with StandIn(script, kata.spec.replay.record_pattern) as server:
            result = runner.grade(kata, target, runner.RunOptions(standin_url=server.url, cassettes_out=out))
        _identity_order(out, kata.spec.replay.record_pattern)
        outcome = RecordOutcome(
            result=result,
            changes=diff_summary(kata.cassette_dir, out),
            unused_replies=[f"cassette {r.cassette!r}, record {r.record!r}" for r in server.unused()],
            unscripted=list(server.unscripted),
            leaks=find_leaks(out),
        )
        if write and outcome.ok:
            _replace_cassettes(kata, out)
            (kata.fixtures_dir / PROVENANCE).unlink(missing_ok=True)  # standin.toml says where they come from
            outcome.written_to = kata.cassette_dir
        return outcome
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _models_answering(folder: Path) -> list[str]:
    """The `model` the endpoint named in its answers (the model that actually answered)."""
    models: set[str] = set()
    for path in folder.glob("*.yaml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("interactions") or []:
            text = ((item.get("response") or {}).get("body") or {}).get("string") or ""
            try:
                model = json.loads(text).get("model")
            except (ValueError, AttributeError):
                continue
            if isinstance(model, str):
                models.add(model)
    return sorted(models)


def provenance(endpoint: LiveEndpoint, folder: Path, when: dt.datetime | None = None) -> str:
    """The text of `recorded.toml`: where cassettes recorded from a real endpoint came from."""
    host = urlsplit(endpoint.base_url).hostname or "?"
    where = "a local OpenAI-compatible server" if endpoint.is_local else endpoint.base_url
    lines = [
        "# How cassettes/ were produced: `kata record` against a real OpenAI-compatible endpoint, not the",
        "# scripted stand-in. Answers are the model's own; re-recording gives other answers.",
        'source = "endpoint"',
        f"endpoint = {json.dumps(where)}",
        f"host = {json.dumps(host if not endpoint.is_local else 'localhost')}",
        f"model_override = {json.dumps(endpoint.model or '')}",
        f"models_answering = {json.dumps(_models_answering(folder))}",
        f'recorded_at = "{(when or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")}"',
        f'openai_sdk = "{version("openai")}"',
    ]
    return "\n".join(lines) + "\n"


def record_with_endpoint(
    kata: Kata, endpoint: LiveEndpoint, target: targets.Target | None = None, *, write: bool = True,
    out_dir: Path | None = None, time_limit: float | None = None,
) -> RecordOutcome:
    """Run the reference solution's checks against a real endpoint and record their traffic.

    The kata's cassettes are replaced only when `write` is set, the solution gets full marks (live
    answers differ from scripted ones: errors and refusals cannot be had on demand) and no secret is
    found. `out_dir` keeps the new cassettes there instead, whatever the score, for a look.
    """
    target = target or targets.solution(kata)
    out = Path(tempfile.mkdtemp(prefix=f"kata-record-{kata.id}-"))
    try:
        options = runner.RunOptions(
            live=endpoint, cassettes_out=out,
            time_limit=time_limit or max(kata.spec.time_limit, LIVE_KATA_TIME_LIMIT),
            check_time_limit=max(kata.spec.check_time_limit, LIVE_CHECK_TIME_LIMIT),
        )
        result = runner.grade(kata, target, options)
        outcome = RecordOutcome(result=result, changes=diff_summary(kata.cassette_dir, out),
                                leaks=find_leaks(out, endpoint))
        if outcome.leaks:
            return outcome  # the temporary folder goes below: a secret is never kept
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for path in out.glob("*.yaml"):
                shutil.copy2(path, out_dir / path.name)
            (out_dir / PROVENANCE).write_text(provenance(endpoint, out), encoding="utf-8")
            outcome.written_to = out_dir
        elif write and outcome.ok:
            _replace_cassettes(kata, out)
            (kata.fixtures_dir / PROVENANCE).write_text(provenance(endpoint, out), encoding="utf-8")
            outcome.written_to = kata.cassette_dir
        return outcome
    finally:
        shutil.rmtree(out, ignore_errors=True)
