"""The warm start of learner hosts: one process that has imported the SDK, pydantic, pandas and pytest,
and forks a fresh learner host for every check the grader runs.

`python -I -m kata.host.zygote CONTROL_FD WORK OWN` is started by the grader (inside the sandbox when
there is one) with its working folder outside the submission. It imports nothing of the submission:
each host it forks puts WORK on `sys.path` only once it is serving. The grader asks over the control
socket:

- `{"op": "fork"}` with a socket passed along (SCM_RIGHTS): fork a host serving that socket; the
  answer is its pid;
- `{"op": "end", "pid": N}`: kill that host's process group, and every process left under the zygote
  (it is a child subreaper, so a double-forked daemon comes back to it); the answer is the host's
  exit code.

When the grader closes the control socket, the zygote kills everything under it and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

PRELOAD = ("openai", "openai.types.chat", "httpx2", "pydantic", "sqlite3", "json", "csv", "pytest",
           "_pytest.main", "_pytest.python", "_pytest.runner", "kata.host.server", "kata.host.transport",
           "kata.host.service_tests", "kata.protocol.codec")
OPTIONAL_PRELOAD = ("pandas", "numpy")
PR_SET_CHILD_SUBREAPER = 36


def _preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    for name in OPTIONAL_PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _children() -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                found += [int(p) for p in handle.read().split()]
    return found


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


class Zygote:
    def __init__(self, control: socket.socket, work: Path, own: Path) -> None:
        self.control, self.work, self.own = control, work, own
        self.codes: dict[int, int] = {}  # exit codes of hosts already reaped

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.codes[pid] = os.waitstatus_to_exitcode(status)

    def sweep(self) -> None:
        """Kill and reap every process under the zygote (hosts and whatever they left behind)."""
        for _ in range(20):
            children = _children()
            if not children:
                break
            for pid in children:
                _kill(pid)
            with contextlib.suppress(ChildProcessError):
                for _ in children:
                    pid, status = os.waitpid(-1, 0)
                    self.codes.setdefault(pid, os.waitstatus_to_exitcode(status))
        self.reap()

    def end(self, pid: int) -> int | None:
        _kill(pid)
        if pid not in self.codes:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(pid, 0)
                self.codes[pid] = os.waitstatus_to_exitcode(status)
        self.sweep()
        return self.codes.pop(pid, None)

    def fork(self, sock_fd: int) -> int:
        pid = os.fork()
        if pid == 0:
            self._become_host(sock_fd)  # never returns
        os.close(sock_fd)
        return pid

    def _become_host(self, sock_fd: int) -> None:
        code = 0
        try:
            os.setsid()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.control.close()
            null = os.open(os.devnull, os.O_RDWR)  # what learner code prints is not graded, nor kept
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.close(null)
            os.chdir(self.own)
            gc.unfreeze()
            from kata.host.server import run

            run(socket.socket(fileno=sock_fd), self.work)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - the grader sees the host end; nothing here is learner-facing
            code = 70
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def serve(self) -> int:
        self._answer({"ready": True, "pid": os.getpid()})
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.control, 65536, 2)
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self.sweep()
                return 0
            self.reap()
            try:
                request = json.loads(data)
            except ValueError:
                request = {}
            op = request.get("op") if isinstance(request, dict) else None
            if op == "fork" and len(fds) == 1:
                self._answer({"pid": self.fork(fds[0])})
                continue
            for fd in fds:
                os.close(fd)
            if op == "end":
                self._answer({"code": self.end(int(request.get("pid", 0)))})
            else:
                self._answer({"error": "unknown request"})

    def _answer(self, message: dict[str, Any]) -> None:
        self.control.sendall(json.dumps(message).encode() + b"\n")


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True
    control = socket.socket(fileno=int(argv[0]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle: it closes us
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
    _preload()
    gc.collect()
    gc.freeze()  # hosts then share these pages instead of copying them when the collector runs
    return Zygote(control, Path(argv[1]), Path(argv[2])).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
