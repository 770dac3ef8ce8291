"""`kata cohort`: a synthetic cohort of the mini kit graded in one run, hostile learners included.

Every hostile learner hands in otherwise correct code whose score would change if its attack
worked (a leaked file, a write, a connection), so the gradebook itself proves each claim of the
threat model in the README; the tests also look at the files the attacks aimed at.
"""

from __future__ import annotations

import csv
import json
import os
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
    expected["hal"] = ("graded", 0, 2, "01 missing")
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

    # Hanging: a loop that swallows the per-check alarm meets the kata's wall-time limit.
    stubborn = "while True:\n    try:\n        pass\n    except BaseException:\n        pass"
    write_kata_files(subs / "ned" / "exercises", minikit, echo=echo_with("", greet_prelude=stubborn))
    expected["ned"] = ("graded", 3, 2, "01 time-out")
    write_kata_files(subs / "oli" / "exercises", minikit, wc=stubborn + "\n" + WC_OK)
    expected["oli"] = ("graded", 5, 0, "02 time-out")

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
def test_a_cohort_of_23_is_graded_in_one_run(kata_cli, minikit, tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    listener = Listener()
    try:
        expected = build_cohort(subs, minikit, out, listener.port)
        before = {p: p.read_bytes() for p in (minikit / "solutions").rglob("*.py")}
        code, printed = kata_cli("--root", minikit, "cohort", subs, "--out", out, "--timeout", "6",
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
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
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
    ids = [s.learner for s in cohort.discover(subs)]
    assert sorted(ids) == ["ann_lee", "ann_lee_", "bo_b"]


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
