"""Trusted grading in the two modes the kit does not start itself: the Gradescope bundle and the Classroom workflow.

test_trusted.py attacks `kata grade` and `kata cohort`. Here the same kind of submissions (the mini kit's
kata 01, each built on a wrong `shout` and a working `greet`) go through:

- the Gradescope autograder bundle, unpacked into an emulated `/autograder` (`AUTOGRADER_ROOT`), set up
  with `setup.sh` (`KATA_PYTHON`: no pip) and run with its own `run_autograder`, as Gradescope does;
- the student edition's GitHub Classroom workflow command, `kata grade --classroom classroom.json`, run in
  the edition with the kit's python (not through nox), with and without the hidden checks.

An honest submission gets full marks; each hostile one gains nothing over the same submission without
its attack, the maximum stays the kit's, and the results file read once the daemon had its chance is the
grader's. Each mode runs in the namespace sandbox, and the bundle also as in a container that forbids user
namespaces (Gradescope's Docker image): an `unshare` that fails. Hostile code never runs unconfined here:
without the sandbox it runs as a user of its own (the bundle's grading user), so what it attacks is only
that user's processes and files, never the developer's.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pwd
import shlex
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import MINIKIT, marked_processes
from test_trusted import FORCE_PASSES, FORGER, GREET, WRONG_SHOUT

import kata
from kata.catalog import Catalog
from kata.host import sandbox
from kata.instructor import gradescope, release
from kata.outputs.results import CheckResult, GradeReport, KataResult, Problem, Status

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the bundle's finisher and the sandbox are Linux's")

ECHO = "01-echo/echo/__init__.py"
KIT_POINTS = {"existing-tests": 1, "shouts": 2, "greets": 1, "model-configurable": 1}  # the mini kit's kata 01
# What WRONG_SHOUT + GREET earns with no attack in it: every hostile submission below is that, plus its attack.
BASELINE = {"existing-tests": 1, "shouts": 0, "greets": 1, "model-configurable": 1}
DAEMON_PATIENCE = 10  # seconds a daemon waits for the results file (in 0.05 s sleeps); tests poll


# --------------------------------------------------------------------------- hostile submissions

def forced_outcomes() -> str:
    """Every pytest outcome in the learner's process becomes "passed" (a patch at import)."""
    return FORCE_PASSES + WRONG_SHOUT + GREET


def forger(results: Path, forged: dict) -> str:
    """Forged result lines and a 1,000-point check on every descriptor it can reach, and a results file of its
    own where the mode's results go."""
    own_file = f"""    try:
        with open({str(results)!r}, "w") as handle:
            handle.write({json.dumps(forged)!r})
    except OSError:
        pass
"""
    return FORGER.replace("    return text\n", own_file + "    return text\n") + GREET


def daemon(results: Path, forged: dict, alive: Path, marker: str) -> str:
    """A double-forked daemon in a session of its own that leaves the zygote (it kills the learner host's
    parent when that is the zygote, which would kill it at the end of the check), says it is alive (the
    check waits until it has tried, so that a busy machine cannot decide the outcome), waits
    (briefly, in short sleeps) for the mode's results file and rewrites it."""
    path = shlex.quote(str(results))
    script = (f": {marker}; touch {shlex.quote(str(alive))} 2>/dev/null; echo >&9; exec 9>&-; i=0; "
              f"while [ ! -s {path} ] && [ $i -lt {DAEMON_PATIENCE * 20} ]; do sleep 0.05; i=$((i+1)); done; "
              f"printf %s {shlex.quote(json.dumps(forged))} > {path}")
    return f'''

def shout(text):
    import os, select, signal
    ready, say = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.dup2(say, 9)
            os.execv("/bin/sh", ["/bin/sh", "-c", {script!r}])
        os._exit(0)
    os.close(say)
    # Wait until the daemon has tried to say it is alive: a busy machine must not decide the test.
    select.select([ready], [], [], {DAEMON_PATIENCE})
    parent = os.getppid()
    try:
        if b"kata.host.zygote" in open(f"/proc/{{parent}}/cmdline", "rb").read():
            os.kill(parent, signal.SIGKILL)
    except OSError:
        pass
    return text
''' + GREET


