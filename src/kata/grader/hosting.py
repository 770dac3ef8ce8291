"""The grader's hold on the learner hosts of one graded run: start the zygote, fork a host per check.

The zygote (`kata.host.zygote`) starts as `python -I` (no working folder, PYTHONPATH or user site on
its path, so no `sitecustomize.py`, `site.py` or shadow package of the submission can run), with its
working folder in the run's own folder, an allow-listed environment (HOME and TMPDIR inside the run,
a dummy API key, none of the instructor's variables) and, in cohort mode, inside the namespace
sandbox with its limits. The sandbox is complete before the zygote starts, and the zygote imports
nothing of the submission: each forked host puts the submission on `sys.path` itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata.forking import spawn_connected
from kata.grader.remote import Connection, HostGone
from kata.host import sandbox
from kata.protocol.control import ControlLines

START_TIMEOUT = 120.0  # seconds for the zygote to import the SDK, pydantic and pandas (a cold disk is slow)
MAX_STARTS = 3
# The only variables of the grader's environment a learner host sees (the rest may hold secrets).
ALLOWED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def host_env(own: Path) -> dict[str, str]:
    """The environment of a learner host: allow-listed, with HOME and TMPDIR inside the run."""
    env = {k: v for k, v in os.environ.items() if k in ALLOWED_ENV}
    for folder in ("home", "tmp"):
        (own / folder).mkdir(exist_ok=True)
    env.update(HOME=str(own / "home"), TMPDIR=str(own / "tmp"), PYTHONHASHSEED="0",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", OPENAI_API_KEY="kata-replay-key",
               OPENAI_BASE_URL="http://127.0.0.1:9/v1")  # a client learner code builds itself reaches nothing
    return env


@dataclass(frozen=True)
class HostSetup:
    """Where a run's learner hosts live and how they are isolated."""

    work: Path  # the submission's copy (put on the hosts' sys.path)
    own: Path  # the run's own folder: the hosts' cwd, HOME, TMPDIR, and in the sandbox the one writable place
    isolation: sandbox.Isolation | None = None
    readable: tuple[Path, ...] = ()  # further folders the hosts read (the kata's data)


