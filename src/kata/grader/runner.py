"""Grades one kata against one target: a grader process over the hidden checks, and its learner hosts.

The grader (`python -I -m pytest` with `kata.grader.plugin`) holds the checks, the cassettes and the clock and
never imports the submission; it reads the checks and cassettes from the kit itself. The submission's
files are copied into a temporary folder, where the grader's learner hosts import them. pytest runs
with the kit's own configuration (no conftest.py, ini file or plugin of the submission), no network
and a time limit; results come back over an inherited pipe, as JSON lines only the grader writes.

Given more than one warm grader (`RunOptions.shards`), a run has one grader per shard, side by side,
each with its own learner hosts, grader folder and writable folder; they claim the checks one at a
time from a shared pipe of check indexes, and their records are merged into one result.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kata import plugins_off, scratch
from kata.catalog import Kata
from kata.checks import EXISTING_TESTS
from kata.grader.environment import grader_env
from kata.grader.hosting import HostSetup
from kata.grader.launch import LauncherUnavailable, Run
from kata.grader.options import RunOptions
from kata.grader.plays import add_plays
from kata.host import sandbox
from kata.outputs.results import CheckResult, KataResult, Problem, Status
from kata.targets import Target

if TYPE_CHECKING:
    from kata.grader.warm import WarmGrader, WarmRun

PYTEST_INI = "[pytest]\naddopts =\nxfail_strict = false\n"
MAX_RESULTS = 8 * 1024**2  # bytes of results a grader may send (a few hundred checks' messages)
MAX_CHECKS = 4096  # check indexes in a run's claims pipe (8 KB: a pipe holds 64 KB without a reader)


@dataclass
class Received:
    """The records the grader sent back."""

    records: list[dict[str, Any]] = field(default_factory=list)
    forged: int = 0  # lines without the run's token: not the grader's, ignored

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("kind") == kind]


def _layout(kata: Kata, target: Target, tmp: Path, options: RunOptions) -> dict[str, Path]:
    """The run's folders: the submission's copy and the data (read by the learner hosts), the hosts' own
    writable folder (with the pristine legacy tests), and the grader's private folder."""
    paths = {name: tmp / name for name in ("work", "data", "own", "grader")}
    target.materialize(paths["work"])
    for name in ("own", "grader"):
        paths[name].mkdir()
    source = kata.fixtures_dir / "data"
    if source.is_dir():
        shutil.copytree(source, paths["data"])
    else:
        paths["data"].mkdir()
    if kata.service_tests_dir.is_dir():
        paths["service-tests"] = paths["own"] / "service-tests"
        shutil.copytree(kata.service_tests_dir, paths["service-tests"],
                        ignore=shutil.ignore_patterns("__pycache__", "conftest.py"))
        (paths["service-tests"] / "pytest.ini").write_text(PYTEST_INI)
    paths["checks"] = kata.checks_dir if kata.has_hidden_checks else paths["grader"] / "no-checks"
    paths["checks"].mkdir(exist_ok=True)
    paths["cassettes"] = options.cassettes_out if options.cassettes_out is not None else kata.cassette_dir
    (paths["grader"] / "pytest.ini").write_text(PYTEST_INI + f"pythonpath = {paths['checks']}\n")
    return paths


def _isolation(kata: Kata, options: RunOptions) -> sandbox.Isolation:
    return options.isolation or sandbox.Isolation(hidden=sandbox.private_folders(kata.root))


def _token_pipe(token: str) -> int:
    """The read end of a pipe holding `token` (and closed for writing): the grader reads it once."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, token.encode())
    finally:
        os.close(write_fd)
    return read_fd


def _open_run(kata: Kata, paths: dict[str, Path], options: RunOptions) -> Run | None:
    """The run's learner hosts from the launcher; None when there is none (the grader then starts them)."""
    if options.launcher is None:
        return None
    setup = HostSetup(work=paths["work"], own=paths["own"], isolation=_isolation(kata, options),
                      readable=(paths["data"],))
    try:
        return options.launcher.open_run(setup)
    except LauncherUnavailable:
        options.stopping()  # stopped: the launcher went on purpose, no grader starts hosts of its own
        return None