# Without the sandbox, the forged lines of a daemon that left the zygote keep arriving after the grader's own.
PERSISTENT_FORGER = '''

def shout(text):
    import json, os, signal, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            line = (json.dumps({"kind": "result", "id": "shouts", "status": "passed", "message": ""}) + "\\n").encode()
            end = time.monotonic() + 10
            while time.monotonic() < end:
                for pid in os.listdir("/proc"):
                    if not pid.isdigit() or int(pid) == os.getpid():
                        continue
                    try:
                        for fd in os.listdir(f"/proc/{pid}/fd"):
                            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                                try:
                                    out = os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK)
                                    os.write(out, line)
                                    os.close(out)
                                except OSError:
                                    pass
                    except OSError:
                        pass
                time.sleep(0.02)
        os._exit(0)
    parent = os.getppid()
    try:
        if b"kata.host.zygote" in open(f"/proc/{parent}/cmdline", "rb").read():
            os.kill(parent, signal.SIGKILL)
    except OSError:
        pass
    return text
''' + GREET


def finisher_killer(results: Path, forged: dict) -> str:
    """Kill every process whose command line names the bundle's finisher or run_autograder, then write the
    results file."""
    return f'''

def shout(text):
    import os, signal
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                cmdline = open(f"/proc/{{pid}}/cmdline", "rb").read()
                if b"kata.instructor.gradescope" in cmdline or b"run_autograder" in cmdline:
                    os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    try:
        with open({str(results)!r}, "w") as handle:
            handle.write({json.dumps(forged)!r})
    except OSError:
        pass
    return text
''' + GREET


def honest() -> str:
    """The reference solution of the mini kit's kata 01, over the exercise."""
    return (MINIKIT / "solutions" / ECHO).read_text()


FORGED_GRADESCOPE = {"score": 116, "output": "forged", "tests": [
    {"name": "forged", "number": "01.forged", "score": 116, "max_score": 16, "status": "passed"}]}
EXTRA_GRADESCOPE = {"score": 1000, "tests": [
    {"name": "extra", "number": "01.extra", "score": 1000, "max_score": 1000, "status": "passed"}]}
FORGED_CLASSROOM = {"version": 1, "status": "pass", "max_score": 16,
                    "tests": [{"name": "forged", "status": "pass", "message": "", "score": 116}]}
EXTRA_CLASSROOM = {"version": 1, "status": "pass", "max_score": 1000,
                   "tests": [{"name": "extra", "status": "pass", "message": "", "score": 1000}]}


# --------------------------------------------------------------------------- where hostile code may run

@dataclass
class Place:
    """Where the runs of this module live, and who hostile code runs as without the sandbox."""

    area: Path  # a folder every user can traverse (the grading user reads the bundle and kit there)
    python: str  # a python with this kit that the grading user can run
    uid: int | None  # the grading user; None when this is not root or no such python exists
    unshare_fails: Path = field(init=False)  # a folder whose `unshare` fails like Docker's

    def __post_init__(self) -> None:
        self.unshare_fails = self.area / "no-userns"
        self.unshare_fails.mkdir()
        fake = self.unshare_fails / "unshare"
        fake.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
        fake.chmod(0o755)


