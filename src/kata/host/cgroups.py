"""A control group per graded run: a bound on its processes, an equal share of the CPU, a bound on its memory.

`RunGroup.create()` makes one under the kit's own group (cgroup v2 when its controllers are delegated to
us, else the v1 `pids`, `cpu` and `memory` hierarchies), the run's first process joins it before it
runs anything, and `close()` kills whatever is still in it and removes it. Every run gets the same CPU
weight however many processes it starts, so a submission that starts eighty busy processes in new
sessions takes one run's share of the machine, not eighty. Where no group can be made (not root, no
delegation, macOS) `create()` returns None and says why in `unavailable()`; the launcher then bounds
processes with RLIMIT_NPROC inside the run's user namespace instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_names = itertools.count()


def _own_path(controller: str) -> str | None:
    """This process's group in a v1 hierarchy (`controller`), or in v2 (`""`)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            if controller in controllers.split(",") if controller else controllers == "":
                return path
    return None


def _v2_base() -> Path | None:
    mount = ROOT if (ROOT / "cgroup.controllers").exists() else ROOT / "unified"
    path = _own_path("")
    if path is None or not (mount / "cgroup.controllers").exists():
        return None
    base = mount / path.lstrip("/")
    controllers = set((base / "cgroup.subtree_control").read_text().split()) if base.exists() else set()
    return base if {"pids", "cpu"} <= controllers and os.access(base, os.W_OK) else None


def _v1_bases() -> dict[str, Path] | None:
    bases = {}
    for controller in ("pids", "cpu", "memory"):
        path = _own_path(controller)
        base = ROOT / controller / (path or "").lstrip("/")
        if path is None or not base.is_dir() or not os.access(base, os.W_OK):
            if controller == "memory":
                continue  # bounded per process by RLIMIT_AS anyway
            return None
        bases[controller] = base
    return bases


@dataclass
class RunGroup:
    """One run's group: its folder in each hierarchy it uses."""

    folders: list[Path]
    version: int

    @classmethod
    def create(cls, processes: int, memory_bytes: int) -> RunGroup | None:
        """A new group for one run, or None where none can be made here (see `unavailable`)."""
        if unavailable() is not None:
            return None
        name = f"kata-{os.getpid()}-{next(_names)}"
        base = _v2_base()
        if base is not None:
            settings = {base: {"pids.max": processes, "cpu.weight": 100, "memory.max": memory_bytes}}
            group = cls([], 2)
        else:
            per_controller = {"pids": {"pids.max": processes}, "cpu": {"cpu.shares": 1024},
                              "memory": {"memory.limit_in_bytes": memory_bytes}}
            settings = {folder: per_controller[c] for c, folder in (_v1_bases() or {}).items()}
            group = cls([], 1)
        try:
            for parent, values in settings.items():
                folder = parent / name
                folder.mkdir()
                group.folders.append(folder)
                for file, value in values.items():
                    if value > 0:
                        (folder / file).write_text(str(value))
        except OSError:
            group.close()
            return None
        return group

    def join(self) -> None:
        """Move this process into the group (called by the run's first process, before it runs anything)."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        with contextlib.suppress(OSError):
            return [int(p) for p in (self.folders[0] / "cgroup.procs").read_text().split()]
        return []

    def close(self) -> None:
        """Kill every process left in the group, then remove it."""
        if not self.folders:
            return
        kill = self.folders[0] / "cgroup.kill"
        if self.version == 2 and kill.exists():
            with contextlib.suppress(OSError):
                kill.write_text("1")
        for _ in range(100):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.sched_yield()
        for folder in self.folders:
            _remove(folder)
        self.folders = []


def _remove(folder: Path, patience: float = 5.0) -> bool:
    """Remove an emptied group; the kernel refuses while its last processes are still being reaped."""
    deadline = time.monotonic() + patience
    while True:
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)  # in the launcher, between runs: the reaping takes a few milliseconds


def remove_stale() -> None:
    """Remove the empty groups of launchers that are gone (one killed before it could clean up)."""
    bases = [b for b in ([_v2_base()] if _v2_base() is not None else list((_v1_bases() or {}).values())) if b]
    for base in bases:
        for folder in base.glob("kata-*-*"):
            owner = folder.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    if not (folder / "cgroup.procs").read_text().split():
                        folder.rmdir()


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """None when per-run groups can be made here, else why not (for the isolation note)."""
    if not ROOT.is_dir():
        return "control groups are not available on this system"
    if _v2_base() is None and _v1_bases() is None:
        return "no control group with the pids and cpu controllers is writable here (not root, nothing delegated)"
    return None