def _command(kata: Kata, paths: dict[str, Path], results_fd: int, options: RunOptions) -> list[str]:
    spec = kata.spec
    record = options.standin_url is not None or options.live is not None
    cmd = [
        # -I: nothing of the working folder, PYTHONPATH or the user site; -B: no bytecode in the kit's folders.
        sys.executable, "-I", "-B", "-m", "pytest", "-p", "pytest_recording.plugin", "-p", "kata.grader.plugin",
        *plugins_off.arguments(plugins_off.CHECKS), f"--config-file={paths['grader'] / 'pytest.ini'}",
        f"--rootdir={paths['grader']}",
        "--noconftest", "--continue-on-collection-errors", "--import-mode=importlib", "--assert=plain",
        # Nothing to capture (learner code runs in its hosts), and a grade forked from a template keeps its
        # own pytest.out as stdout (capturing would restore the template's after each check).
        "--capture=no",
        # Native tracebacks: pytest's own format parses the source of every frame of every failure.
        "-q", "--no-header", "-rN", "--tb=native", f"--basetemp={paths['own'] / 'checks'}",
        f"--record-mode={'all' if record else 'none'}",
        f"--kata-results-fd={results_fd}", f"--kata-work={paths['work']}", f"--kata-own={paths['own']}",
        f"--kata-cassettes={paths['cassettes']}", f"--kata-data={paths['data']}",
        f"--kata-record-pattern={spec.replay.record_pattern}",
        f"--kata-check-time-limit={options.check_time_limit or spec.check_time_limit}",
        f"--kata-existing-points={spec.existing_tests_points}", f"--kata-id={spec.id}",
        f"--kata-package={spec.package}",
    ]
    cmd.append(f"--kata-isolation={_isolation(kata, options).to_json()}")
    if options.standin_url:
        cmd.append(f"--kata-standin={options.standin_url}")
    if not record:
        cmd.append("--block-network")
    if "service-tests" in paths:
        cmd.append(f"--kata-service-tests={paths['service-tests']}")
    cmd.append(str(paths["checks"]))
    return cmd


class _ResultsReader:
    """Reads the grader's JSON lines from the pipe while it runs (a full pipe would block it).

    Only lines carrying the run's token count: without namespaces a process of the same user can open
    the pipe through /proc and write to it, but it cannot know the token, which reached the grader over
    a pipe of its own before any learner code ran (and the grader cannot be read or traced)."""

    def __init__(self, fd: int, token: str) -> None:
        self.records: list[dict[str, Any]] = []
        self.forged = 0
        self._token = token
        self._fd = fd
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        size = 0
        with os.fdopen(self._fd, "rb") as pipe:
            for line in pipe:
                size += len(line)
                if size > MAX_RESULTS:
                    break
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
                    continue
                if not hmac.compare_digest(str(record.pop("token", "")), self._token):
                    self.forged += 1
                    continue
                record["at"] = time.monotonic()  # when it arrived, on the kit's clock: a check's duration
                self.records.append(record)

    def received(self) -> Received:
        self._thread.join(timeout=10)
        return Received(list(self.records), self.forged)


