"""The README's nox sessions, run as a learner runs them (they share the kit's `.venv`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_session_says_nothing_about_uv_and_lists_the_catalog() -> None:
    done = subprocess.run([sys.executable, "-m", "nox", "-s", "list"], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "uv binary not found" not in out
    assert "Ticket triage with structured output" in out