def _free_uid() -> int:
    """A user id no account and no process has (the finisher kills every process of the grading user)."""
    busy = set()
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError):
            busy.add(os.stat(f"/proc/{entry}").st_uid if entry.isdigit() else -1)
    for uid in range(61_000 + os.getpid() % 2000, 65_000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            if uid not in busy:
                return uid
    raise RuntimeError("no free user id")


def _python_for(uid: int, area: Path) -> str | None:
    """A venv of a system python of this version, with this kit's packages on its path, that `uid` can run
    (this process's own python may live where only its user can read, e.g. under /root)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    paths = [*site.getsitepackages(), str(Path(kata.__file__).resolve().parents[1])]
    for base in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}", sys._base_executable):
        venv = area / "python"
        shutil.rmtree(venv, ignore_errors=True)
        made = subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], capture_output=True)
        if made.returncode != 0:
            continue
        for packages in venv.glob("lib/python*/site-packages"):
            (packages / "kit.pth").write_text("\n".join(paths) + "\n")
        python = str(venv / "bin" / "python")
        check = subprocess.run([python, "-I", "-c", "import kata.instructor.gradescope, openai, pandas, pytest"],
                               user=uid, group=uid, extra_groups=[], capture_output=True, cwd="/")
        if check.returncode == 0:
            return python
    return None


def _end_processes_of(uid: int) -> None:
    """Kill what this module started as the grading user (only that user's processes)."""
    deadline = time.monotonic() + 10
    while (left := gradescope._processes_of(uid)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def place() -> Iterator[Place]:
    area = Path(tempfile.mkdtemp(prefix="kata-trusted-bundles-"))
    area.chmod(0o755)
    uid = _free_uid() if os.geteuid() == 0 else None
    python = _python_for(uid, area) if uid is not None else None
    try:
        yield Place(area=area, python=python or sys.executable, uid=uid if python else None)
    finally:
        if uid is not None:
            _end_processes_of(uid)
        shutil.rmtree(area, ignore_errors=True)


def _isolation(request: pytest.FixtureRequest, place: Place) -> dict[str, str]:
    """The environment of a run: the sandbox, or an `unshare` that fails (and then a grading user of its own)."""
    if request.param == "sandbox":
        if sandbox.probe() is not None:
            pytest.skip(f"no namespace sandbox here: {sandbox.probe()}")
        return {}
    if place.uid is None:
        pytest.skip("without the sandbox, hostile code runs only as a user of its own: needs root and a "
                    "python another user can run")
    return {"PATH": f"{place.unshare_fails}:{os.environ['PATH']}"}


_runs = itertools.count(1)  # each run gets a folder of its own


def _wait_gone(marker: str, seconds: float = 20) -> list[int]:
    """Poll until no process with `marker` in its command line is left (or the deadline); those left."""
    deadline = time.monotonic() + seconds
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


# --------------------------------------------------------------------------- the Gradescope bundle

@pytest.fixture(scope="module")
def image(place: Place, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle of kata 01 of the mini kit, unpacked as Gradescope does and set up with setup.sh, once."""
    kit = tmp_path_factory.mktemp("bundle-kit") / "kit"
    shutil.copytree(MINIKIT, kit, ignore=shutil.ignore_patterns("__pycache__", ".kata"))
    catalog = Catalog(kit)
    bundle = gradescope.build_bundle(catalog, place.area / "autograder.zip", katas=[catalog.get("01")],
                                     visibility="visible")
    root = place.area / "image"
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)  # zipfile does not keep modes; Gradescope does
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "KATA_PYTHON": place.python}
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@dataclass
class Autograded:
    """What one run_autograder left: results.json, its output, and its /autograder."""

    results: dict
    output: str
    root: Path

    @property
    def tests(self) -> dict[str, dict]:
        return {t.get("number"): t for t in self.results["tests"]}

    def points(self) -> dict[str, int]:
        return {number.split(".", 1)[1]: t["score"] for number, t in self.tests.items()}

    def maxima(self) -> dict[str, int]:
        return {number.split(".", 1)[1]: t["max_score"] for number, t in self.tests.items()}


@dataclass
class Autograder:
    """Runs submissions through the bundle, as Gradescope would, in one isolation."""

    place: Place
    image: Path
    isolation: str
    env: dict[str, str]

    def __call__(self, make_code: Callable[[Path], str]) -> Autograded:
        """A fresh copy of the set-up image (a new container), the submission in submission/, then
        run_autograder with Gradescope's defaults (no KATA_PYTHON: the venv setup.sh made)."""
        root = self.place.area / f"run-{next(_runs)}"
        shutil.copytree(self.image, root, symlinks=True)
        (root / "alive").mkdir()
        (root / "alive").chmod(0o777)  # where the daemon says it ran, whoever it runs as
        shutil.copytree(MINIKIT / "exercises" / "01-echo", root / "submission" / "01-echo")
        (root / "submission" / ECHO).write_text(make_code(root))
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), **self.env}
        env.pop("KATA_PYTHON", None)
        if self.place.uid is not None:
            env["KATA_GRADER_UID"] = str(self.place.uid)
        done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return Autograded(json.loads((root / "results" / "results.json").read_text()), done.stdout, root)


@pytest.fixture(params=["sandbox", "no-sandbox"])
def autograde(request: pytest.FixtureRequest, place: Place, image: Path) -> Autograder:
    return Autograder(place, image, request.param, _isolation(request, place))


def _no_gain(graded: Autograded) -> None:
    """Each check at most what the submission earns without its attack; the maxima are the kit's; what is in
    results.json is what the finisher wrote once the run was over."""
    assert graded.maxima() == KIT_POINTS, graded.results
    points = graded.points()
    assert all(points[c] <= BASELINE[c] for c in KIT_POINTS), points
    assert graded.results["score"] == sum(points.values())
    assert f"kata autograder: {graded.results['score']}/5 written after the run's processes were gone" \
        in graded.output, graded.output


def test_gradescope_honest_submission_gets_full_marks(autograde) -> None:
    graded = autograde(lambda root: honest())
    assert graded.points() == KIT_POINTS and graded.results["score"] == 5
    assert all(t["status"] == "passed" for t in graded.results["tests"])


@pytest.mark.parametrize("autograde", ["no-sandbox"], indirect=True)  # in the sandbox: test_trusted.py
def test_gradescope_forced_outcomes_gain_nothing(autograde) -> None:
    graded = autograde(lambda root: forced_outcomes())
    _no_gain(graded)
    assert graded.tests["01.shouts"]["status"] == "failed"
    # The canary caught the patch: the existing-tests guard scores 0 and the learner is told why.
    assert graded.points()["existing-tests"] == 0 and "tamper" in graded.tests["01.existing-tests"]["output"]
    assert graded.results["score"] == 2


# Without the sandbox the forger runs as the grading user of its own, so it reaches only this run's processes.
@pytest.mark.parametrize("autograde", ["sandbox", "no-sandbox"], indirect=True)
def test_gradescope_forged_lines_results_and_extra_check_gain_nothing(autograde) -> None:
    graded = autograde(lambda root: forger(root / "results" / "results.json", EXTRA_GRADESCOPE))
    _no_gain(graded)
    assert graded.tests["01.shouts"]["status"] == "failed"
    assert "1000" not in json.dumps(graded.results)


def test_gradescope_daemon_cannot_rewrite_the_results(autograde) -> None:
    marker = f"kata-daemon-{uuid.uuid4().hex[:12]}"
    graded = autograde(lambda root: daemon(root / "results" / "results.json", FORGED_GRADESCOPE,
                                           root / "alive" / "daemon", marker))
    # Every process of the run was gone before run_autograder returned: no rewrite can come later.
    assert marked_processes(marker) == []
    assert json.loads((graded.root / "results" / "results.json").read_text()) == graded.results
    _no_gain(graded)
    assert graded.tests["01.shouts"]["status"] == "failed"
    # Without the sandbox it did leave the zygote and run; in it, it could write nothing outside the run.
    assert (graded.root / "alive" / "daemon").exists() == (autograde.isolation == "no-sandbox")


@pytest.mark.parametrize("autograde", ["no-sandbox"], indirect=True)
def test_gradescope_submission_cannot_end_the_finisher_nor_write_results(autograde) -> None:
    graded = autograde(lambda root: finisher_killer(root / "results" / "results.json", FORGED_GRADESCOPE))
    _no_gain(graded)  # it runs as the grading user: root's finisher and results/ are out of its reach
    assert graded.tests["01.shouts"]["status"] == "failed"


@pytest.mark.parametrize("autograde", ["no-sandbox"], indirect=True)
def test_gradescope_without_namespaces_forged_lines_after_the_graders_gain_nothing(autograde) -> None:
    # Without namespaces a daemon can open the results pipe through /proc and write to it; its lines lack
    # the run's token, which only the grader holds, so they are ignored.
    graded = autograde(lambda root: PERSISTENT_FORGER)
    _no_gain(graded)


# --------------------------------------------------------------------------- the Classroom workflow

@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Student editions of kata 01 of the mini kit, without and with the hidden checks, built once. Their
    proof (the reference solution graded against them) is the honest test below, through the workflow's
    own command."""
    kit = tmp_path_factory.mktemp("edition-kit") / "kit"
    shutil.copytree(MINIKIT, kit, ignore=shutil.ignore_patterns("__pycache__", ".kata"))
    catalog = Catalog(kit)
    built = {}
    for hidden in (False, True):
        out = tmp_path_factory.mktemp("edition") / "student"
        release.build(catalog, out, with_hidden_checks=hidden, katas=[catalog.get("01")], prove=False)
        built[hidden] = out
    return built


@pytest.fixture(params=[False, True], ids=["edition", "edition-with-hidden-checks"])
def edition(request: pytest.FixtureRequest, editions: dict[bool, Path]) -> tuple[Path, bool]:
    return editions[request.param], request.param


@pytest.fixture
def sandboxed() -> None:
    if sandbox.probe() is not None:
        pytest.skip(f"hostile code runs here only in the namespace sandbox: {sandbox.probe()}")


@dataclass
class Classroom:
    """What the workflow's grading step left in the learner's repository."""

    folder: Path
    hidden: bool

    @property
    def results(self) -> dict:
        return json.loads((self.folder / "classroom.json").read_text())

    def points(self) -> dict[str, int]:
        return {t["name"]: t["score"] for t in self.results["tests"]}

    def titles(self) -> dict[str, str]:
        titles = {"existing-tests": "01 The service's existing tests still pass"}
        if self.hidden:
            titles |= {"shouts": "01 Text comes back upper-cased", "greets": "01 The model's greeting is returned",
                       "model-configurable": "01 The model name is a parameter"}
        return titles

    def check(self, expected: dict[str, int], at_most: bool = False) -> None:
        """The kit's checks with the kit's maximum, each scoring `expected` (or at most that), and the same total
        as the grader's own report (kata-results.json) of the same run."""
        results, titles = self.results, self.titles()
        if not self.hidden:
            # Without hidden checks nothing is graded: no points, earned or possible; the guard's verdict
            # is still its status.
            assert results["max_score"] == 0 and all(t["score"] == 0 for t in results["tests"]), results
            status = {t["name"]: t["status"] for t in results["tests"]}
            assert set(status) == set(titles.values()), results
            for check, title in titles.items():
                if not at_most or expected[check] == 0:
                    assert status[title] == ("pass" if expected[check] else "fail"), results
            return
        assert results["max_score"] == sum(KIT_POINTS[c] for c in titles), results
        points = self.points()
        assert set(points) == set(titles.values()), results
        for check, title in titles.items():
            assert points[title] <= expected[check] if at_most else points[title] == expected[check], results
        report = json.loads((self.folder / "kata-results.json").read_text())
        assert sum(points.values()) == sum(k["score"] for k in report["katas"])


def _classroom(edition: tuple[Path, bool], where: Path, make_code: Callable[[Path], str], *,
               python: str = sys.executable, user: int | None = None, env: dict[str, str] | None = None) -> Classroom:
    """The learner's repository (the edition with their exercise), graded by the workflow's command."""
    folder = where / "repo"
    shutil.copytree(edition[0], folder)
    (folder / "exercises" / ECHO).write_text(make_code(folder))
    extra: dict = {}
    if user is not None:
        for path in (folder, *folder.rglob("*")):
            os.lchown(path, user, user)
        extra = {"user": user, "group": user, "extra_groups": []}
    environment = {k: v for k, v in os.environ.items() if k != "KATA_ROOT"} | (env or {})
    command = [python, "-m", "kata", "grade", "--json", "kata-results.json", "--classroom", "classroom.json"]
    done = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=300,
                          **extra)
    assert done.returncode in (0, 1) and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return Classroom(folder, edition[1])


def test_classroom_honest_submission_gets_full_marks(edition, tmp_path) -> None:
    graded = _classroom(edition, tmp_path, lambda folder: honest())
    graded.check(KIT_POINTS)
    # An edition without hidden checks never says pass: it did not grade the change.
    assert graded.results["status"] == ("pass" if graded.hidden else "fail")


def test_classroom_forced_outcomes_do_not_pass_the_guard(edition, tmp_path, sandboxed) -> None:
    graded = _classroom(edition, tmp_path, lambda folder: forced_outcomes())
    # Without the hidden checks the guard is all there is: the canary still catches the patch.
    graded.check({**BASELINE, "existing-tests": 0})
    existing = next(t for t in graded.results["tests"] if t["name"] == graded.titles()["existing-tests"])
    assert "tamper" in existing["message"] and graded.results["status"] == "fail"


# The results-file attacks do not depend on the hidden checks: the edition with them only.
@pytest.mark.parametrize("edition", [True], ids=["edition-with-hidden-checks"], indirect=True)
def test_classroom_forged_lines_results_and_extra_check_gain_nothing(edition, tmp_path, sandboxed) -> None:
    graded = _classroom(edition, tmp_path, lambda folder: forger(folder / "classroom.json", EXTRA_CLASSROOM))
    graded.check(BASELINE, at_most=True)
    assert "1000" not in json.dumps(graded.results)


@pytest.mark.parametrize("edition", [True], ids=["edition-with-hidden-checks"], indirect=True)
def test_classroom_daemon_cannot_rewrite_the_results(edition, tmp_path, sandboxed) -> None:
    marker = f"kata-daemon-{uuid.uuid4().hex[:12]}"
    alive = tmp_path / "alive"
    graded = _classroom(edition, tmp_path, lambda folder: daemon(folder / "classroom.json", FORGED_CLASSROOM,
                                                                 alive, marker))
    assert _wait_gone(marker) == []  # the run's PID namespace ended, and the daemon with it
    graded.check(BASELINE, at_most=True)  # read after the daemon's chance to act
    assert not alive.exists()  # in the sandbox it could write nothing outside the run


def test_classroom_without_namespaces_a_daemon_does_not_outlive_the_run(place, editions) -> None:
    # GitHub's Ubuntu 24.04 runners may refuse user namespaces too: hostile code then runs as a user of its own.
    if place.uid is None:
        pytest.skip("without the sandbox, hostile code runs only as a user of its own: needs root")
    marker = f"kata-daemon-{uuid.uuid4().hex[:12]}"
    where = place.area / f"classroom-{next(_runs)}"
    where.mkdir()
    try:
        graded = _classroom((editions[True], True), where, lambda folder: daemon(
            folder / "classroom.json", FORGED_CLASSROOM, folder / ".alive", marker), python=place.python,
            user=place.uid, env={"PATH": f"{place.unshare_fails}:{os.environ['PATH']}"})
        assert (graded.folder / ".alive").exists()  # the daemon ran, outside the zygote...
        assert _wait_gone(marker) == []  # ...and ended with the run
        graded.check(BASELINE, at_most=True)
    finally:
        _end_processes_of(place.uid)


# --------------------------------------------------------------------------- the finisher's own checks

def _manifest() -> dict:
    checks = [{"id": c, "title": c.title(), "max_points": p, "guard": c == "existing-tests"}
              for c, p in KIT_POINTS.items()]
    return {"katas": [{"id": "01", "slug": "echo", "title": "Echo, louder", "pass_mark": 100, "checks": checks}],
            "time_budget_s": 90}


def _report(points: dict[str, int], maxima: dict[str, int] | None = None) -> GradeReport:
    maxima = maxima or KIT_POINTS
    checks = [CheckResult(id=c, title="t", points=p, max_points=maxima[c],
                          status=Status.PASSED if p == maxima[c] else Status.FAILED) for c, p in points.items()]
    return GradeReport(katas=[KataResult.build(id="01", slug="echo", title="forged title", target="x",
                                               pass_mark=100, duration_s=1.0, checks=checks)])


def test_finisher_keeps_a_consistent_report_with_the_kits_titles() -> None:
    kept = gradescope.verified(_report(BASELINE), _manifest(), "unused").katas[0]
    assert kept.score == 3 and kept.max_score == 5 and kept.problem is None
    assert kept.title == "Echo, louder" and {c.title for c in kept.checks} == {c.title() for c in KIT_POINTS}


def test_finisher_scores_0_for_checks_the_kit_does_not_have_or_other_points() -> None:
    extra = gradescope.verified(_report({**KIT_POINTS, "x": 1000}, {**KIT_POINTS, "x": 1000}), _manifest(), "")
    doubled = gradescope.verified(_report({**BASELINE, "shouts": 20}, {**KIT_POINTS, "shouts": 20}), _manifest(), "")
    for report, why in ((extra, "checks the kit does not have: x"), (doubled, "other points for shouts")):
        kata = report.katas[0]
        assert kata.score == 0 and kata.max_score == 5 and kata.problem == Problem.TAMPERED
        assert why in kata.checks[0].message and kata.checks[0].message.startswith("observed: ")
        assert "expected: " in kata.checks[0].message and "hint: " in kata.checks[0].message


def test_finisher_says_why_when_the_grader_reported_nothing() -> None:
    kata = gradescope.verified(None, _manifest(), "the grader did not finish within 90 s").katas[0]
    assert kata.score == 0 and kata.max_score == 5 and kata.problem == Problem.NOT_STARTED
    assert "the grader did not finish within 90 s" in kata.checks[0].message


def test_finisher_replaces_whatever_the_run_left_at_the_results_path(tmp_path) -> None:
    results = tmp_path / "results" / "results.json"
    results.mkdir(parents=True)  # a folder where the file goes
    gradescope.write_last(results, {"score": 3})
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    results.unlink()
    results.symlink_to(elsewhere)  # a link out of results/
    gradescope.write_last(results, {"score": 4})
    assert json.loads(results.read_text()) == {"score": 4} and not results.is_symlink()
    assert elsewhere.read_text() == "{}"
