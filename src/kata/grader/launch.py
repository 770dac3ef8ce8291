"""The runner's hold on the host launcher (`kata.host.launcher`): one warm process per `kata` command that
starts the learner hosts of every graded run, so a run no longer pays for importing the SDK and pandas.

`HostLauncher.open_run(setup)` returns a socket on which the run's zygote will say "ready"; the runner
passes it to the grader (`--kata-hosts-fd`), whose `HostPool` forks a host per check from it, exactly
as from a zygote it started itself. `end_run` kills the run and everything it left. The launcher is
started lazily, from whichever thread asks first: it is tied to its control socket, not to a thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from typing import Any

from kata.forking import spawn_connected
from kata.grader.hosting import ALLOWED_ENV, HostSetup, host_env
from kata.host import sandbox
from kata.protocol.control import ControlLines

START_TIMEOUT = 120.0  # seconds to import the SDK, pydantic and pandas (a cold disk is slow)
MAX_STARTS = 3


class LauncherUnavailable(Exception):
    """The launcher cannot start a run (not started, or gone); the grader then starts its own zygote."""


@dataclass
class Run:
    """A run the launcher started: the grader's end of its zygote's socket, and the keeper's pid."""

    sock: socket.socket
    pid: int


class HostLauncher:
    """Use as a context manager (or `close()` it); `open_run` and `end_run` may be called from any thread."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lines: ControlLines | None = None
        self._lock = threading.Lock()
        self._log: Any = None
        self.starts = 0
        self.stopped = False  # the command is being stopped: no run starts, and the launcher is not restarted

    def __enter__(self) -> HostLauncher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._control is not None

    def start(self) -> None:
        """Start the launcher now (it is otherwise started by the first `open_run`)."""
        with self._lock:
            if not self.alive:
                self._start()

    def _start(self) -> None:
        if self.starts >= MAX_STARTS:
            raise LauncherUnavailable(f"the host launcher ended {self.starts} times")
        self.starts += 1
        self._close_process()
        self._log = tempfile.TemporaryFile()
        env = {k: v for k, v in os.environ.items() if k in ALLOWED_ENV}
        env.update(PYTHONHASHSEED="0")
        try:
            self.proc, ours = spawn_connected(lambda fd: [sys.executable, "-I", "-m", "kata.host.launcher", str(fd)],
                                              cwd="/", env=env, stderr=self._log)
        except OSError as exc:
            raise LauncherUnavailable(f"the host launcher could not be started ({exc})") from exc
        self._control, self._lines = ours, ControlLines(ours)
        ready = self._read(START_TIMEOUT)
        if not ready or not ready.get("ready"):
            self._close_process()
            raise LauncherUnavailable("the host launcher did not start")

    def _read(self, timeout: float) -> dict[str, Any] | None:
        return self._lines.read(timeout) if self._lines is not None else None

    def open_run(self, setup: HostSetup) -> Run:
        """Start the learner hosts' zygote of one run; raises LauncherUnavailable when it cannot."""
        isolation = setup.isolation or sandbox.Isolation(sandbox=False)
        request = {"op": "run", "work": str(setup.work), "own": str(setup.own),
                   "readable": [str(p) for p in (setup.work, *setup.readable)], "hidden": list(isolation.hidden),
                   "limits": asdict(isolation.limits), "env": host_env(setup.own),
                   "namespaced": isolation.namespaced}
        with self._lock:
            if self.stopped:
                raise LauncherUnavailable("the command is being stopped")
            if not self.alive:
                self._start()
            assert self._lines is not None
            started = self._lines.ask_for_process(request)
            if started is None:
                self._close_process()
                raise LauncherUnavailable("the host launcher did not start the run")
        return Run(*started)

    def end_run(self, run: Run) -> None:
        """Kill a run and everything it started (its zygote and hosts too, if the grader left them)."""
        with contextlib.suppress(OSError):
            run.sock.close()
        with self._lock:
            if not self.alive:
                return
            assert self._control is not None
            try:
                self._control.sendall(json.dumps({"op": "end", "pid": run.pid}).encode())
                self._read(30.0)
            except OSError:
                self._close_process()

    def _close_process(self) -> None:
        if self._control is not None:
            with contextlib.suppress(OSError):
                self._control.close()  # the launcher ends every run it keeps, then exits
            self._control = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        """End the launcher and every run it keeps."""
        with self._lock:
            self._close_process()
