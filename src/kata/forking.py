"""Small process helpers shared by the forking servers (the warm grader, the host launcher and zygote)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, NoReturn

PR_SET_CHILD_SUBREAPER = 36


def exit_after(body: Callable[[], int | None]) -> NoReturn:
    """In a forked child: run `body`, then leave with its exit code without running the parent's cleanup
    (atexit handlers, buffered files of the parent). `SystemExit` keeps its code; anything else is 70."""
    code = 70
    try:
        code = body() or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the parent sees the exit code; nothing here is learner-facing
        code = 70
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def kill(pid: int) -> None:
    """SIGKILL a process group led by `pid`, and the process itself (it may have left its group)."""
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, signal.SIGKILL)


def children() -> list[int]:
    """This process's children, from /proc (Linux); [] elsewhere."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                found += [int(p) for p in handle.read().split()]
    return found


def become_subreaper() -> None:
    """Orphans of this process's descendants (a double-forked daemon) become its children (Linux)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)


def spawn_connected(command_for: Callable[[int], Sequence[str]], *, cwd: os.PathLike[str] | str,
                    env: Mapping[str, str], stderr: int | IO[Any],
                    new_session: bool = True) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start the command `command_for(fd)` with `fd`, one end of a fresh Unix socket pair, passed to it;
    returns the process and our end. stdin and stdout are /dev/null. Raises OSError if it cannot be
    started (our end is then closed)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        proc = subprocess.Popen(
            list(command_for(theirs.fileno())), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(theirs.fileno(),), start_new_session=new_session,
        )
    except OSError:
        ours.close()
        raise
    finally:
        theirs.close()
    return proc, ours


def reaped() -> Iterator[tuple[int, int]]:
    """(pid, exit code) of every child that has ended, without waiting for the others."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)