def grade(kata: Kata, target: Target, options: RunOptions | None = None) -> KataResult:
    """Grade one kata against one target; never raises for anything the target does (only `Stopped`, when
    the command is stopped)."""
    options = options or RunOptions()
    options.stopping()
    limit = options.time_limit or kata.spec.time_limit
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f"kata-{kata.id}-", dir=options.tmp_root or scratch.root()))
    try:
        try:
            missing = [str(layer) for layer in target.layers if not layer.is_dir()]
            if missing:
                raise FileNotFoundError(f"no folder {', '.join(missing)}")
            paths = _layout(kata, target, tmp, options)
        except OSError as exc:  # a missing or unreadable target folder, a file that cannot be copied
            spec = kata.spec
            return KataResult.build(
                id=spec.id, slug=spec.slug, title=spec.title, target=target.label, pass_mark=spec.pass_mark,
                duration_s=time.monotonic() - started, crashed=True, problem=Problem.MISSING,
                checks=[_kata_error("grading", f"observed: the files to grade could not be copied ({exc})\n"
                                               "expected: the kata's folder, readable\nhint: restore the "
                                               "folder (git checkout) or point --target at the right place.")],
                message=f"Nothing could be graded for this kata: {exc}",
            )
        token = secrets.token_hex(16)
        graders = [options.warm, *options.shards] if options.warm is not None else [None]
        env = grader_env(options.live)
        claims = _claims_pipe() if len(graders) > 1 else None
        shards = [_Shard(kata, _shard_paths(paths, tmp, n), token, options, warm, (n, len(graders)), claims)
                  for n, warm in enumerate(graders)]
        beside = [threading.Thread(target=shard.run, args=(limit, env), daemon=True) for shard in shards[1:]]
        try:
            for thread in beside:
                thread.start()
            shards[0].run(limit, env)
            for thread in beside:
                thread.join()
        finally:
            if claims is not None:
                os.close(claims)
        received, returncode, timed_out = _merged(shards)
        return _assemble(kata, target, received, returncode, timed_out, limit,
                         time.monotonic() - started, paths["grader"] / "pytest.out")
    finally:
        if options.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _claims_pipe() -> int:
    """The read end of a pipe holding every check index (two bytes each), closed for writing: the shards
    of a run claim their checks from it (`plugin.ClaimedChecks`)."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"".join(n.to_bytes(2, "big") for n in range(MAX_CHECKS)))
    finally:
        os.close(write_fd)
    return read_fd


def _shard_paths(paths: dict[str, Path], tmp: Path, index: int) -> dict[str, Path]:
    """A shard's folders: the first shard's are the run's; the others get a grader folder and a writable
    folder of their own (learner code writing into its working folder never meets another shard's)."""
    if index == 0:
        return paths
    own, grader = tmp / f"own-{index}", tmp / f"grader-{index}"
    own.mkdir()
    grader.mkdir()
    shutil.copy(paths["grader"] / "pytest.ini", grader / "pytest.ini")
    return {**paths, "own": own, "grader": grader}


@dataclass(eq=False)
class _Shard:
    """One grader process of a run and its learner hosts; with N shards, each runs the checks it claims."""

    kata: Kata
    paths: dict[str, Path]
    token: str
    options: RunOptions
    warm: WarmGrader | None
    shard: tuple[int, int]  # (index, count)
    claims: int | None  # the read end of the run's claims pipe, shared by its shards
    received: Received = field(default_factory=Received)
    returncode: int | None = None
    timed_out: bool = False

    def run(self, limit: float, env: dict[str, str]) -> None:
        """Run this shard's grader to its end and keep what it sent."""
        read_fd, write_fd = os.pipe()
        reader = _ResultsReader(read_fd, self.token)
        token_fd = _token_pipe(self.token)
        command = _command(self.kata, self.paths, write_fd, self.options)
        command.insert(-1, f"--kata-token-fd={token_fd}")
        passed_claims: tuple[int, ...] = ()
        if self.claims is not None:
            command[-1:-1] = [f"--kata-shard={self.shard[0]}/{self.shard[1]}", f"--kata-claims-fd={self.claims}"]
            passed_claims = (self.claims,)
        run = None
        try:
            run = _open_run(self.kata, self.paths, self.options)
            passed = (write_fd, token_fd, *passed_claims) + (() if run is None else (run.sock.fileno(),))
            if run is not None:
                command.insert(-1, f"--kata-hosts-fd={run.sock.fileno()}")
            # A template collects the kata's checks once for all its grades (not when recording: each
            # recording run has a stand-in of its own; nor without checks: their folder is the run's).
            template = (self.options.templates and self.kata.has_hidden_checks
                        and self.options.standin_url is None and self.options.live is None)
            self.returncode, self.timed_out = _run_grader(command, self.paths["grader"], env, passed, limit,
                                                          self.options, self.warm, template)
        finally:
            os.close(write_fd)  # the results reader sees the end once the grader's copy is gone too
            os.close(token_fd)
            if run is not None and self.options.launcher is not None:
                self.options.launcher.end_run(run)  # the run's hosts, and whatever they left running
            self.received = reader.received()


def _merged(shards: list[_Shard]) -> tuple[Received, int | None, bool]:
    """One run's records from its shards: (records, exit code, timed out).

    Every shard lists every check, so the list is the first shard's that has one; the run finished
    when every shard did, and plays add up. The exit code is that of the first shard that did not finish."""
    if len(shards) == 1:
        return shards[0].received, shards[0].returncode, shards[0].timed_out
    records: list[dict[str, Any]] = []
    listed = next((r for s in shards for r in s.received.of_kind("collected")), None)
    if listed is not None:
        records.append(listed)
    errors: list[str] = []
    plays: dict[str, list[int]] = {}
    for shard in shards:
        for record in shard.received.records:
            kind = record.get("kind")
            if kind in ("result", "started", "tampered"):
                records.append(record)
            elif kind == "kit-error" and record.get("message") not in errors:  # each shard loads the checks
                errors.append(record.get("message"))
                records.append(record)
        for name, counts in ((shard.received.of_kind("plays") or [{"plays": {}}])[-1]["plays"] or {}).items():
            add_plays(plays, name, counts)
    records.append({"kind": "plays", "plays": plays})
    ended = [s for s in shards if s.received.of_kind("finished")]
    if len(ended) == len(shards):
        records.append({"kind": "finished"})
    returncode = ([s for s in shards if s not in ended] or shards)[0].returncode
    return (Received(records, sum(s.received.forged for s in shards)), returncode,
            any(s.timed_out for s in shards))


def _run_grader(command: list[str], cwd: Path, env: dict[str, str], passed: tuple[int, ...], limit: float,
                options: RunOptions, warm_grader: WarmGrader | None, template: bool = False) -> tuple[int | None, bool]:
    """Run the grader (forked from `warm_grader`, else a fresh interpreter): (exit code, timed out)."""
    with open(cwd / "pytest.out", "wb") as out:
        warm = _run_warm(command, cwd, env, passed, out.fileno(), limit, options, warm_grader, template)
        if warm is not None:
            return warm.returncode, warm.timed_out
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, pass_fds=passed, start_new_session=True)
        try:
            proc.wait(timeout=limit)
            return proc.returncode, False
        except subprocess.TimeoutExpired:
            return proc.returncode, True
        finally:
            _kill_group(proc)  # the grader, and with it a zygote it started itself


