"""Trusted grading: hostile submissions that attacked the verdict, graded through the public CLI.

Each attack is written as a learner would write it, in the mini kit's kata 01, and graded with
`kata grade` and with `kata cohort` (the same submission beside an honest learner). An attack that
worked would turn the starter's wrong `shout` (it does not upper-case) into a pass, or leak what the
learner must not read; each test asserts that it gains nothing and that the honest work beside it
keeps full marks.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import load_json, marked_processes

from kata.checks import drop_database_copies, learner_file, open_database
from kata.host import sandbox

ECHO = "01-echo/echo/__init__.py"
GREET = '''

def greet(client, ref, model="gpt-4o-mini"):
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Hi {ref}"}])
    return answer.choices[0].message.content or ""
'''

# shout() writing forged result lines and a 1,000-point check into every descriptor it can reach.
FORGER = '''

def shout(text):
    import json, os
    line = json.dumps({"kind": "result", "id": "shouts", "status": "passed", "message": ""}) + "\\n"
    collected = json.dumps({"kind": "collected", "checks": [{"id": "x", "title": "x", "points": 1000}]}) + "\\n"
    for fd in range(3, 256):
        try:
            os.write(fd, (line + collected).encode())
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        with open(f"/proc/{pid}/fd/{fd}", "a") as handle:
                            handle.write(line + collected)
                    except OSError:
                        pass
            except OSError:
                pass
    return text
'''
WRONG_SHOUT = "\n\ndef shout(text):\n    return text\n"  # the starter's behaviour: the check must fail

# Ten lines at the top of the package: every pytest outcome in this process becomes "passed".
FORCE_PASSES = '''
import _pytest.reports as _reports

_original = _reports.TestReport.__init__


def _always_passed(self, *args, **kwargs):
    _original(self, *args, **kwargs)
    self.outcome = "passed"
    self.longrepr = None


_reports.TestReport.__init__ = _always_passed
'''

REPLACE_THE_JUDGE = '''
import gc
import sys

try:
    import kata.grader.plugin as _plugin
    _plugin._judge = lambda *args, **kwargs: ("passed", "")
except Exception:
    pass
sys.settrace(lambda *args: None)
KEYS = [o for o in gc.get_objects() if isinstance(o, bytes) and len(o) == 32]
'''

# Code that would run before the sandbox, or before the package, if the launcher put the submission on
# sys.path or used it as the working folder: each sets a flag that makes `shout` correct.
EARLY = "import builtins\nbuiltins.KATA_PWNED = True\n"
FLAG_SHOUT = ("\n\ndef shout(text):\n    import builtins\n"
              "    return text.upper() if getattr(builtins, 'KATA_PWNED', False) else text\n")


def _grade(kata_cli, minikit: Path, target: Path, tmp_path: Path) -> dict[str, dict]:
    out_file = tmp_path / "results.json"
    kata_cli("--root", minikit, "grade", "--target", target, "--json", out_file)
    return {k["id"]: k for k in load_json(out_file)["katas"]}


def _checks(kata: dict) -> dict[str, dict]:
    return {c["id"]: c for c in kata["checks"]}


def _cohort(kata_cli, minikit: Path, tmp_path: Path, attacker: Path, honest: Path) -> dict[str, dict]:
    subs, out = tmp_path / "cohort-subs", tmp_path / "cohort-out"
    subs.mkdir()
    shutil.copytree(attacker, subs / "mallory")
    shutil.copytree(honest, subs / "ada")
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out, "--jobs", "2")
    assert code == 0 and "Traceback" not in printed, printed
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["learner"]: row for row in csv.DictReader(handle)}


def test_forced_pytest_outcomes_gain_nothing(kata_cli, minikit, submission, tmp_path) -> None:
    attacker = submission({ECHO: FORCE_PASSES + WRONG_SHOUT + GREET}, "mallory")
    katas = _grade(kata_cli, minikit, attacker, tmp_path)
    echo = _checks(katas["01"])
    assert echo["shouts"]["status"] == "failed" and echo["shouts"]["points"] == 0
    # The patch does reach the service's own tests in the learner's process: the canary shows it.
    assert echo["existing-tests"]["points"] == 0 and "tampering" in echo["existing-tests"]["message"]
    assert katas["01"]["problem"] == "tampered" and katas["01"]["score"] == 2  # greets and model-configurable
    book = _cohort(kata_cli, minikit, tmp_path, attacker, submission({}, "ada"))
    assert int(book["mallory"]["01-echo"]) == 2
    assert int(book["ada"]["01-echo"]) == 5 and int(book["ada"]["02-count"]) == 2


def test_replaced_kit_functions_tracing_and_key_hunting_gain_nothing(kata_cli, minikit, submission,
                                                                     tmp_path) -> None:
    attacker = submission({ECHO: REPLACE_THE_JUDGE + WRONG_SHOUT + GREET}, "mallory")
    echo = _checks(_grade(kata_cli, minikit, attacker, tmp_path)["01"])
    assert echo["shouts"]["status"] == "failed" and echo["existing-tests"]["status"] == "passed"
    book = _cohort(kata_cli, minikit, tmp_path, attacker, submission({}, "ada"))
    assert int(book["mallory"]["01-echo"]) == 3 and int(book["ada"]["01-echo"]) == 5


@pytest.mark.parametrize("early", ["sitecustomize.py", "usercustomize.py", "site.py", "kata/__init__.py",
                                   "encodings/__init__.py", "echo/sitecustomize.py"])
def test_code_before_the_sandbox_never_runs(kata_cli, minikit, submission, tmp_path, early) -> None:
    attacker = submission({ECHO: FLAG_SHOUT + GREET, f"01-echo/{early}": EARLY}, "mallory")
    echo = _checks(_grade(kata_cli, minikit, attacker, tmp_path)["01"])
    assert echo["shouts"]["status"] == "failed", early
    assert echo["greets"]["status"] == "passed"  # the submission itself was graded


def test_the_kits_private_files_and_history_are_out_of_reach(kata_cli, minikit, submission, tmp_path) -> None:
    subprocess.run(["git", "init", "-q", str(minikit)], check=True)
    subprocess.run(["git", "-C", str(minikit), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(minikit), "-c", "user.name=kit", "-c", "user.email=kit@example.com",
                    "commit", "-qm", "SECRET-COMMIT-MESSAGE"], check=True)
    checks = minikit / "tests" / "checks" / "01-echo" / "test_echo.py"
    solution = minikit / "solutions" / "01-echo" / "echo" / "__init__.py"
    cassette = minikit / "fixtures" / "01-echo" / "cassettes" / "greets.yaml"
    before = solution.read_text()
    snoop = f'''

def shout(text):
    import subprocess
    found = []
    for path in ({str(checks)!r}, {str(solution)!r}, {str(cassette)!r}):
        try:
            found.append(open(path).read()[:200])
        except OSError as exc:
            found.append(type(exc).__name__)
    try:
        open({str(solution)!r}, "a").write("# changed by a learner\\n")
    except OSError:
        pass
    log = subprocess.run(["git", "-C", {str(minikit)!r}, "log", "--format=%s"], capture_output=True, text=True)
    return repr(found) + log.stdout
'''
    echo = _checks(_grade(kata_cli, minikit, submission({ECHO: snoop + GREET}, "mallory"), tmp_path)["01"])
    message = echo["shouts"]["message"]
    assert "SECRET-COMMIT-MESSAGE" not in message
    assert "kata.checks" not in message and "Hello, REC-1" not in message and "return text.upper()" not in message
    assert solution.read_text() == before


def test_the_instructors_environment_does_not_reach_learner_code(kata_cli, minikit, submission, tmp_path,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "made-up-secret-1234")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-instructor-key-5678")
    leak = "\n\ndef shout(text):\n    import os\n    return repr(sorted(os.environ.items()))\n"
    attacker = submission({ECHO: leak + GREET}, "mallory")
    message = _checks(_grade(kata_cli, minikit, attacker, tmp_path)["01"])["shouts"]["message"]
    assert "HOME" in message  # the learner's code did read its environment...
    assert "made-up-secret-1234" not in message and "sk-instructor-key-5678" not in message  # ...not ours
    out = tmp_path / "cohort-out"
    _cohort(kata_cli, minikit, tmp_path, attacker, submission({}, "ada"))
    feedback = (out / "feedback" / "mallory.md").read_text()
    assert "made-up-secret-1234" not in feedback and "HOME" in feedback


@pytest.mark.skipif(sandbox.probe() is not None, reason="unconfined, it would write into every process of this user")
def test_writing_forged_results_anywhere_gains_nothing(kata_cli, minikit, submission, tmp_path) -> None:
    attacker = submission({ECHO: FORGER + GREET}, "mallory")
    katas = _grade(kata_cli, minikit, attacker, tmp_path)
    shouts = _checks(katas["01"])["shouts"]
    # Garbage written into its own socket ends the learner's process for this check; nothing else.
    assert shouts["status"] != "passed" and shouts["points"] == 0 and katas["01"]["max_score"] == 5
    book = _cohort(kata_cli, minikit, tmp_path, attacker, submission({}, "ada"))
    assert int(book["mallory"]["01-echo"]) <= 3 and int(book["ada"]["01-echo"]) == 5
    assert int(book["ada"]["total"]) == int(book["ada"]["max_total"]) == 7


@pytest.mark.skipif(sandbox.probe() is not None or not os.path.isdir("/dev/shm"),
                    reason="needs the namespace sandbox and a /dev/shm")
def test_shared_memory_is_private_to_each_run(kata_cli, minikit, submission, tmp_path) -> None:
    # /dev/shm is writable by every process of the machine: a channel between learners if left shared.
    planted = Path("/dev/shm") / f"kata-planted-{os.getpid()}"
    dropped = Path("/dev/shm") / f"kata-dropped-{os.getpid()}"
    planted.write_text("another learner's note")
    snoop = f'''

def shout(text):
    import os
    open({str(dropped)!r}, "w").write("for the next learner")
    return "shm:" + repr(sorted(os.listdir("/dev/shm")))
'''
    try:
        message = _checks(_grade(kata_cli, minikit, submission({ECHO: snoop + GREET}, "mallory"),
                                 tmp_path)["01"])["shouts"]["message"]
        assert "shm:" in message  # the learner's code did list its /dev/shm...
        assert planted.name not in message and dropped.name in message  # ...its own, not the machine's
        assert not dropped.exists()
    finally:
        planted.unlink(missing_ok=True)
        dropped.unlink(missing_ok=True)


def test_a_double_forked_daemon_does_not_outlive_its_run(kata_cli, minikit, submission, tmp_path) -> None:
    daemon = '''

def shout(text):
    import os, subprocess
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            subprocess.Popen(["sleep", "313.25"], start_new_session=True)
        os._exit(0)
    return text.upper()
'''
    katas = _grade(kata_cli, minikit, submission({ECHO: daemon + GREET}, "mallory"), tmp_path)
    assert _checks(katas["01"])["shouts"]["status"] == "passed"
    deadline = time.monotonic() + 5
    while marked_processes("sleep 313.25") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_processes("sleep 313.25") == []


def test_files_the_learner_wrote_are_read_safely(tmp_path) -> None:
    fifo = tmp_path / "db.fifo"
    os.mkfifo(fifo)
    (tmp_path / "zero.db").symlink_to("/dev/zero")
    real = tmp_path / "real.db"
    import sqlite3

    with sqlite3.connect(real) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (42)")
    # A FIFO or a link to a device is no file: nothing is read and nothing blocks.
    assert learner_file(fifo) is None and learner_file(tmp_path / "zero.db") is None
    assert learner_file(tmp_path / "missing.db") is None
    try:
        assert open_database(fifo).execute("SELECT name FROM sqlite_master").fetchall() == []
        assert [tuple(r) for r in open_database(real).execute("SELECT x FROM t")] == [(42,)]
    finally:
        drop_database_copies()  # the plugin's part after a check


STORM = '''
import subprocess as _subprocess

STARTED = 0
for _ in range(80):  # busy shells in sessions of their own, started as the package is imported; niced, so
    try:                # that the host itself still runs if a limit keeps them inside the run's own CPU share
        _subprocess.Popen(["nice", "-n", "19", "sh", "-c", "while :; do :; done # storm-7781"], start_new_session=True,
                          stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
        STARTED += 1
    except OSError:
        pass


def shout(text):
    return text.upper() if STARTED < 80 else text  # passes only if the run's process limit stopped the storm
'''


def test_a_fork_and_cpu_storm_costs_the_learners_beside_it_nothing(kata_cli, minikit, submission, tmp_path) -> None:
    from kata.host import cgroups

    attacker = submission({ECHO: STORM + GREET}, "mallory")
    subs, out = tmp_path / "storm-subs", tmp_path / "storm-out"
    subs.mkdir()
    shutil.copytree(attacker, subs / "mallory")
    for honest in ("ada", "bob"):
        shutil.copytree(submission({}, honest), subs / honest)
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out, "--jobs", "2")
    assert code == 0 and "Traceback" not in printed, printed
    with open(out / "gradebook.csv", newline="") as handle:
        book = {row["learner"]: row for row in csv.DictReader(handle)}
    for honest in ("ada", "bob"):
        assert int(book[honest]["total"]) == int(book[honest]["max_total"]) == 7, book[honest]
    if cgroups.unavailable() is None:  # a group per run: the storm hit its pids.max
        assert int(book["mallory"]["01-echo"]) == 5
    deadline = time.monotonic() + 5
    while marked_processes("storm-7781") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_processes("storm-7781") == []
