"""Ctrl-C during `kata grade` and `kata cohort`: a clear line, no traceback, nothing left running or on disk,
and a cohort's outputs written for what was graded before it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conftest import REPO

# A check that never ends on its own (10 s per check): Ctrl-C always lands in the middle of a grade.
ENDLESS = "def shout(text):\n    while True:\n        pass\n"
ECHO = "01-echo/echo/__init__.py"


def _press_ctrl_c_when(command: list[str], tmp: Path, ready: Callable[[], bool]) -> tuple[int, str, str]:
    """Run `command` as a terminal would (its own process group, SIGINT not ignored), send SIGINT to the
    group once `ready()`, and return (exit code, output, what is left running in its group)."""
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(REPO / "src"), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "kata", *command], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                            preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL), os.setpgrp()))
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "grading never started"
            time.sleep(0.05)  # polling another process, not waiting out a duration
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(proc.pid)], capture_output=True, text=True).stdout
    return proc.returncode, output, left.strip()


def _grading(tmp: Path) -> bool:
    return any(tmp.glob("kata-01-*")) or any(tmp.glob("kata-cohort-grading-*/kata-01-*"))


def test_ctrl_c_during_kata_grade(minikit: Path, submission, tmp_path: Path) -> None:
    target = submission({ECHO: ENDLESS})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code, output, left = _press_ctrl_c_when(["--root", str(minikit), "grade", "--target", str(target)], tmp,
                                            lambda: _grading(tmp))
    assert code == 130, output
    assert "Interrupted: nothing more was graded" in output and "Traceback" not in output, output
    assert left == ""  # no grader, no learner host
    assert list(tmp.iterdir()) == []  # no temporary folder with the checks and cassettes


def test_ctrl_c_during_kata_cohort_writes_what_was_graded(minikit: Path, submission, tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    submission({}, "cohort/ada")  # a correct learner, graded first (learners are graded in order)
    submission({ECHO: ENDLESS}, "cohort/bob")
    out, tmp = tmp_path / "grades", tmp_path / "tmp"
    tmp.mkdir()
    command = ["--root", str(minikit), "cohort", str(cohort), "--out", str(out), "--jobs", "1"]

    def bob_is_graded() -> bool:  # ada's two katas are stored, and a kata 01 (bob's) is being graded
        return len(list((out / ".state" / "ada").glob("*.json"))) == 2 and any(
            tmp.glob("kata-cohort-grading-*/kata-01-*"))

    code, output, left = _press_ctrl_c_when(command, tmp, bob_is_graded)
    assert code == 130, output
    assert "Interrupted:" in output and "run the same command again" in output and "Traceback" not in output
    assert left == "" and not any(tmp.rglob("kata-01-*"))
    gradebook = (out / "gradebook.csv").read_text()
    assert "ada" in gradebook and (out / "report.html").is_file() and (out / "feedback" / "ada.md").is_file()

    # The next run grades what the interrupted one did not, and reuses what it did.
    again = subprocess.run([sys.executable, "-m", "kata", *command], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "reused from an earlier run" in again.stdout and "Interrupted" not in again.stdout
