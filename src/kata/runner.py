"""Grades one kata against one target: a pytest subprocess over the hidden checks.

The subprocess sees only what the kit lays out in a temporary folder: the target's files, the
kit's hidden checks, its pristine copy of the legacy tests, the cassettes and data. pytest is run
with the kit's own configuration (no conftest.py, ini file or plugin of the submission is loaded),
no network, a dummy API key, and a time limit; results come back through the signed channel.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import channel, sandbox
from .catalog import Kata
from .checks import EXISTING_TESTS
from .results import CheckResult, KataResult, Problem, Status
from .targets import Target

if TYPE_CHECKING:
    from .live import LiveEndpoint
    from .warm import WarmGrader, WarmRun

# Variables of the learner's shell that would change how pytest, Python or the SDK behave.
SCRUBBED_ENV_PREFIXES = ("OPENAI_", "PYTEST_", "KATA_", "PYTHON", "COV_CORE_", "VIRTUAL_ENV_PROMPT")
PYTEST_INI = "[pytest]\naddopts =\nxfail_strict = false\n"


@dataclass(frozen=True)
class RunOptions:
    """How to run: time limit override, and recording against a stand-in instead of replaying."""

    time_limit: float | None = None
    standin_url: str | None = None  # set: record cassettes against this stand-in instead of replaying
    cassettes_out: Path | None = None  # where recording writes cassettes
    keep: bool = False  # keep the temporary folder (kit maintainers debugging a kata)
    isolation: sandbox.Isolation | None = None  # cohort grading: resource limits and the sandbox
    tmp_root: Path | None = None  # where the temporary folders go (default: the system's)
    # `kata watch`: fork each grade from a process that has already imported pytest and the SDK
    # (warm.WarmGrader); the cold path is used when it is None, gone, or the namespace sandbox is asked for.
    warm: WarmGrader | None = None
    # `kata live` / `kata record` against a real endpoint: record the traffic instead of replaying it.
    live: LiveEndpoint | None = None
    check_time_limit: float | None = None  # per-check limit override (live models answer slowly)


def _child_env(work: Path, checks: Path, standin_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_ENV_PREFIXES)}
    env.update(
        PYTHONPATH=os.pathsep.join([str(work), str(checks)]),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        OPENAI_API_KEY="kata-replay-key",
    )
    if standin_url:
        env["KATA_STANDIN_URL"] = standin_url
    return env


def _layout(kata: Kata, target: Target, tmp: Path, options: RunOptions) -> dict[str, Path]:
    paths = {name: tmp / name for name in ("work", "checks", "service-tests", "cassettes", "data")}
    target.materialize(paths["work"])
    paths["checks"].mkdir()
    if kata.has_hidden_checks:
        shutil.copytree(kata.checks_dir, paths["checks"], dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "conftest.py"))
    if kata.service_tests_dir.is_dir():
        shutil.copytree(kata.service_tests_dir, paths["service-tests"],
                        ignore=shutil.ignore_patterns("__pycache__", "conftest.py"))
    for name, source in (("cassettes", kata.cassette_dir), ("data", kata.fixtures_dir / "data")):
        if source.is_dir():
            shutil.copytree(source, paths[name])
        else:
            paths[name].mkdir()
    if options.cassettes_out is not None:
        paths["cassettes"] = options.cassettes_out
    (tmp / "pytest.ini").write_text(PYTEST_INI)
    paths["channel"] = tmp / "results.jsonl"
    return paths


def _command(kata: Kata, tmp: Path, paths: dict[str, Path], key_fd: int, options: RunOptions) -> list[str]:
    spec = kata.spec
    record = options.standin_url is not None or options.live is not None
    cmd = [
        sys.executable, "-m", "pytest", "-p", "pytest_recording.plugin", "-p", "kata.plugin",
        "-p", "no:cacheprovider", "-c", str(tmp / "pytest.ini"), "--rootdir", str(tmp),
        "--noconftest", "--continue-on-collection-errors", "--import-mode=importlib", "--assert=plain",
        # Native tracebacks: pytest's own format parses the source of every frame of every failure,
        # which took 0.9 s of a 1.5 s grade of a starter; nobody reads pytest.out but the grader.
        "-q", "--no-header", "-rN", "--tb=native",
        f"--record-mode={'all' if record else 'none'}",
        f"--kata-channel={paths['channel']}", f"--kata-key-fd={key_fd}",
        f"--kata-target={paths['work']}", f"--kata-cassettes={paths['cassettes']}",
        f"--kata-data={paths['data']}", f"--kata-record-pattern={spec.replay.record_pattern}",
        f"--kata-check-time-limit={options.check_time_limit or spec.check_time_limit}",
        f"--kata-existing-points={spec.existing_tests_points}", f"--kata-id={spec.id}",
    ]
    if not record:
        cmd.append("--block-network")
    if paths["service-tests"].is_dir():
        cmd += [f"--kata-service-tests={paths['service-tests']}", str(paths["service-tests"])]
    cmd.append(str(paths["checks"]))
    return cmd


def grade(kata: Kata, target: Target, options: RunOptions | None = None) -> KataResult:
    """Grade one kata against one target; never raises for anything the target does."""
    options = options or RunOptions()
    limit = options.time_limit or kata.spec.time_limit
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f"kata-{kata.id}-", dir=options.tmp_root))
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
        key = channel.new_key()
        key_fd = channel.hand_over_key(key)
        command = _command(kata, tmp, paths, key_fd, options)
        env = _child_env(paths["work"], paths["checks"], options.standin_url)
        if options.live is not None:
            env.update(options.live.child_env())
        with open(tmp / "pytest.out", "wb") as out:
            warm = _run_warm(command, paths["work"], env, key_fd, out.fileno(), limit, options)
            if warm is not None:
                os.close(key_fd)
                returncode, timed_out = warm.returncode, warm.timed_out
            else:
                if options.isolation is not None:
                    command = sandbox.wrap(command, tmp, options.isolation)
                proc = subprocess.Popen(
                    command, cwd=paths["work"], env=env,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    pass_fds=(key_fd,), start_new_session=True,
                )
                os.close(key_fd)
                timed_out = False
                try:
                    proc.wait(timeout=limit)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill_group(proc)  # also ends anything the submission left running, and on Ctrl-C
                returncode = proc.returncode
        received = channel.read_channel(paths["channel"], key)
        return _assemble(kata, target, received, returncode, timed_out, limit,
                         time.monotonic() - started, tmp / "pytest.out")
    finally:
        if options.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _run_warm(command: list[str], work: Path, env: dict[str, str], key_fd: int, out_fd: int, limit: float,
              options: RunOptions) -> WarmRun | None:
    """Grade in a child of the warm grader; None when the cold path must run instead."""
    isolation = options.isolation
    if options.warm is None or (isolation is not None and isolation.sandbox):
        return None
    from .warm import WarmUnavailable

    if isolation is not None:  # as the sandbox launcher does: temporary files in the grade's own folder
        (work.parent / "tmp").mkdir(exist_ok=True)
        env = {**env, "TMPDIR": str(work.parent / "tmp")}
    try:
        options.warm.ensure()
        return options.warm.run(command, cwd=work, env=env, key_fd=key_fd, out_fd=out_fd, time_limit=limit,
                                limits=isolation.limits if isolation is not None else None)
    except (WarmUnavailable, OSError):
        return None  # nothing started: a fresh interpreter grades instead


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _assemble(
    kata: Kata, target: Target, received: channel.Received, returncode: int | None, timed_out: bool,
    limit: float, duration: float, output: Path,
) -> KataResult:
    """Turn the verified channel records into a KataResult, explaining whatever went wrong."""
    spec = kata.spec
    build = dict(id=spec.id, slug=spec.slug, title=spec.title, target=target.label,
                 pass_mark=spec.pass_mark, duration_s=duration)
    collected = received.of_kind("collected")
    kit_errors = [r["message"] for r in received.of_kind("kit-error")]
    if received.forged:
        return KataResult.build(
            **build, crashed=True, problem=Problem.TAMPERED,
            checks=[_kata_error("results", f"observed: {received.forged} result line(s) not written by the grader\n"
                                           "expected: results come only from the grader\nhint: code that writes "
                                           "to the grader's files is treated as tampering.")],
            message="The results channel was tampered with; this kata scores 0.",
        )
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
    finished = bool(received.of_kind("finished"))
    started_ids = _started_check_ids(received)
    message, problem = "", None
    if timed_out:
        problem = Problem.TIMEOUT
        message = f"The kata did not finish within its time limit ({limit:g} s); unfinished checks score 0."
    elif not finished:
        problem = Problem.EXITED
        message = (f"Your code ended the grading process (exit code {returncode}) before every check ran; "
                   "unfinished checks score 0.")
    checks = []
    for meta in listed:
        got = results.get(meta["id"])
        if got is not None:
            status, text = Status(got["status"]), got["message"]
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
                                  status=status, message=text, guard=meta.get("guard", False)))
    if kit_errors:
        message = (message + " " if message else "") + "Kit problem: " + "; ".join(kit_errors)
    if not kata.has_hidden_checks and not message:
        message = ("This edition has no hidden checks: only the service's own tests were run. "
                   "Your instructor grades the rest.")
    plays = (received.of_kind("plays") or [{"plays": {}}])[-1]["plays"]
    return KataResult.build(**build, checks=checks, message=message, crashed=bool(kit_errors),
                            cassette_plays=plays, problem=problem)


def _started_check_ids(received: channel.Received) -> set[str]:
    """Ids of the checks that started but reported no result (at most one: checks run in turn)."""
    finished = {r["id"] for r in received.of_kind("result")}
    return {r["id"] for r in received.of_kind("started")} - finished


def _kata_error(check_id: str, message: str) -> CheckResult:
    return CheckResult(id=check_id, title="Grading", points=0, max_points=1, status=Status.ERROR,
                       message=message)


def grade_many(jobs: Iterable[tuple[Kata, Target]], options: RunOptions | None = None,
               workers: int | None = None,
               on_result: Callable[[KataResult], None] | None = None) -> list[KataResult]:
    """Grade several (kata, target) pairs in parallel; results keep the order of `jobs`.

    `on_result` sees each result as soon as it and all results before it are in, so a report can
    be printed while later katas are still being graded.
    """
    pairs = list(jobs)
    workers = max(1, min(workers or os.cpu_count() or 1, len(pairs) or 1))
    results = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(lambda pair: grade(pair[0], pair[1], options), pairs):
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
