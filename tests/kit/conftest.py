"""Shared fixtures of the kit's own tests: a throw-away copy of the mini kit, and submissions."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kata import cli

MINIKIT = Path(__file__).parent / "minikit"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def minikit(tmp_path: Path) -> Path:
    """A private copy of the mini kit (two tiny katas) that a test may change."""
    root = tmp_path / "kit"
    shutil.copytree(MINIKIT, root, ignore=shutil.ignore_patterns("__pycache__", ".kata"))
    return root


@pytest.fixture
def kata_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run `kata ARGS...` in-process; returns (exit code, printed text)."""

    def run(*args: str) -> tuple[int, str]:
        code = cli.main([str(a) for a in args])
        return code, capsys.readouterr().out

    return run


@pytest.fixture
def submission(tmp_path: Path, minikit: Path) -> Callable[..., Path]:
    """Build a learner submission of the mini kit: the starter of both katas with files replaced."""

    def make(files: dict[str, str], name: str = "learner") -> Path:
        root = tmp_path / name
        for kata in ("01-echo", "02-count"):
            shutil.copytree(minikit / "exercises" / kata, root / "exercises" / kata)
            if (minikit / "solutions" / kata).is_dir():  # start from a passing submission
                shutil.copytree(minikit / "solutions" / kata, root / "exercises" / kata, dirs_exist_ok=True)
        for rel, text in files.items():
            path = root / "exercises" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    return make


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def marked_processes(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line holds `marker` (seen from outside any sandbox)."""
    import os

    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            except OSError:
                continue
            if marker in cmdline and state != "Z":
                found.append(int(pid))
    return found
