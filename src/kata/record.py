"""Re-recording a kata's cassettes through the real SDK against the scripted stand-in."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import runner, targets
from .catalog import Kata
from .results import KataResult
from .standin import StandIn, load_script


@dataclass
class RecordOutcome:
    """What a recording run produced and how the cassettes changed."""

    result: KataResult
    changes: list[str] = field(default_factory=list)
    unused_replies: list[str] = field(default_factory=list)
    unscripted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result.full_marks and not self.unused_replies and not self.unscripted


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


def record_with_standin(kata: Kata, target: targets.Target | None = None, *, write: bool = True) -> RecordOutcome:
    """Run the reference solution's checks against the stand-in and (re)write the kata's cassettes."""
    script = load_script(kata.fixtures_dir / "standin.toml")
    target = target or targets.solution(kata)
    out = Path(tempfile.mkdtemp(prefix=f"kata-record-{kata.id}-"))
    try:
        with StandIn(script, kata.spec.replay.record_pattern) as server:
            result = runner.grade(kata, target, runner.RunOptions(standin_url=server.url, cassettes_out=out))
        outcome = RecordOutcome(
            result=result,
            changes=diff_summary(kata.cassette_dir, out),
            unused_replies=[f"cassette {r.cassette!r}, record {r.record!r}" for r in server.unused()],
            unscripted=list(server.unscripted),
        )
        if write and outcome.ok:
            if kata.cassette_dir.is_dir():
                shutil.rmtree(kata.cassette_dir)
            shutil.copytree(out, kata.cassette_dir)
        return outcome
    finally:
        shutil.rmtree(out, ignore_errors=True)
