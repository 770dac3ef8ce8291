"""Live mode and recording against a real model: every kata's reference solution, end to end.

`nox -s live` runs this file (CI does too, from `.ci/run`). A real OpenAI-compatible server
(llama.cpp's `llama-server` with SmolLM2-135M-Instruct, see `llama.py`) answers on 127.0.0.1. For each
kata, `kata live NN --solution` and `kata record NN --out DIR` run against it with a made-up key. A
135M-parameter model answers badly, so scores are not asserted; the plumbing is:

- neither command crashes (exit 0 or 1, never a traceback), and every request got an HTTP answer;
- no recording holds the key, or any other secret the kit scans for;
- failed checks that talked to the model say that their words describe the recording, not the live
  answer;
- the recording replays offline (a copy of the kit with those cassettes, no endpoint at all) and gives
  the reference solution the very score it got while recording.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kata.catalog import Catalog
from kata.grader import replay
from kata.learn import live

sys.path.insert(0, str(Path(__file__).parent))
from llama import MODEL_ALIAS, LlamaServer, model_file, server_binary  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# CI gives the session what is left of its time (`KATA_LIVE_BUDGET_S`); a kata is started only while at least
# KATA_SLOT_S of it remains, and the others are skipped and named, never cut off half-way.
BUDGET_S = float(os.environ.get("KATA_LIVE_BUDGET_S") or "inf")
KATA_SLOT_S = 480.0
STARTED = time.monotonic()
KATAS = [k.id for k in Catalog(ROOT).katas]
FAKE_KEY = "sk-kata-live-0000fakekey0000abcd"
REPORT = ROOT / ".kata" / "live-model.json"
NOTE = live.LIVE_NOTE.split(";")[0]


@pytest.fixture(scope="session")
def server() -> Iterator[LlamaServer]:
    logs = ROOT / ".kata" / "live-model"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    binary = server_binary(logs / "build.log")
    model = model_file()
    ready = time.monotonic() - started
    with LlamaServer(binary, model, logs / "server.log") as running:
        _report("server", {"binary_and_model_s": round(ready, 1)})
        yield running


def _report(key: str, value: object) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.is_file() else {}
    data[key] = value
    REPORT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _kata(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "kata", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=3600, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


def _env(server: LlamaServer | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KATA_MODEL"))}
    env["COLUMNS"] = "200"  # result lines unwrapped
    if server is not None:
        env.update(OPENAI_API_KEY=FAKE_KEY, OPENAI_BASE_URL=server.base_url)
    return env


def _clean_interactions(folder: Path) -> list[dict]:
    """The recorded interactions of `folder`, each asserted free of the key and of every secret kind."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert FAKE_KEY not in text, f"{path}: the API key was recorded"
        assert replay.find_secrets(text) == [], f"{path}: {replay.find_secrets(text)}"
        found += (yaml.safe_load(text) or {}).get("interactions") or []
    return found


def _score(out: str, kata_id: str) -> tuple[int, int]:
    match = re.search(rf"^{kata_id} .*?\s(\d+)/(\d+)\s", out, re.M)
    assert match, f"no result line for kata {kata_id} in:\n{out[-3000:]}"
    return int(match.group(1)), int(match.group(2))


def _statuses(interactions: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in interactions:
        code = str(((item.get("response") or {}).get("status") or {}).get("code"))
        counts[code] = counts.get(code, 0) + 1
    return counts


@pytest.mark.parametrize("kata_id", KATAS)
def test_live_and_record_against_a_real_model(kata_id: str, server: LlamaServer, tmp_path: Path) -> None:
    left = BUDGET_S - (time.monotonic() - STARTED)
    if left < KATA_SLOT_S:
        _report(kata_id, {"skipped": f"{left:.0f} s of the budget left, a kata needs up to {KATA_SLOT_S:.0f}"})
        pytest.skip(f"kata {kata_id}: the live session's time budget is spent ({left:.0f} s left)")
    kata = Catalog(ROOT).get(kata_id)
    figures: dict[str, object] = {}

    started = time.monotonic()
    code, out = _kata(["live", kata_id, "--solution", "--model", MODEL_ALIAS], _env(server))
    figures["live_s"] = round(time.monotonic() - started, 1)
    assert code in (0, 1) and "Traceback" not in out, out[-4000:]
    interactions = _clean_interactions(ROOT / live.LIVE_DIR / kata.name)
    assert all(item.get("response", {}).get("status", {}).get("code") for item in interactions)
    figures["live_score"] = "/".join(map(str, _score(out, kata_id)))
    figures["live_requests"] = _statuses(interactions)
    if code == 1 and interactions:
        assert NOTE in out, out[-4000:]  # the live answer is told apart from the recording's words

    recorded = tmp_path / "recorded"
    started = time.monotonic()
    code, out = _kata(["record", kata_id, "--out", str(recorded), "--model", MODEL_ALIAS], _env(server))
    figures["record_s"] = round(time.monotonic() - started, 1)
    assert code in (0, 1) and "Traceback" not in out, out[-4000:]
    interactions = _clean_interactions(recorded)
    assert (recorded / "recorded.toml").is_file(), out[-4000:]
    assert FAKE_KEY not in (recorded / "recorded.toml").read_text()
    score = _score(out, kata_id)
    figures["record_score"] = "/".join(map(str, score))

    # Offline: a copy of the kit whose cassettes are the new recording, and no endpoint at all.
    kit = tmp_path / "kit"
    shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(".git", ".venv", ".nox", ".kata", ".ci-venv",
                                                             "__pycache__", "*.egg-info"))
    cassettes = kit / kata.cassette_dir.relative_to(ROOT)
    shutil.rmtree(cassettes)
    cassettes.mkdir()
    for path in recorded.glob("*.yaml"):
        shutil.copy2(path, cassettes / path.name)
    code, out = _kata(["--root", str(kit), "grade", kata_id, "--solution"], _env(None))
    assert code in (0, 1) and "Traceback" not in out, out[-4000:]
    assert _score(out, kata_id) == score, out[-4000:]
    figures["replayed"] = "same score offline"
    _report(kata_id, figures)