class HostPool:
    """The zygote of one run; `connect()` forks a host for a check.

    The zygote is either one the host launcher already started for this run (`control_fd`, see
    `kata.grader.launch`) or one this pool starts itself (in the background, or again after a crash).

    Ending a host and forking the next one take the zygote a few milliseconds each, so both happen
    behind the grader's back: `finish` returns at once, and a thread ends the host, then forks a spare
    that the next `connect` takes. A spare is a plain fork of the zygote that has read nothing of the
    submission yet, as fresh as one forked on demand; `connect` waits for the previous host's end, so
    two checks' hosts never overlap."""

    def __init__(self, setup: HostSetup, control_fd: int | None = None) -> None:
        self.setup = setup
        self.proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lines: ControlLines | None = None
        self._lock = threading.Lock()
        self._waiting = False  # started, "ready" not read yet
        self._start_error: str | None = None
        self.starts = 0
        self._launched = control_fd is not None  # the zygote is the launcher's, not a child of ours
        self._spare: tuple[socket.socket, int] | None = None  # a host forked ahead for the next check
        self._behind: list[threading.Thread] = []  # ends (and refills) still under way
        self._closing = False  # no check comes after this: no spare to fork
        if control_fd is not None:
            self._control, self._waiting, self.starts = socket.socket(fileno=control_fd), True, 1
            self._lines = ControlLines(self._control)

    # ------------------------------------------------------------------ the zygote

    def start_in_background(self) -> None:
        """Start the zygote now and let it import while the grader collects its checks; its "ready" is
        read when the first host is needed. (Started from the calling thread: the sandbox's death signal
        follows the thread that started it, and the grader's main thread lives as long as the grader.)"""
        if not self._launched:
            try:
                self._spawn()
                self._waiting = True
            except HostGone as exc:
                self._start_error = exc.why
                return
        self._in_background(self._refill)  # the first check's host, forked while the checks are collected

    def _command(self, fd: int) -> list[str]:
        command = [sys.executable, "-I", "-m", "kata.host.zygote", str(fd), str(self.setup.work), str(self.setup.own)]
        if self.setup.isolation is not None:
            command = sandbox.wrap(command, self.setup.own, self.setup.isolation,
                                   readable=(self.setup.work, *self.setup.readable))
        return command

    def _spawn(self) -> None:
        self.starts += 1
        try:
            self.proc, ours = spawn_connected(self._command, cwd=self.setup.own, env=host_env(self.setup.own),
                                              stderr=subprocess.PIPE)
        except OSError as exc:
            raise HostGone(f"the learner's process could not be started ({exc})") from exc
        self._control, self._lines = ours, ControlLines(ours)

    def _wait_ready(self) -> None:
        self._waiting = False
        ready = self._read(START_TIMEOUT)
        if not ready or not ready.get("ready"):
            why = str((ready or {}).get("why") or "")[:300] or self._last_words()
            self._shut()
            raise HostGone(f"the learner's process did not start{': ' + why if why else ''}")

    def _start(self) -> None:
        self._spawn()
        self._wait_ready()

    def _last_words(self) -> str:
        if self.proc is None or self.proc.stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            if self.proc.poll() is None:
                return ""
            lines = self.proc.stderr.read(65536).decode(errors="replace").strip().splitlines()
            return lines[-1][:300] if lines else ""
        return ""

    def _read(self, timeout: float) -> dict[str, Any] | None:
        return self._lines.read(timeout) if self._lines is not None else None

    def _ensure(self, start: bool = True) -> None:
        if self._waiting:
            try:
                self._wait_ready()
            except HostGone as exc:
                self._start_error = exc.why
        if self._alive():
            return
        if not start:
            raise HostGone("the learner's process is not running")
        self._launched = False  # the launcher's zygote is gone: start one of our own
        if self.starts >= MAX_STARTS:
            raise HostGone(self._start_error or "the learner's process kept ending; nothing more is graded")
        self._shut()
        self._start()

    def _alive(self) -> bool:
        return self._control is not None and (self._launched or (self.proc is not None and self.proc.poll() is None))

    # ------------------------------------------------------------------ hosts

    def connect(self, services: dict[str, Callable[[dict[str, Any]], Any]]) -> Connection:
        """A new learner host, serving a check; the caller `finish()`es it when the check is over."""
        self._wait_behind()
        with self._lock:
            started, self._spare = self._spare, None
            if started is None:
                started = self._fork()
        ours, pid = started
        conn = Connection(ours, services)
        conn.on_gone = lambda: self.end(pid)
        conn.host_pid = pid  # type: ignore[attr-defined]
        return conn

    def _fork(self, start: bool = True) -> tuple[socket.socket, int]:
        """Fork a host (the lock held); `start`: start the zygote first if it is not running."""
        self._ensure(start)
        assert self._lines is not None
        started = self._lines.ask_for_process({"op": "fork"})
        if started is None:
            self._shut()
            raise HostGone("the learner's process could not be started")
        return started

    def _refill(self) -> None:
        """Fork a spare host for the next check, if there is none and the zygote is up.

        It never starts a zygote: this runs in a short-lived thread, and the sandbox's death signal
        follows the thread that started it; `connect` (the grader's own thread) starts one instead."""
        with self._lock:
            if self._spare is None and not self._closing and (self._waiting or self._alive()):
                with contextlib.suppress(HostGone, OSError):
                    self._spare = self._fork(start=False)

    def _in_background(self, work: Callable[[], None]) -> None:
        thread = threading.Thread(target=work, daemon=True)
        thread.start()  # before it is listed: another thread of the grader may join it at once
        self._behind.append(thread)

    def _wait_behind(self) -> None:
        while True:
            try:
                thread = self._behind.pop(0)
            except IndexError:  # another thread of the grader took the last one
                return
            if thread is not threading.current_thread():
                thread.join()

    def end(self, pid: int) -> int | None:
        """Kill a host and everything it left running; its exit code when it had ended by itself."""
        with self._lock:
            if self._control is None:
                return None
            try:
                self._control.sendall(json.dumps({"op": "end", "pid": pid}).encode())
                answer = self._read(30.0)
            except OSError:
                answer = None
            if answer is None:
                self._shut()
                return None
            code = answer.get("code")
            return code if isinstance(code, int) else None

    def finish(self, conn: Connection) -> None:
        """End the host behind `conn` (once), without waiting: a thread ends it, then forks a spare."""
        if getattr(conn, "_ended", False):
            return
        conn.close()
        conn._ended = True  # type: ignore[attr-defined]
        pid = conn.host_pid  # type: ignore[attr-defined]

        def end_and_refill() -> None:
            self.end(pid)
            self._refill()

        self._in_background(end_and_refill)

    def close(self) -> None:
        """End the zygote and everything under it, once the ends under way are done."""
        self._closing = True  # an end still under way forks no spare for a check that will not come
        self._wait_behind()
        with self._lock:
            self._shut()

    def _shut(self) -> None:
        """End the zygote and everything under it (the lock held, or from the only thread left)."""
        if self._spare is not None:
            self._spare[0].close()
            self._spare = None
        if self._control is not None:
            with contextlib.suppress(OSError):
                self._control.close()
            self._control = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
            self.proc = None
