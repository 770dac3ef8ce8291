"""Small process helpers shared by the forking servers (the warm grader, the host launcher and zygote)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

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
