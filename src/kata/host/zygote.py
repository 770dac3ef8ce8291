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
import gc
import importlib
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from kata.forking import become_subreaper, children, exit_after, kill, reaped
from kata.protocol.control import serve_requests
from kata.warmup import warm_pytest, warm_sdk

PRELOAD = ("openai", "openai.types.chat", "httpx2", "pydantic", "sqlite3", "json", "csv", "pytest",
           "_pytest.main", "_pytest.python", "_pytest.runner", "kata.host.server", "kata.host.transport",
           "kata.host.service_tests", "kata.protocol.codec")
# kata.host.telemetry brings the OpenTelemetry SDK (kata 11 builds its recorders in every check).
OPTIONAL_PRELOAD = ("pandas", "numpy", "kata.host.telemetry")


def preload() -> None:
    """Import what hosts use, so each forked host starts with it (nothing of the submission)."""
    for name in PRELOAD:
        importlib.import_module(name)
    for name in OPTIONAL_PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    warm_sdk()  # each host's first model call would otherwise build the SDK's lazy parts
    warm_pytest()  # the service's own tests run under pytest in a host


class Zygote:
    def __init__(self, control: socket.socket, work: Path, own: Path) -> None:
        self.control, self.work, self.own = control, work, own
        self.codes: dict[int, int] = {}  # exit codes of hosts already reaped
        self.live: set[int] = set()  # hosts the grader has not ended yet

    def reap(self) -> None:
        for pid, code in reaped():
            self.codes[pid] = code

    def sweep(self) -> None:
        """Kill and reap every process under the zygote but the hosts still serving a check (hosts may run
        side by side): what an ended host left behind has come back to the zygote, a subreaper."""
        for _ in range(20):
            found = [pid for pid in children() if pid not in self.live]
            if not found:
                break
            for pid in found:
                kill(pid)
            for pid in found:
                with contextlib.suppress(ChildProcessError):
                    _, status = os.waitpid(pid, 0)
                    self.codes.setdefault(pid, os.waitstatus_to_exitcode(status))
        self.reap()

    def end(self, pid: int) -> int | None:
        self.live.discard(pid)
        kill(pid)
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
        self.live.add(pid)
        return pid

    def _become_host(self, sock_fd: int) -> NoReturn:
        exit_after(lambda: self._host(sock_fd))

    def _host(self, sock_fd: int) -> None:
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.control.close()
        null = os.open(os.devnull, os.O_RDWR)  # what learner code prints is not graded, nor kept
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        os.chdir(self.own)
        # The preloaded heap stays frozen: a collection then skips it (and does not copy its pages).
        from kata.host.server import run

        run(socket.socket(fileno=sock_fd), self.work)

    def serve(self) -> int:
        return serve_requests(self.control, {"fork": self._fork_request, "end": self._end_request},
                              takes_fd={"fork"}, before_each=self.reap, at_end=self._grader_gone)

    def _fork_request(self, request: dict[str, Any], fd: int | None) -> dict[str, Any]:
        assert fd is not None  # serve_requests refuses a fork without its socket
        return {"pid": self.fork(fd)}

    def _end_request(self, request: dict[str, Any], _fd: int | None) -> dict[str, Any]:
        return {"code": self.end(int(request.get("pid", 0)))}

    def _grader_gone(self) -> None:
        self.live.clear()  # every host ends
        self.sweep()


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True
    control = socket.socket(fileno=int(argv[0]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle: it closes us
    become_subreaper()
    preload()
    gc.collect()
    gc.freeze()  # hosts then share these pages instead of copying them when the collector runs
    return Zygote(control, Path(argv[1]), Path(argv[2])).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
