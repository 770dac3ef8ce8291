"""The host launcher: one warm process per `kata` command that starts every graded run's learner hosts.

`kata.host.zygote` imports the SDK, pydantic, pandas and pytest before it can fork a host, which costs
more than a second of CPU. Started once per run, that was most of the time of a graded kata. The
launcher (`python -I -m kata.host.launcher CONTROL_FD`, started by the runner from `/` with an
allow-listed environment) imports them once and, for each run the runner asks for, forks a *keeper*:

1. the keeper joins the run's control group (`cgroups.RunGroup`, made here before the fork), takes the
   run's environment and working folder;
2. where namespaces work it unshares user, mount, network and PID namespaces in-process (as `unshare
   --user --map-root-user --net --mount --pid`) and forks the first process of the new PID namespace,
   which mounts its own /proc, completes the sandbox (`sandbox.enter_sandbox`: read-only but the run's
   own folder, private folders covered, mounts locked), sets the limits, and becomes the run's zygote;
3. the zygote says "ready" to the grader over the socket the runner passed along, and forks a host per
   check exactly as a zygote started on its own would.

Nothing of the submission is read before step 2 is complete: the launcher and the keeper never import
it, and a host puts the submission on `sys.path` only once it serves. The runner asks over the control
socket (JSON lines, descriptors by SCM_RIGHTS):

- `{"op": "run", "work", "own", "readable", "hidden", "limits", "env", "namespaced"}` with the grader's
  socket: start a run; the answer is the keeper's pid;
- `{"op": "end", "pid": N}`: kill that run and everything it started (its group, its namespace);

When the control socket ends, the launcher ends every run it started and exits.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from kata.forking import become_subreaper, children, exit_after, kill, reaped
from kata.host import cgroups, sandbox
from kata.host.zygote import Zygote, preload
from kata.protocol.control import serve_requests


class Launcher:
    """The launcher's loop and the runs it keeps."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.runs: dict[int, cgroups.RunGroup | None] = {}  # keeper pid -> its group

    def serve(self) -> int:
        return serve_requests(
            self.control, {"run": self._run_request, "end": self._end_request}, takes_fd={"run"},
            before_each=self.reap, at_end=self._runner_gone)

    def _run_request(self, request: dict[str, Any], fd: int | None) -> dict[str, Any]:
        assert fd is not None  # serve_requests refuses a run without its socket
        return self.start(request, fd)

    def _end_request(self, request: dict[str, Any], _fd: int | None) -> dict[str, Any]:
        self.end(int(request.get("pid", 0)))
        return {"ended": True}

    def _runner_gone(self) -> None:
        for pid in list(self.runs):
            self.end(pid)

    def start(self, request: dict[str, Any], run_fd: int) -> dict[str, Any]:
        limits = request.get("limits") or {}
        group = cgroups.RunGroup.create(int(limits.get("processes") or 0), int(limits.get("memory_bytes") or 0))
        pid = os.fork()
        if pid == 0:
            exit_after(lambda: _keep(request, run_fd, self.control, group))
        os.close(run_fd)
        self.runs[pid] = group
        return {"pid": pid}

    def end(self, pid: int) -> None:
        """Kill a run: its keeper (whose death kills its namespace), its group, and any orphan it left."""
        if pid not in self.runs:
            return
        group = self.runs.pop(pid)
        kill(pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        # A subreaper: the run's processes come back here as they lose their parents. Reap them before the
        # group is removed (the kernel keeps a group busy while a zombie of it is left).
        for _ in range(20):
            orphans = set(children()) - set(self.runs)
            if not orphans:
                break
            for orphan in orphans:
                kill(orphan)
            for orphan in orphans:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(orphan, 0)
        if group is not None:
            group.close()
        self.reap()

    def reap(self) -> None:
        for pid, _code in reaped():
            group = self.runs.pop(pid, None)
            if group is not None:
                group.close()


def _keep(request: dict[str, Any], run_fd: int, control: socket.socket, group: cgroups.RunGroup | None) -> int:
    """The keeper: into the run's group, environment and namespaces; then the run's zygote (or its parent)."""
    os.setsid()
    sandbox.die_with_parent()  # a launcher that is killed takes its runs with it
    control.close()
    if group is not None:
        group.join()
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})
    tempfile.tempdir = None
    os.chdir(request["own"])
    if not request.get("namespaced"):
        return _zygote(request, run_fd, group, namespaced=False)
    try:
        sandbox.unshare_run()
    except OSError as exc:
        _refuse(run_fd, f"the sandbox could not be made ({exc})")
        return 125
    pid = os.fork()
    if pid == 0:  # the first process of the run's PID namespace
        exit_after(lambda: _first_process(request, run_fd, group))
    os.close(run_fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _first_process(request: dict[str, Any], run_fd: int, group: cgroups.RunGroup | None) -> int:
    sandbox.die_with_parent()  # the launcher ends a run by killing its keeper
    try:
        sandbox.mount_proc()
        sandbox.enter_sandbox(request["own"], list(request.get("hidden") or []), list(request.get("readable") or []))
    except OSError as exc:
        _refuse(run_fd, f"the sandbox could not be made ({exc})")
        return 125
    return _zygote(request, run_fd, group, namespaced=True)


def _zygote(request: dict[str, Any], run_fd: int, group: cgroups.RunGroup | None, namespaced: bool) -> int:
    own = request["own"]
    os.makedirs(os.path.join(own, "tmp"), exist_ok=True)
    os.environ["TMPDIR"] = os.path.join(own, "tmp")
    limits = dict(request.get("limits") or {})
    try:
        if namespaced and group is None:  # the run's own user namespace: RLIMIT_NPROC bounds this run only
            sandbox.limit_processes(int(limits.get("processes") or 0))
        sandbox.apply_limits(limits)
    except (OSError, ValueError) as exc:
        _refuse(run_fd, f"the run's limits could not be set ({exc})")
        return 125
    become_subreaper()
    return Zygote(socket.socket(fileno=run_fd), Path(request["work"]), Path(own)).serve()


def _refuse(run_fd: int, why: str) -> None:
    with contextlib.suppress(OSError):
        os.write(run_fd, json.dumps({"ready": False, "why": why}).encode() + b"\n")


def main(argv: list[str]) -> NoReturn:
    sys.dont_write_bytecode = True
    control = socket.socket(fileno=int(argv[0]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle: it closes us
    become_subreaper()
    if cgroups.unavailable() is None:
        cgroups.remove_stale()
    preload()
    gc.collect()
    gc.freeze()  # runs then share these pages instead of copying them when the collector runs
    exit_after(Launcher(control).serve)


if __name__ == "__main__":
    main(sys.argv[1:])
