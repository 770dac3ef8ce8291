"""A warm grader: one process that has already imported pytest, the SDK, VCR, pydantic and the kit,
and forks a fresh child for every grade.

A new interpreter per kata spends most of a second importing pytest, the `openai` SDK (about 0.5 s
alone), httpx2, VCR and pydantic before the first check runs. So every `kata` command that grades
(`grade`, `cohort`, `verify`, `watch`, through `session.GradingSession`) keeps this process (a
"zygote") running instead: for each grade it forks a child that starts from the imported modules and
runs `pytest.main` with exactly the arguments of the cold path (`runner._command`). What stays the
same as the cold path:

- the child is the leader of a new session: at the end its whole process group is killed;
- the kata's time limit is enforced by the zygote, which kills the group when it runs out;
- the descriptors the grader is given (the results pipe, the token pipe, the socket of the run's
  learner hosts) travel over a Unix socket with SCM_RIGHTS, and the child gets each under the number
  the plugin is told;
- stdout and stderr go to the grade's own `pytest.out`; stdin is /dev/null;
- the environment, working folder, `sys.path` (as `python -I` sets it) and `sys.argv` are the
  cold path's; resource limits (`sandbox.Limits`) are applied with setrlimit when given.

Collecting a kata's checks (pytest's start, the plugins, the check modules) is the same for every grade
of that kata: about 100 ms of CPU a grade. So a grade may ask for a *template*: the zygote forks, once
per kata (per distinct set of the arguments that are not the grade's own, `GRADE_OPTIONS`), a process
that starts pytest with those arguments, collects the checks and stops there; each grade of the kata
is then forked from it after the collection, takes its own options, descriptors and environment, and
runs the checks. A template never runs a check and holds nothing of a grade, so every grade starts
from the same collected state, as fresh as a grade forked from the zygote.

The zygote imports no learner code, so every child imports the submission afresh. If the zygote is
gone (killed, crashed), `run` raises `WarmUnavailable` before anything started and the runner falls
back to the cold path.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from kata.forking import exit_after, spawn_connected
from kata.grader.environment import grader_env
from kata.host.sandbox import apply_limits, die_with_parent
from kata.warmup import warm_pytest

# Imported once by the zygote. Learner code is never among them.
PRELOAD = (
    "pytest", "_pytest.python", "_pytest.runner", "_pytest.main", "_pytest.terminal", "_pytest.fixtures",
    "pytest_recording.plugin", "vcr", "vcr.stubs.httpx_stubs", "openai", "openai.types.chat", "httpx2",
    "pydantic", "yaml", "sqlite3", "kata.grader.plugin", "kata.checks", "kata.grader.replay", "kata.protocol.clock",
    "kata.grader.hosting",
    "kata.grader.remote", "kata.grader.model_server", "kata.protocol.codec",
)
# Imported when installed: katas that prepare data use them, and pandas alone takes about 0.4 s.
OPTIONAL_PRELOAD = ("pandas", "numpy")
START_TIMEOUT = 60.0  # seconds for the zygote to import everything (a cold disk cache is slow)
MAX_MESSAGE = 1 << 20
MAX_STARTS = 5
MAX_FDS = 8  # descriptors one request may carry: pytest.out, results, token, claims, the hosts' socket
# The arguments that belong to one grade (its folders and descriptors): a template is started without
# them and each grade forked from it takes its own (kata.grader.plugin.begin_grade).
GRADE_OPTIONS = ("--kata-results-fd=", "--kata-token-fd=", "--kata-work=", "--kata-own=", "--kata-data=",
                 "--kata-hosts-fd=", "--kata-claims-fd=", "--kata-service-tests=", "--kata-isolation=",
                 "--basetemp=")
# The run's own pytest.ini and rootdir: a template keeps those of its first grade (their content is part
# of its key: every run of a kata writes the same file).
RUN_FILES = ("--config-file=", "--rootdir=")
MAX_OPEN = 1 << 16  # descriptor numbers a template closes (all but its socket) when it starts
MAX_TEMPLATES = 40  # kept at once by a zygote (a cohort grades every kata; each is a small forked process)


class WarmUnavailable(Exception):
    """The warm grader cannot run this grade (not started, or gone); nothing was started."""


@dataclass(frozen=True)
class WarmRun:
    """How the forked grading process ended: exit code (negative: killed by that signal), time-out."""

    returncode: int | None
    timed_out: bool


# --------------------------------------------------------------------------- framing


def _send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = (json.dumps(message) + "\n").encode()
    if fds:
        sent = socket.send_fds(sock, [data], list(fds))
        data = data[sent:]
    if data:
        sock.sendall(data)


class _Reader:
    """Newline-delimited JSON messages from a stream socket, with any file descriptors they carry."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.fds: list[int] = []

    def read(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message; None on end of stream; TimeoutError when none came in `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    raise TimeoutError("no message from the warm grader")
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, MAX_FDS)
            self.fds += fds
            if not data:
                return None
            self.buffer += data
            if len(self.buffer) > MAX_MESSAGE:
                raise ValueError("message too long")
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def has_line(self) -> bool:
        """A whole message is already read (select would not see it)."""
        return b"\n" in self.buffer

    def take_fds(self) -> list[int]:
        fds, self.fds = self.fds, []
        return fds


# --------------------------------------------------------------------------- the grader's side


class WarmGrader:
    """The grader's handle on a zygote; use as a context manager, or `start()` then `close()`.

    `run` grades one kata at a time (callers in several threads take turns).
    """

    def __init__(self, env: Mapping[str, str] | None = None, preload: Sequence[str] = PRELOAD) -> None:
        self.env = dict(env) if env is not None else _base_env()
        self.stopped = False  # the command is being stopped: the zygote is not started again
        self.preload = tuple(preload)
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # the zygote's pid, once it is ready
        self._sock: socket.socket | None = None
        self._reader: _Reader | None = None
        self._lock = threading.Lock()
        self._log: Any = None
        self.last_words = ""  # the last line the zygote wrote to stderr before it ended
        self.starts = 0  # how many zygotes were started (a restart after a crash counts)

    def __enter__(self) -> WarmGrader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._sock is not None

    def start(self) -> None:
        """Start the zygote and wait until it has imported everything; raises WarmUnavailable if it cannot."""
        self.close()
        self._log = tempfile.TemporaryFile()  # the zygote's own messages (a pipe could fill up and block it)
        # -I and cwd /: no module of the folder the command was started in (a learner's) can shadow one.
        self.proc, ours = spawn_connected(
            lambda fd: [sys.executable, "-I", "-m", "kata.grader.warm", str(fd), ",".join(self.preload)],
            cwd="/", env=self.env, stderr=self._log, new_session=False)
        self._sock, self._reader = ours, _Reader(ours)
        self.starts += 1
        try:
            ready = self._reader.read(START_TIMEOUT)
        except (TimeoutError, OSError, ValueError) as exc:
            self.close()
            raise WarmUnavailable(f"the warm grader did not start: {exc}") from exc
        if not ready or "ready" not in ready:
            self.close()
            raise WarmUnavailable(f"the warm grader did not start: {self.last_words or 'no reason given'}")
        self.pid = int(ready["pid"])

    def ensure(self) -> None:
        """Start the zygote again if it is gone (e.g. killed), a few times at most: a zygote that keeps
        dying would otherwise cost a start on every grade."""
        if self.alive:
            return
        if self.stopped:
            raise WarmUnavailable("the command is being stopped")
        if self.starts >= MAX_STARTS:
            raise WarmUnavailable(f"the warm grader ended {self.starts} times; grading without it")
        self.start()

    def run(
        self, command: Sequence[str], *, cwd: os.PathLike[str] | str, env: Mapping[str, str],
        pass_fds: Sequence[int], out_fd: int, time_limit: float, limits: Any = None, template: bool = False,
    ) -> WarmRun:
        """Run `python -m pytest ARGS` (as `command`) in a child forked from the zygote.

        The child gets each of `pass_fds` under the same number (as with `subprocess`'s `pass_fds`),
        `out_fd` receives stdout and stderr. `limits` is a `sandbox.Limits` or None. `template`: fork the
        grade from the kata's template (collected once) when the zygote can.
        """
        at = next((i for i in range(1, len(command) - 1) if command[i:i + 2] == ["-m", "pytest"]), None)
        if at is None or any(not flag.startswith("-") for flag in command[1:at]):
            raise ValueError(f"the warm grader runs `python [-FLAGS] -m pytest ...`, not {command[:4]}")
        if 1 + len(pass_fds) > MAX_FDS:  # the kit's own mistake: loud, never a silent fall back to cold
            raise ValueError(f"a warm grade carries at most {MAX_FDS} descriptors, not {1 + len(pass_fds)}")
        request = {"args": list(command[at + 2:]), "cwd": os.fspath(cwd), "env": dict(env),
                   "fd_numbers": list(pass_fds), "time_limit": time_limit,
                   "limits": asdict(limits) if limits is not None else None, "template": template}
        with self._lock:
            if not self.alive:
                raise WarmUnavailable("the warm grader is not running")
            assert self._sock is not None and self._reader is not None
            try:
                _send(self._sock, request, [out_fd, *pass_fds])
                started = self._reader.read(10.0)
            except (OSError, TimeoutError, ValueError) as exc:
                self.close()
                raise WarmUnavailable(f"the warm grader did not answer: {exc}") from exc
            if started and "error" in started:  # the request was malformed: the kit's mistake, said aloud
                raise RuntimeError(f"the warm grader refused the request: {started['error']}")
            if not started or "started" not in started:
                self.close()
                raise WarmUnavailable("the warm grader ended before grading started")
            child = int(started["started"])
            try:
                # The zygote enforces the limit; this is only in case the zygote itself hangs or dies.
                ended = self._reader.read(time_limit + 30.0)
            except (OSError, TimeoutError, ValueError):
                ended = None
            if not ended or "returncode" not in ended:
                _kill_group(child)
                self.close()
                return WarmRun(returncode=None, timed_out=ended is None)
            return WarmRun(returncode=ended["returncode"], timed_out=bool(ended["timed_out"]))

    def close(self) -> None:
        """End the zygote (and whatever grade it is running)."""
        if self._sock is not None:
            self._sock.close()  # the zygote sees the end of its stream, kills its child's group and exits
            self._sock = self._reader = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.seek(0)
            lines = self._log.read().decode(errors="replace").strip().splitlines()
            self.last_words = lines[-1] if lines else ""
            self._log.close()
            self._log = None
        self.pid = None


def _base_env() -> dict[str, str]:
    """The cold path's environment, without the per-grade PYTHONPATH (the child sets `sys.path`)."""
    return grader_env()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# --------------------------------------------------------------------------- the zygote


def _preload(names: Sequence[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            if name.split(".")[0] not in OPTIONAL_PRELOAD:
                raise


def _high(fd: int) -> int:
    """A copy of `fd` numbered 100 or above (so moving fds into place never clobbers one of them)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
    os.close(fd)
    return new


def _child(request: dict[str, Any], fds: list[int], sock: socket.socket, base_path: list[str]) -> NoReturn:
    """In the forked child: become the cold path's `python -m pytest ARGS`, then exit. Never returns."""
    exit_after(lambda: _become_grader(request, fds, sock, base_path))


def _enter(request: dict[str, Any], fds: list[int], renumber: bool = False) -> dict[int, int]:
    """Make this forked process the grade's: a session of its own, the descriptors it is given under the
    numbers it is told, stdout and stderr to its pytest.out, its folder, environment and limits.

    `renumber`: in a process that already has files of its own open (a template's pytest session), the
    descriptors keep numbers no file of it has; the answer maps each number told to the one it got."""
    os.setsid()
    # The zygote ignores SIGINT; everything else is as a fresh interpreter has it (SIGPIPE ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out_fd, *passed = [_high(fd) for fd in fds]
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(null)
    os.close(out_fd)
    numbers: dict[int, int] = {}
    for fd, number in zip(passed, request["fd_numbers"], strict=True):  # as `pass_fds`: the numbers it is told
        if renumber:
            numbers[int(number)] = fd
            continue
        os.dup2(fd, int(number))
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    apply_limits(request.get("limits"))
    return numbers


def _renumbered(arg: str, numbers: dict[int, int]) -> str:
    """`--kata-x-fd=N` with the number descriptor N got in this process."""
    name, _, value = arg.partition("=")
    if name.endswith("-fd") and value.isdigit() and int(value) in numbers:
        return f"{name}={numbers[int(value)]}"
    return arg


def _as_interpreter(args: list[str], base_path: list[str]) -> None:
    """As `python -I -B -m pytest ARGS`: the site paths only (no working folder, no PYTHONPATH)."""
    sys.path[:] = list(base_path)
    sys.argv = [sys.modules["pytest"].__file__ or "pytest", *args]
    sys.dont_write_bytecode = True


def _plugins(args: list[str]) -> list[Any]:
    """The `-p NAME` plugins already imported here, handed to pytest as modules: a name given with -p is
    otherwise looked up among every installed distribution's entry points first (7 ms each, measured)."""
    return [sys.modules[name] for flag, name in zip(args, args[1:], strict=False)
            if flag == "-p" and not name.startswith("no:") and name in sys.modules]


def _become_grader(request: dict[str, Any], fds: list[int], sock: socket.socket, base_path: list[str]) -> int:
    sock.close()
    _close_templates()
    _enter(request, fds)
    _as_interpreter(request["args"], base_path)
    # The preloaded heap stays frozen: a collection (pytest forces two per session) then skips it.
    import pytest

    try:
        return int(pytest.main(request["args"], plugins=_plugins(request["args"])))
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - reported in pytest.out, like a crashed interpreter would
        traceback.print_exc()
        return 70


# --------------------------------------------------------------------------- templates


@dataclass
class _Template:
    """A process that has collected one kata's checks and forks a grade of that kata per request."""

    pid: int
    sock: socket.socket
    reader: _Reader


_TEMPLATES: dict[str, _Template] = {}  # by key, least recently used first (in the zygote)


def _split(args: list[str]) -> tuple[list[str], list[str]]:
    """(the kata's arguments, the grade's own)."""
    grade = [a for a in args if a.startswith(GRADE_OPTIONS)]
    return [a for a in args if not a.startswith(GRADE_OPTIONS)], grade


def _template_key(request: dict[str, Any]) -> str | None:
    """What makes two grades collect the same checks: the kata's arguments, the content of the run's
    pytest.ini, the environment, and the check files as they are now; None: not to be templated."""
    kata_args, _ = _split(list(request["args"]))
    stamps: list[Any] = []
    try:
        for arg in kata_args:
            if arg.startswith("--config-file="):
                with open(arg.split("=", 1)[1], encoding="utf-8") as handle:
                    stamps.append(handle.read(65536))
            elif not arg.startswith("-") and os.path.isdir(arg):
                for folder, dirs, files in os.walk(arg):
                    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                    for name in sorted(files):
                        info = os.stat(os.path.join(folder, name))
                        stamps.append([folder, name, info.st_mtime_ns, info.st_size])
    except OSError:
        return None
    kept = [a for a in kata_args if not a.startswith(RUN_FILES)]
    return json.dumps([kept, stamps, request["env"]], sort_keys=True)


def _close_templates() -> None:
    """In a process forked from the zygote: its copies of the templates' sockets go (a template sees its
    zygote go by the end of its socket)."""
    for template in _TEMPLATES.values():
        template.sock.close()
    _TEMPLATES.clear()


def _drop_template(template: _Template) -> None:
    for key in [k for k, t in _TEMPLATES.items() if t is template]:
        del _TEMPLATES[key]
    _end_template(template)


def _end_template(template: _Template) -> None:
    template.sock.close()
    _kill_group(template.pid)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(template.pid, 0)


def _template_for(request: dict[str, Any], sock: socket.socket, base_path: list[str]) -> _Template | None:
    """The running template for this request's kata, started if there is none; None if it cannot be."""
    key = _template_key(request)
    if key is None:
        return None
    template = _TEMPLATES.pop(key, None)
    if template is None:
        template = _start_template(request, sock, base_path)
        if template is None:
            return None
    _TEMPLATES[key] = template  # the most recently used last
    while len(_TEMPLATES) > MAX_TEMPLATES:
        _end_template(_TEMPLATES.pop(next(iter(_TEMPLATES))))
    return template


def _start_template(request: dict[str, Any], sock: socket.socket, base_path: list[str]) -> _Template | None:
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        ours.close()
        exit_after(lambda: _become_template(request, theirs, sock, base_path))
    theirs.close()
    template = _Template(pid, ours, _Reader(ours))
    try:
        ready = template.reader.read(START_TIMEOUT)
    except (OSError, TimeoutError, ValueError):
        ready = None
    if not ready or not ready.get("ready"):
        _end_template(template)  # a kata whose checks cannot be collected: its grades fork from the zygote
        return None
    return template


def _become_template(request: dict[str, Any], theirs: socket.socket, sock: socket.socket,
                     base_path: list[str]) -> int:
    sock.close()
    _close_templates()
    os.setsid()
    die_with_parent()
    null = os.open(os.devnull, os.O_RDWR)  # the template's own output: each grade has a pytest.out
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    # Nothing else of the zygote's stays open here: the descriptors of the grade that started this template
    # would otherwise stay open as long as it lives (its results pipe would never see its end).
    kept = theirs.fileno()
    os.closerange(3, kept)
    os.closerange(kept + 1, MAX_OPEN)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    kata_args, _ = _split(list(request["args"]))
    args = [*kata_args[:-1], f"--kata-template-fd={theirs.detach()}", kata_args[-1]]
    _as_interpreter(args, base_path)
    import pytest

    try:
        return int(pytest.main(args, plugins=_plugins(args)))
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - in a grade: reported in its pytest.out, as a crashed interpreter
        traceback.print_exc()
        return 70


def serve_template(fd: int) -> list[str]:
    """The template's loop, from the end of its collection (kata.grader.plugin): for each request, fork a
    grade and wait for it (within its time limit). Returns only in a grade, with the grade's own
    arguments; the template itself exits when its zygote goes."""
    sock = socket.socket(fileno=fd)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    _send(sock, {"ready": True})
    reader = _Reader(sock)
    while True:
        try:
            request = reader.read(None)
        except (OSError, ValueError):
            request = None
        if request is None:
            os._exit(0)
        fds = reader.take_fds()
        pid = os.fork()
        if pid == 0:
            sock.close()
            numbers = _enter(request, fds, renumber=True)
            return [_renumbered(arg, numbers) for arg in _split(list(request["args"]))[1]]
        for fd_ in fds:
            os.close(fd_)
        _send(sock, {"started": pid})
        returncode, timed_out, gone = _wait(pid, sock, float(request["time_limit"]))
        if gone:
            os._exit(0)
        _send(sock, {"returncode": returncode, "timed_out": timed_out})


def _grade_in_template(template: _Template, request: dict[str, Any], fds: list[int],
                       sock: socket.socket) -> tuple[int | None, bool, bool] | None:
    """Run one grade forked from `template`, relaying its start and end to the grader; None when the
    template did not start it (it is gone: the caller forks the grade itself)."""
    try:
        _send(template.sock, request, fds)
        started = template.reader.read(10.0)
    except (OSError, TimeoutError, ValueError):
        started = None
    if not started or "started" not in started:
        return None
    for fd in fds:  # the grade has its copies
        os.close(fd)
    pid = int(started["started"])
    _send(sock, {"started": pid})
    listening = True  # to the grader's socket: its end means the grader is gone
    while not template.reader.has_line():
        watched: list[Any] = [template.sock] + ([sock] if listening else [])
        readable = select.select(watched, [], [])[0]
        if sock in readable:
            if not sock.recv(1, socket.MSG_PEEK):
                _kill_group(pid)
                return None, False, True
            listening = False  # a message out of turn: it waits until this grade is over
        if template.sock in readable:
            break
    try:
        ended = template.reader.read(None)
    except (OSError, ValueError):
        ended = None
    if not ended or "returncode" not in ended:
        _kill_group(pid)  # the template went mid-grade: the grade goes with it
        return None, False, False
    return ended["returncode"], bool(ended["timed_out"]), False


def _wait(pid: int, sock: socket.socket, time_limit: float) -> tuple[int | None, bool, bool]:
    """Wait for the child: (exit code, timed out, the grader went away)."""
    deadline = time.monotonic() + time_limit
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    listening = True  # to the grader's socket: its end means the grader is gone
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                _kill_group(pid)  # stray background processes of the submission
                return os.waitstatus_to_exitcode(status), False, False
            left = deadline - time.monotonic()
            if left <= 0:
                _kill_group(pid)
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status), True, False
            watched: list[Any] = ([sock] if listening else []) + ([pidfd] if pidfd is not None else [])
            readable = select.select(watched, [], [], min(left, 0.005 if pidfd is None else left))[0]
            if sock in readable:
                if not sock.recv(1, socket.MSG_PEEK):
                    _kill_group(pid)
                    os.waitpid(pid, 0)
                    return None, False, True
                listening = False  # a message out of turn: it waits until this grade is over
    finally:
        if pidfd is not None:
            os.close(pidfd)


def serve(sock_fd: int, preload: Sequence[str]) -> int:
    """The zygote's loop: import, say ready, then fork a child per request until the grader goes away."""
    sock = socket.socket(fileno=sock_fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the watcher's to handle; it closes us
    _preload([*preload, *OPTIONAL_PRELOAD])
    warm_pytest()  # a grade is a pytest session: its plugins and hooks are then imported and built
    from kata.grader.model_server import ssl_context  # preloaded above; not imported by the `kata` command

    ssl_context()  # every grade's model server forwards through one
    base_path = list(sys.path)  # -I: the site paths only, as `python -I -m pytest` has them
    gc.collect()
    gc.freeze()  # children then share these pages instead of copying them when the collector runs
    _send(sock, {"ready": True, "pid": os.getpid()})
    reader = _Reader(sock)
    while True:
        try:
            request = reader.read(None)
        except (OSError, ValueError):
            return 1
        fds = reader.take_fds()
        if request is None:
            return 0
        if len(fds) != 1 + len(request.get("fd_numbers") or []):
            for fd in fds:
                os.close(fd)
            _send(sock, {"error": "expected the output descriptor and one for each number"})
            continue
        done = None
        template = _template_for(request, sock, base_path) if request.get("template") else None
        if template is not None:
            done = _grade_in_template(template, request, fds, sock)
            if done is None or done[:2] == (None, False):  # the template is gone: grades fork from here now
                _drop_template(template)
        if done is None:
            pid = os.fork()
            if pid == 0:
                _child(request, fds, sock, base_path)
            for fd in fds:
                os.close(fd)
            _send(sock, {"started": pid})
            done = _wait(pid, sock, float(request["time_limit"]))
        returncode, timed_out, gone = done
        if gone:
            return 0
        _send(sock, {"returncode": returncode, "timed_out": timed_out})


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), [n for n in sys.argv[2].split(",") if n]))
