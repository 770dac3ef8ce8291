"""`kata cohort`: a synthetic cohort of the mini kit graded in one run, hostile learners included.

Every hostile learner hands in otherwise correct code whose score would change if its attack
worked (a leaked file, a write, a connection), so the gradebook itself proves each claim of the
threat model in the README; the tests also look at the files the attacks aimed at.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from kata.catalog import Catalog
from kata.host import sandbox
from kata.instructor import cohort
from kata.outputs.results import CheckResult, KataResult, Status

ECHO_OK = '''"""Solved."""


def shout(text):
    return text.upper()


def greet(client, ref, model="gpt-4o-mini"):
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Hi {ref}"}])
    return answer.choices[0].message.content or ""
'''
WC_OK = "def count(text):\n    return len(text.split())\n"
SANDBOXED = sandbox.probe() is None
needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason=f"namespace sandbox unavailable: {sandbox.probe()}")


def echo_with(prelude: str, shout_body: str = "return text.upper()", greet_prelude: str = "") -> str:
    """A correct echo module whose shout() first runs `prelude` (an attack) and may return its verdict."""
    return f'''
def shout(text):
{_indent(prelude)}
    {shout_body}


def greet(client, ref, model="gpt-4o-mini"):
{_indent(greet_prelude)}
    answer = client.chat.completions.create(model=model, messages=[{{"role": "user", "content": f"Hi {{ref}}"}}])
    return answer.choices[0].message.content or ""
'''


STUBBORN = "while True:\n    try:\n        pass\n    except BaseException:\n        pass"


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in (code.strip() or "pass").splitlines())


def write_kata_files(root: Path, minikit: Path, *, echo: str | None = ECHO_OK, wc: str | None = WC_OK,
                     extra: dict[str, str] | None = None) -> Path:
    """A submission folder: the starter of each kata handed in, with its module replaced."""
    for name, module, text in (("01-echo", "echo/__init__.py", echo), ("02-count", "wc/__init__.py", wc)):
        if text is None:
            continue
        shutil.copytree(minikit / "exercises" / name, root / name, dirs_exist_ok=True)
        if text != "starter":
            (root / name / module).write_text(text)
    for rel, text in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + str(path.relative_to(folder)))


def git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "l", "GIT_AUTHOR_EMAIL": "l@x", "GIT_COMMITTER_NAME": "l",
           "GIT_COMMITTER_EMAIL": "l@x"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


class Listener:
    """A TCP server on 127.0.0.1 that counts connections (a hostile learner tries to reach it)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def build_cohort(subs: Path, minikit: Path, out: Path, port: int) -> dict[str, tuple[str, int, int, str]]:
    """23 learners; returns learner -> (status, echo score, count score, expected note fragment)."""
    subs.mkdir()
    solution = minikit / "solutions" / "01-echo" / "echo" / "__init__.py"
    other = subs / "ada" / "exercises" / "01-echo" / "echo" / "__init__.py"
    expected: dict[str, tuple[str, int, int, str]] = {}

    # Correct, in every shape a submission arrives in.
    write_kata_files(subs / "ada" / "exercises", minikit)
    expected["ada"] = ("graded", 5, 2, "")
    write_kata_files(subs / "ben", minikit)  # kata folders at the top, no exercises/
    expected["ben"] = ("graded", 5, 2, "")
    staging = write_kata_files(subs.parent / "staging" / "cleo" / "exercises", minikit).parent
    zip_folder(staging, subs / "cleo.zip", prefix="cleo-main/")  # a downloaded repository archive
    expected["cleo"] = ("graded", 5, 2, "")
    repo = write_kata_files(subs.parent / "staging" / "dev" / "exercises", minikit).parent
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "done", cwd=repo)
    git("clone", "-q", "--bare", str(repo), str(subs / "dev.git"), cwd=subs)
    expected["dev"] = ("graded", 5, 2, "")
    git("bundle", "create", str(subs / "eli.bundle"), "HEAD", "--all", cwd=repo)
    expected["eli"] = ("graded", 5, 2, "")
    kit = subs / "fay"  # a whole clone of the kit, with configuration that must change nothing
    shutil.copytree(minikit, kit, ignore=shutil.ignore_patterns("solutions", "tests", "fixtures"))
    write_kata_files(kit / "exercises", minikit, extra={
        "01-echo/conftest.py": "import pytest\n\n@pytest.fixture(autouse=True)\ndef boom():\n    raise SystemExit(9)\n",
        "01-echo/pytest.ini": "[pytest]\naddopts = -x --co\n",
        "noxfile.py": "raise SystemExit('no')\n",
    })
    expected["fay"] = ("graded", 5, 2, "")

    # Partial.
    write_kata_files(subs / "gus" / "exercises", minikit, echo="starter")
    expected["gus"] = ("graded", 1, 2, "")
    write_kata_files(subs / "hal" / "exercises", minikit, echo=None)
    expected["hal"] = ("graded", 0, 2, "01 not handed in")
    write_kata_files(subs / "ivy" / "exercises", minikit,
                     echo=ECHO_OK.replace("create(model=model", "create(model='gpt-4o-mini'"))
    expected["ivy"] = ("graded", 4, 2, "")
    write_kata_files(subs / "jo" / "exercises", minikit, wc="def count(text):\n    return len(text.split()) + 1\n")
    expected["jo"] = ("graded", 5, 0, "")  # the legacy tests catch it too

    # Broken.
    write_kata_files(subs / "kai" / "exercises", minikit, echo="def shout(text:\n    return text\n")
    expected["kai"] = ("graded", 0, 2, "")
    (subs / "lou").mkdir()
    (subs / "lou" / "notes.txt").write_text("I could not finish.\n")
    expected["lou"] = ("empty", 0, 0, "no kata folders")
    (subs / "max.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    expected["max"] = ("refused", 0, 0, "not a readable zip")

    # Hanging: a loop that swallows the per-check alarm costs only the checks it hangs (the kata's own
    # wall-time limit is test_a_kata_that_outlasts_its_time_limit_is_noted's).
    write_kata_files(subs / "ned" / "exercises", minikit, echo=echo_with("", greet_prelude=STUBBORN))
    expected["ned"] = ("graded", 3, 2, "")
    write_kata_files(subs / "oli" / "exercises", minikit, wc=STUBBORN + "\n" + WC_OK)
    expected["oli"] = ("graded", 5, 0, "")

    # Hostile: each attack, had it worked, would change the score.
    peek = f'''
import ctypes, os
for path in ({str(solution)!r}, {str(other)!r}):
    ctypes.CDLL(None).umount2(os.path.dirname(path).encode(), 2)
    try:
        open(path).read()
        return "LEAKED"
    except OSError:
        pass'''
    write_kata_files(subs / "pam" / "exercises", minikit, echo=echo_with(peek))
    expected["pam"] = ("graded", 5, 2, "")
    targets = [out / "gradebook.csv", out / ".state" / "ada" / "01-echo.json", other, solution,
               minikit / "tests" / "checks" / "01-echo" / "test_echo.py", Path.home() / ".kata-pwned"]
    scribble = f'''
for path in {[str(t) for t in targets]!r}:
    try:
        with open(path, "a") as f:
            f.write("pwned")
        return "WROTE"
    except OSError:
        pass'''
    write_kata_files(subs / "quin" / "exercises", minikit, echo=echo_with(scribble))
    expected["quin"] = ("graded", 5, 2, "")
    dial = f'''
import _socket
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
s.settimeout(1)
try:
    s.connect(("127.0.0.1", {port}))
    return "NET"
except OSError:
    pass'''
    write_kata_files(subs / "rex" / "exercises", minikit, echo=echo_with(dial))
    expected["rex"] = ("graded", 5, 2, "")
    hog = echo_with("", greet_prelude="hog = bytearray(8 * 1024**3)")
    write_kata_files(subs / "sue" / "exercises", minikit, echo=hog)
    expected["sue"] = ("graded", 3, 2, "")  # both model checks call greet()
    forger = '''
import _pytest.reports as _reports
_init = _reports.TestReport.__init__
def _passed(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.outcome = "passed"
_reports.TestReport.__init__ = _passed'''
    write_kata_files(subs / "tom" / "exercises", minikit, echo=echo_with(forger))
    expected["tom"] = ("graded", 4, 2, "01 tampered")  # the existing-tests guard scores 0
    write_kata_files(subs / "uma" / "exercises", minikit, echo=echo_with("", greet_prelude="import os\nos._exit(3)"))
    expected["uma"] = ("graded", 3, 2, "")  # each check has its own learner process: only greet's are lost
    write_kata_files(subs / "vic" / "exercises", minikit, echo="starter", extra={
        "01-echo/tests/conftest.py": "def pytest_collection_modifyitems(items):\n    items.clear()\n",
        "01-echo/tests/test_echo.py": "def test_ok():\n    pass\n",
    })
    expected["vic"] = ("graded", 1, 2, "")

    # Unsafe archive: refused before anything is unpacked.
    with zipfile.ZipFile(subs / "wes.zip", "w") as zf:
        zf.writestr("exercises/01-echo/echo/__init__.py", ECHO_OK)
        zf.writestr("../../escaped.txt", "out!")
    expected["wes"] = ("refused", 0, 0, "outside the submission")
    (subs / "roster.csv").write_text("not a learner\n")  # stray files are not learners
    return expected


@needs_sandbox
def test_a_kata_that_outlasts_its_time_limit_is_noted(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_kata_files(subs / "ned" / "exercises", minikit, echo=echo_with("", greet_prelude=STUBBORN),
                     wc=STUBBORN + "\n" + WC_OK)
    # 6 s for a kata whose hanging checks take 5 s each: the kata's limit ends it, and the run goes on.
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out, "--timeout", "6", "--jobs", "1")
    assert code == 0 and "Traceback" not in printed, printed
    with open(out / "gradebook.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert row["status"] == "graded" and "01 time-out" in row["notes"] and "02 time-out" in row["notes"], row
    assert int(row["02-count"]) == 0 and int(row["total"]) <= int(row["max_total"])


@needs_sandbox
def test_a_cohort_of_23_is_graded_in_one_run(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    listener = Listener()
    try:
        expected = build_cohort(subs, minikit, out, listener.port)
        before = {p: p.read_bytes() for p in (minikit / "solutions").rglob("*.py")}
        code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out, "--timeout", "20",
                                 "--memory", "2048", "--jobs", "2")
    finally:
        listener.close()
    assert code == 0 and "Traceback" not in printed
    assert "23 learner(s): 20 graded, 3 not graded" in printed, printed

    with open(out / "gradebook.csv", newline="") as handle:
        book = {row["learner"]: row for row in csv.DictReader(handle)}
    assert sorted(book) == sorted(expected)
    for learner, (status, echo, count, note) in expected.items():
        row = book[learner]
        got = (row["status"], int(row["01-echo"]), int(row["02-count"]))
        assert got == (status, echo, count), f"{learner}: {got} {row['notes']}"
        assert note in row["notes"], f"{learner}: {row['notes']!r}"
        assert int(row["total"]) == echo + count and row["max_total"] == "7"

    # The attacks left no trace.
    assert listener.connections == 0
    assert not (Path.home() / ".kata-pwned").exists() and not (tmp_path / "escaped.txt").exists()
    assert before == {p: p.read_bytes() for p in (minikit / "solutions").rglob("*.py")}
    assert "pwned" not in (subs / "ada" / "exercises" / "01-echo" / "echo" / "__init__.py").read_text()
    assert "pwned" not in (out / "gradebook.csv").read_text()

    # Long format, per-learner results and feedback agree with the gradebook.
    with open(out / "checks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"learner", "kata", "check", "title", "status", "points", "max_points"} <= set(rows[0])
    ivy = {r["check"]: r for r in rows if r["learner"] == "ivy" and r["kata"] == "01-echo"}
    assert ivy["model-configurable"]["status"] in ("failed", "error") and ivy["shouts"]["points"] == "2"
    assert {r["status"] for r in rows if r["learner"] == "wes"} == {"refused"}
    for learner in expected:
        record = json.loads((out / "results" / f"{learner}.json").read_text())
        assert record["score"] == int(book[learner]["total"])
        feedback = (out / "feedback" / f"{learner}.md").read_text()
        assert feedback.startswith(f"# Feedback for {learner}")
        assert "def test_" not in feedback and "expect(" not in feedback  # never test source
    assert "observed:" in (out / "feedback" / "ivy.md").read_text()
    assert "not graded (refused)" in (out / "feedback" / "max.md").read_text()
    html = (out / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html


def test_rerun_grades_only_what_is_missing_or_changed(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_kata_files(subs / "ada", minikit)
    write_kata_files(subs / "ben", minikit, echo="starter")
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out)
    assert code == 0 and "4 kata grading(s) run, 0 reused" in printed

    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out)
    assert "0 kata grading(s) run, 4 reused" in printed
    (subs / "ben" / "01-echo" / "echo" / "__init__.py").write_text(ECHO_OK)  # ben hands in again
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out)
    assert "2 kata grading(s) run, 2 reused" in printed
    assert "ben,graded,5,2,7,7" in (out / "gradebook.csv").read_text()
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out, "--regrade")
    assert "4 kata grading(s) run, 0 reused" in printed


def test_a_killed_run_loses_nothing_and_resumes(minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    for i in range(8):
        write_kata_files(subs / f"learner{i}", minikit)
    command = [sys.executable, "-m", "kata", "--root", str(minikit), "cohort", str(subs), "--out", str(out),
               "--jobs", "1"]
    runs = tmp_path / "tmp"  # the killed run's folders stay behind (the documented kill -9 case): here, not in RAM
    runs.mkdir()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(runs)})
    deadline = time.monotonic() + 120
    while len(cohort.state_files(out)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # polling a real subprocess: this test waits on the real world, not on a clock
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = cohort.state_files(out)
    assert 3 <= len(kept) < 16, "the run should have been killed mid-way"
    for path in out.rglob("*"):
        if path.is_file() and not path.name.endswith(".part"):
            json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()
    assert not (out / "gradebook.csv").exists()  # outputs come at the end: none half-written

    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{16 - len(kept)} kata grading(s) run, {len(kept)} reused" in done.stdout
    assert not list(out.rglob("*.part"))
    rows = list(csv.DictReader(open(out / "gradebook.csv", newline="")))
    assert len(rows) == 8 and {r["total"] for r in rows} == {"7"}


def _zip(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


@pytest.mark.parametrize(("make", "reason"), [
    (lambda d: _zip(d / "a.zip", {"exercises/x.py": b"1", "../evil.py": b"2"}), "outside the submission"),
    (lambda d: _zip(d / "a.zip", {"/etc/evil.py": b"1"}), "outside the submission"),
    (lambda d: _zip(d / "a.zip", {"C:/evil.py": b"1"}), "outside the submission"),
    (lambda d: _zip(d / "a.zip", {"exercises/x.py": b"1"}, links={"exercises/pw": "/etc/passwd"}),
     "link pointing outside"),
    (lambda d: _zip(d / "a.zip", {"exercises/x.py": b"1"}, links={"exercises/up": "../../.."}),
     "link pointing outside"),
    (lambda d: _zip(d / "a.zip", {"big.bin": b"\0" * (3 * 1024**2)}), "more than the limit of 2 MB"),
    (lambda d: _zip(d / "a.zip", {f"f{i}.txt": b"" for i in range(60)}), "more than the limit of 50"),
    (lambda d: (d / "a.zip").write_bytes(b"garbage") and d / "a.zip", "not a readable zip"),
])
def test_unsafe_archives_are_refused_with_a_reason(tmp_path, make, reason) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    make(subs)
    [sub] = cohort.discover(subs)
    options = cohort.CohortOptions(max_unpacked_bytes=2 * 1024**2, max_files=50)
    with pytest.raises(cohort.Refused, match=reason):
        cohort.unpack(sub, tmp_path / "ws", options)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "ws" / "evil.py").exists()


def test_zip_bomb_lying_about_its_size_is_stopped_while_unpacking(tmp_path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    archive = _zip(subs / "bomb.zip", {"exercises/zeros.bin": b"\0" * (4 * 1024**2)})
    data = bytearray(archive.read_bytes())
    # Rewrite the declared size (local header and central directory) to 1 KB.
    real = (4 * 1024**2).to_bytes(4, "little")
    data = data.replace(real, (1024).to_bytes(4, "little"))
    archive.write_bytes(bytes(data))
    [sub] = cohort.discover(subs)
    with pytest.raises(cohort.Refused):
        cohort.unpack(sub, tmp_path / "ws", cohort.CohortOptions(max_unpacked_bytes=1024**2))


def test_folder_with_a_link_outside_is_refused(minikit, tmp_path) -> None:
    subs = tmp_path / "subs"
    learner = write_kata_files(subs / "ann", minikit)
    (learner / "01-echo" / "secret").symlink_to(minikit / "solutions")
    [sub] = cohort.discover(subs)
    with pytest.raises(cohort.Refused, match="link pointing outside"):
        cohort.unpack(sub, tmp_path / "ws", cohort.CohortOptions())


def test_learner_ids_are_safe_file_names(tmp_path) -> None:
    subs = tmp_path / "subs"
    for name in ("ann lee", "ann_lee", "..", "bo$b"):
        (subs / name).mkdir(parents=True, exist_ok=True) if name != ".." else None
    ids = {s.source.name: s.learner for s in cohort.discover(subs)}
    assert sorted(ids) == ["ann lee", "ann_lee", "bo$b"]
    # A name that had to change carries a digest of itself: it can never take another learner's id.
    assert ids["ann_lee"] == "ann_lee" and re.fullmatch(r"ann_lee-[0-9a-f]{6}", ids["ann lee"])
    assert re.fullmatch(r"bo_b-[0-9a-f]{6}", ids["bo$b"])


@needs_sandbox
def test_sandbox_hides_private_folders_and_the_network(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    own = tmp_path / "own"
    own.mkdir()
    script = (f"import os, socket\nprint(os.listdir({str(secret)!r}))\n"
              "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    print('net')\n"
              "except OSError:\n    print('no net')\n"
              f"open({str(own / 'ok.txt')!r}, 'w').write('x')\n"
              f"try:\n    open({str(tmp_path / 'elsewhere.txt')!r}, 'w')\nexcept OSError as e:\n    print(e.errno)\n")
    command = sandbox.wrap([sys.executable, "-c", script], own,
                           sandbox.Isolation(hidden=(str(secret),), limits=sandbox.Limits()))
    done = subprocess.run(command, capture_output=True, text=True, cwd=own, timeout=60)
    assert done.stdout.split("\n")[:3] == ["[]", "no net", "30"], done.stdout + done.stderr
    assert (own / "ok.txt").exists() and not (tmp_path / "elsewhere.txt").exists()
    assert (secret / "answer.txt").read_text() == "42"


def test_cohort_without_the_sandbox_says_so(kata_cli, minikit, tmp_path) -> None:
    write_kata_files(tmp_path / "subs" / "ada", minikit)
    code, printed = kata_cli("--root", minikit, "cohort", tmp_path / "subs", "--out", tmp_path / "out",
                             "--no-sandbox")
    assert code == 0 and "no sandbox (turned off (--no-sandbox))" in printed
    assert "ada,graded,5,2,7,7" in (tmp_path / "out" / "gradebook.csv").read_text()
    assert Catalog(minikit).get("01")  # the kit itself is untouched and still loads


def test_git_repository_with_a_link_outside_is_refused(minikit, tmp_path) -> None:
    repo = write_kata_files(tmp_path / "work" / "exercises", minikit).parent
    (repo / "exercises" / "01-echo" / "peek").symlink_to("/etc")
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "x", cwd=repo)
    (tmp_path / "subs").mkdir()
    git("clone", "-q", "--bare", str(repo), str(tmp_path / "subs" / "zed.git"), cwd=tmp_path)
    [sub] = cohort.discover(tmp_path / "subs")
    assert (sub.learner, sub.kind) == ("zed", cohort.Kind.GIT)
    with pytest.raises(cohort.Refused, match="link pointing outside"):
        cohort.unpack(sub, tmp_path / "ws", cohort.CohortOptions())


# --- whatever a submission holds, the run completes and writes every output ----------------------------

def _book(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["learner"]: row for row in csv.DictReader(handle)}


def _outputs_complete(out: Path, book: dict[str, dict[str, str]]) -> None:
    for name in ("gradebook.csv", "checks.csv", "report.html"):
        assert (out / name).is_file(), name
    report = (out / "report.html").read_text()
    for learner, row in book.items():
        record = json.loads((out / "results" / f"{learner}.json").read_text())
        assert record["status"] == row["status"] and record["score"] == int(row["total"])
        assert (out / "feedback" / f"{learner}.md").read_text().startswith(f"# Feedback for {learner}")
        assert f"data-learner='{learner}'" in report
        assert "Traceback" not in row["notes"] and "Traceback" not in record["reason"]


def build_traps(subs: Path, minikit: Path) -> dict[str, tuple[str, str]]:
    """The red team's submissions beside honest ones: source name -> (status, fragment of the notes)."""
    from test_cohort_unpack import git_bomb, make_zip, raw_name_zip

    subs.mkdir()
    wc = {"02-count/wc/__init__.py": WC_OK.encode()}
    expected: dict[str, tuple[str, str]] = {}
    write_kata_files(subs / "ada", minikit, echo=None)
    expected["ada"] = ("graded", "")
    make_zip(subs / "long.zip", {**wc, f"02-count/{'n' * 300}.py": b"1"})
    expected["long.zip"] = ("refused", "has a name part of 303 bytes, more than the 255 bytes a file name may have")
    make_zip(subs / "clash.zip", {**wc, "02-count/a": b"1", "02-count/a/b": b"2"})
    expected["clash.zip"] = ("refused", "both a file and a folder named '02-count/a'")
    make_zip(subs / "deep.zip", {**wc, "d/" * 1100 + "x.py": b"1"})
    expected["deep.zip"] = ("refused", "is nested 1,101 folders deep, more than the limit of 32")
    staged = write_kata_files(subs.parent / "staged", minikit, echo=None)
    raw_name_zip(subs / "raw.zip", "02-count/XXXX.txt", b"02-count/\xff\xfe\x80\x81.txt", utf8_flag=False,
                 entries={str(p.relative_to(staged)): p.read_bytes() for p in staged.rglob("*") if p.is_file()})
    expected["raw.zip"] = ("graded", "")  # the raw name is read as cp437, as the zip format says
    raw_name_zip(subs / "flagged.zip", "02-count/XX.txt", b"02-count/\xff\xfe.txt", utf8_flag=True)
    expected["flagged.zip"] = ("refused", "not valid UTF-8 although the archive says it is")
    bad = write_kata_files(subs / "badname", minikit, echo=None)
    (bad / "02-count" / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")
    expected["badname"] = ("refused", "'02-count/caf\\xe9.py' has a name that is not valid UTF-8")
    loops = write_kata_files(subs / "loops", minikit, echo=None)
    (loops / "02-count" / "a").symlink_to("b")
    (loops / "02-count" / "b").symlink_to("a")
    (loops / "02-count" / "wc" / "up").symlink_to("..")
    expected["loops"] = ("graded", "")
    fifo = write_kata_files(subs / "fifo", minikit, echo=None)
    os.mkfifo(fifo / "02-count" / "pipe")
    expected["fifo"] = ("refused", "'02-count/pipe' is a named pipe (FIFO), not a file or a folder; it was not read")
    zero = write_kata_files(subs / "zero", minikit, echo=None)
    (zero / "02-count" / "zero").symlink_to("/dev/zero")
    expected["zero"] = ("refused", "02-count/zero is a link pointing outside the submission (/dev/zero)")
    write_kata_files(subs / ("x" * 245), minikit, echo=None)
    expected["x" * 245] = ("graded", "")
    for name in ("Ann Lee", "Ann_Lee", "José", "..dots", os.fsdecode(b"bad\xffid")):
        (subs / name).mkdir()
        (subs / name / "notes.txt").write_text("nothing here\n")
        expected[name] = ("empty", "no kata folders")
    git_bomb(subs / "bomb.bundle", 1024**2, copies=300)
    expected["bomb.bundle"] = ("refused", "the repository's files add up to more than the limit of 5 MB "
                                          "('zeros005.bin' alone is 1 MB); nothing was checked out")
    return expected


def test_a_cohort_of_unpacking_traps_is_graded_and_written_on_every_run(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    expected = build_traps(subs, minikit)
    command = ("--root", minikit, "cohort", subs, "--out", out, "--kata", "02", "--max-size", "5")
    code, printed = kata_cli(*command)
    assert code == 0 and "Traceback" not in printed
    assert f"{len(expected)} learner(s): 4 graded, {len(expected) - 4} not graded; 4 kata grading(s) run" in printed
    book = _book(out)
    learners = {s.source.name: s.learner for s in cohort.discover(subs)}
    assert sorted(learners) == sorted(expected) and sorted(learners.values()) == sorted(book)
    for source, (status, note) in expected.items():
        row = book[learners[source]]
        assert row["status"] == status, f"{source}: {row}"
        assert note in row["notes"], f"{source}: {row['notes']!r}"
        assert row["max_total"] == "2" and row["02-count"] == ("2" if status == "graded" else "0")
    for learner in book:
        assert len(learner) <= cohort.MAX_ID and not learner.startswith(".")
    assert len({learner.casefold() for learner in book}) == len(book)
    _outputs_complete(out, book)
    first = {name: (out / name).read_text() for name in ("gradebook.csv", "checks.csv")}

    code, printed = kata_cli(*command)  # nothing changed: every verdict, refusals included, is kept
    assert code == 0 and "Traceback" not in printed
    assert f"0 kata grading(s) run, {len(expected)} reused" in printed
    assert first == {name: (out / name).read_text() for name in ("gradebook.csv", "checks.csv")}
    _outputs_complete(out, _book(out))

    code, printed = kata_cli(*command[:-1], "50")  # other limits judge the refusals again, nothing else
    assert code == 0 and "0 kata grading(s) run, 9 reused" in printed
    assert "more than the limit of 50 MB" in _book(out)[learners["bomb.bundle"]]["notes"]


def test_an_unexpected_exception_becomes_that_learners_error_row(kata_cli, minikit, tmp_path, monkeypatch) -> None:
    from kata.grader import runner
    from kata.instructor import unpack

    subs, out = tmp_path / "subs", tmp_path / "out"
    for name in ("ada", "ben", "cat"):
        write_kata_files(subs / name, minikit)
    real_unpack, real_grade = unpack.unpack, runner.grade

    def failing_unpack(kind, source, dest, limits):
        if source.name == "ben":
            raise RuntimeError("disk on fire")
        return real_unpack(kind, source, dest, limits)

    def failing_grade(kata, target, options=None):
        if "/cat/" in str(target.layers[0]) and kata.id == "02":
            raise ValueError("grader bug")
        return real_grade(kata, target, options)

    monkeypatch.setattr(unpack, "unpack", failing_unpack)
    monkeypatch.setattr(runner, "grade", failing_grade)
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out)
    assert code == 0 and "Traceback" not in printed
    assert "3 learner(s): 1 graded, 2 not graded; 4 kata grading(s) run" in printed
    book = _book(out)
    assert book["ada"]["status"] == "graded" and book["ada"]["total"] == "7"
    assert (book["ben"]["status"], book["ben"]["total"]) == ("error", "0")
    assert ("error: the kit failed while unpacking the submission (RuntimeError: disk on fire); expected a verdict "
            "on the submission; re-run `kata cohort` to try again") in book["ben"]["notes"]
    assert (book["cat"]["status"], book["cat"]["01-echo"], book["cat"]["02-count"]) == ("error", "5", "0")
    assert "the kit failed while grading 02-count (ValueError: grader bug)" in book["cat"]["notes"]
    assert {row["max_total"] for row in book.values()} == {"7"}
    _outputs_complete(out, book)
    feedback = (out / "feedback" / "cat.md").read_text()
    assert "problem on the grading side, not a verdict on your work" in feedback and "## 01 " in feedback
    assert "## 01 " not in (out / "feedback" / "ben.md").read_text()  # nothing of ben's ran

    monkeypatch.undo()  # fixed: errors are never kept, the next run tries them again
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out)
    assert "3 learner(s): 3 graded, 0 not graded; 3 kata grading(s) run, 3 reused" in printed
    assert {row["total"] for row in _book(out).values()} == {"7"}


def _forge(state_file: Path) -> None:
    """What a forged or damaged result could claim: more points for a check, a check the kit lacks."""
    state = json.loads(state_file.read_text())
    result = state["result"]
    for item in result["checks"]:
        if item["id"] == "existing-tests":
            item["points"] = item["max_points"] = 50
    result["checks"].append({"id": "bonus", "title": "Bonus", "points": 1000, "max_points": 1000,
                             "status": "passed", "message": "", "guard": False})
    result["score"], result["max_score"] = 1051, 1055
    state_file.write_text(json.dumps(state))


def test_points_and_maxima_come_from_the_kit_not_from_a_forged_result(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_kata_files(subs / "ada", minikit)
    write_kata_files(subs / "ben", minikit, echo="starter")  # only the existing-tests guard passes: 1 of 5
    command = ("--root", minikit, "cohort", subs, "--out", out, "--kata", "01")
    kata_cli(*command)
    before = _book(out)
    assert (before["ada"]["total"], before["ben"]["total"], before["ada"]["max_total"]) == ("5", "1", "5")
    _forge(out / ".state" / "ben" / "01-echo.json")

    code, printed = kata_cli(*command)
    assert code == 0 and "0 kata grading(s) run, 2 reused" in printed  # the forged state is read, not regraded
    assert _book(out) == before  # the same totals, maxima and percentages for everyone
    record = json.loads((out / "results" / "ben.json").read_text())
    kata = record["katas"][0]
    assert (record["score"], record["max_score"], kata["score"], kata["max_score"]) == (1, 5, 1, 5)
    assert {c["id"]: (c["points"], c["max_points"]) for c in kata["checks"]}["bonus"] == (0, 0)
    assert "Scored by the kit's checks (5 points): the result's own points or maximum (1051/1055) were not used" in (
        kata["message"])
    assert "maximum 5 points" in (out / "report.html").read_text()


def test_a_kata_nobody_could_run_keeps_the_kits_maximum(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "max.zip").write_bytes(b"PK\x03\x04 not really a zip")
    code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out)
    assert code == 0 and "0 kata grading(s) run" in printed
    assert _book(out)["max"]["max_total"] == "7"  # from the kit: no learner result says so


def test_a_result_that_disagrees_with_the_kit_is_not_trusted(minikit) -> None:
    katas = Catalog(minikit).katas
    kit = cohort.kit_checks(katas)
    assert {k: v.points for k, v in kit.items()} == {
        "01": {"existing-tests": 1, "shouts": 2, "greets": 1, "model-configurable": 1},
        "02": {"existing-tests": 1, "counts": 1}}
    honest = KataResult.build(id="02", slug="count", title="Count words", target="t", pass_mark=100, duration_s=1,
                              checks=[CheckResult(id="existing-tests", title="e", points=1, max_points=1,
                                                  status=Status.PASSED),
                                      CheckResult(id="counts", title="c", points=1, max_points=1,
                                                  status=Status.PASSED)])
    assert cohort.scored_by_kit(honest, kit["02"]) == honest  # an honest result is left as it is
    forged = honest.model_copy(update={"checks": [
        honest.checks[0].model_copy(update={"points": 9, "max_points": 9}),
        honest.checks[0],  # the same check twice
        CheckResult(id="counts", title="c", points=0, max_points=1, status=Status.FAILED),
        CheckResult(id="extra", title="x", points=1000, max_points=1000, status=Status.PASSED)],
        "score": 1010, "max_score": 1011})
    scored = cohort.scored_by_kit(forged, kit["02"])
    assert (scored.score, scored.max_score, scored.passed, scored.status) == (1, 2, False, Status.FAILED)
    assert [(c.points, c.max_points) for c in scored.checks] == [(1, 1), (0, 0), (0, 1), (0, 0)]
    assert "not used" in scored.message
    crashed = cohort.scored_by_kit(KataResult.build(
        id="02", slug="count", title="Count words", target="t", pass_mark=100, duration_s=1, crashed=True,
        checks=[CheckResult(id="grading", title="Grading", points=0, max_points=1, status=Status.ERROR)]), kit["02"])
    assert (crashed.score, crashed.max_score, crashed.status) == (0, 2, Status.ERROR)  # the kit's 2, not 1
    assert "not used" not in crashed.message  # it claimed nothing: no note


def test_a_kit_whose_checks_cannot_be_collected_stops_the_run_before_grading(kata_cli, minikit, tmp_path) -> None:
    (minikit / "tests" / "checks" / "02-count" / "test_count.py").write_text("import nowhere_to_be_found\n")
    write_kata_files(tmp_path / "subs" / "ada", minikit)
    code, printed = kata_cli("--root", minikit, "cohort", tmp_path / "subs", "--out", tmp_path / "out")
    assert code == 2 and "kata 02-count: its hidden checks could not be collected" in printed
    assert "nowhere_to_be_found" in printed and "kata verify 02" in printed
    assert not (tmp_path / "out" / ".state" / "ada").exists()


def test_a_message_with_undecodable_bytes_is_written_escaped(tmp_path) -> None:
    record = cohort.LearnerRecord(learner="ann", source=os.fsdecode(b"ann\xff"), kind="folder", status="graded",
                                  score=0, max_score=0, katas=[])
    text = cohort.to_json(record)
    assert json.loads(text)["source"] == "ann\\xff"
    cohort.write_atomic(tmp_path / "notes.md", "name: " + os.fsdecode(b"ann\xff"))
    assert (tmp_path / "notes.md").read_text() == "name: ann\\udcff"