def _run_warm(command: list[str], cwd: Path, env: dict[str, str], passed: tuple[int, ...], out_fd: int,
              limit: float, options: RunOptions, warm: WarmGrader | None, template: bool) -> WarmRun | None:
    """Run the grader in a child of the warm grader; None when the cold path must run instead."""
    if warm is None:
        return None
    from kata.grader.warm import WarmUnavailable

    try:
        options.stopping()
        warm.ensure()
        return warm.run(command, cwd=cwd, env=env, pass_fds=passed, out_fd=out_fd, time_limit=limit,
                        template=template)
    except (WarmUnavailable, OSError):
        options.stopping()  # stopped: no fresh interpreter either
        return None  # nothing started: a fresh interpreter grades instead


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _assemble(
    kata: Kata, target: Target, received: Received, returncode: int | None, timed_out: bool,
    limit: float, duration: float, output: Path,
) -> KataResult:
    """Turn the grader's records into a KataResult, explaining whatever went wrong."""
    spec = kata.spec
    build = dict(id=spec.id, slug=spec.slug, title=spec.title, target=target.label,
                 pass_mark=spec.pass_mark, duration_s=duration)
    collected = received.of_kind("collected")
    kit_errors = [r["message"] for r in received.of_kind("kit-error")]
    if not collected and timed_out:  # e.g. an endless loop run when the checks import the learner's code
        return KataResult.build(**build, crashed=True, problem=Problem.TIMEOUT, checks=[_kata_error(
            "grading", f"observed: the checks were still being loaded when the kata's time limit ({limit:g} s) ran "
                       "out\nexpected: importing your package returns quickly\nhint: look for an endless loop or a "
                       "real wait at the top level of your modules.")],
            message=f"The kata did not finish within its time limit ({limit:g} s); nothing was graded.")
    if not collected:
        tail = output.read_text(errors="replace").strip().splitlines()[-1:] if output.exists() else []
        reason = "; ".join(kit_errors) or (tail[0] if tail else f"pytest exited with code {returncode}")
        return KataResult.build(**build, crashed=True, problem=Problem.NOT_STARTED, checks=[_kata_error(
            "grading", f"observed: grading could not start ({reason})\nexpected: the checks run\n"
                       "hint: this is usually a problem of the kit; report it.")],
            message="Grading could not start.")
    listed = collected[0]["checks"]
    results = {r["id"]: r for r in received.of_kind("result")}
    starts = {r["id"]: r["at"] for r in received.of_kind("started")}
    finished = bool(received.of_kind("finished"))
    started_ids = set(starts) - set(results)  # started, no result: at most one a grader (each runs in turn)
    message, problem = "", None
    if timed_out:
        problem = Problem.TIMEOUT
        message = f"The kata did not finish within its time limit ({limit:g} s); unfinished checks score 0."
    elif received.of_kind("tampered"):
        problem = Problem.TAMPERED
        message = ("The run of the service's own tests was tampered with (a test that cannot pass was reported "
                   "as passed): the existing-tests check scores 0.")
    elif not finished:
        problem = Problem.EXITED
        message = (f"Your code ended the grading process (exit code {returncode}) before every check ran; "
                   "unfinished checks score 0.")
    checks = []
    for meta in listed:
        got = results.get(meta["id"])
        cause = ""
        if got is not None:
            status, text = Status(got["status"]), got["message"]
            cause = got.get("cause") if got.get("cause") in ("syntax", "import") else ""
        elif meta["id"] in started_ids and timed_out:
            status, text = Status.ERROR, (f"observed: this check was still running when the kata's time "
                                          f"limit ({limit:g} s) ran out\nexpected: the check finishes\n"
                                          "hint: look for an infinite loop or a real wait.")
        elif meta["id"] in started_ids or meta["id"] == EXISTING_TESTS:
            status, text = Status.ERROR, (f"observed: the grading process ended during this check "
                                          f"(exit code {returncode})\nexpected: the service returns or raises\n"
                                          "hint: look for sys.exit, os._exit or a crash in your code.")
        else:
            status, text = Status.ERROR, "not run: grading stopped before this check (see the kata message)"
        points = meta["points"] if status == Status.PASSED else 0
        checks.append(CheckResult(id=meta["id"], title=meta["title"], points=points, max_points=meta["points"],
                                  status=status, message=text, guard=meta.get("guard", False), cause=cause,
                                  duration_s=_duration(starts.get(meta["id"]), got)))
    if kit_errors:
        message = (message + " " if message else "") + "Kit problem: " + "; ".join(kit_errors)
    if received.forged:
        message = (message + " " if message else "") + (
            f"{received.forged} result line(s) not written by the grader reached this run and were ignored.")
    if not kata.has_hidden_checks and not message:
        message = ("Not graded here: this edition has no hidden checks, so only the service's own tests ran. "
                   "Your instructor grades the rest.")
    plays = (received.of_kind("plays") or [{"plays": {}}])[-1]["plays"]
    return KataResult.build(**build, checks=checks, message=message, crashed=bool(kit_errors),
                            cassette_plays=plays, problem=problem, hidden_checks=kata.has_hidden_checks)


def _duration(started_at: float | None, result: dict[str, Any] | None) -> float | None:
    """Seconds from a check's start to its result, as both reached the kit; None if it did not run."""
    if started_at is None or result is None:
        return None
    return round(max(0.0, result["at"] - started_at), 3)


def _kata_error(check_id: str, message: str) -> CheckResult:
    return CheckResult(id=check_id, title="Grading", points=0, max_points=1, status=Status.ERROR,
                       message=message)
