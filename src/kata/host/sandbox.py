"""Isolation for grading code the instructor did not write: resource limits and a Linux sandbox.

`wrap(command, ...)` returns the command prefixed with a small launcher (`python -m kata.host.sandbox`)
that, before it execs the grader:

- sets resource limits (CPU seconds, address space, size of a written file, open files);
- when Linux namespaces are available (`unshare`, user namespaces), runs in new user, mount, PID and
  network namespaces: no network interface but a loopback that is down; every mount read-only but
  the grade's own folder (temporary files go there too); the instructor's private folders
  (solutions, hidden checks, known-wrong solutions, fixtures, submissions, outputs) covered by empty
  read-only folders; then a second user namespace locks those mounts so the code inside cannot undo
  them.

Where namespaces are unavailable (macOS, containers that forbid them) only the limits apply, and
`probe()` says why, so reports can say how a run was isolated.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from kata import scratch

UNSHARE = ("unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child",
           "--mount-proc")

# mount(2) flags (linux/mount.h)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
SHARED_RAM_SIZE = "64m"  # room for what POSIX semaphores and shared memory of one run need
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x10000000, 0x40000000, 0x20000000
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits of a graded run (0 means no limit)."""

    cpu_seconds: int = 120
    memory_bytes: int = 4 * 1024**3  # address space: the SDK and pandas map a lot of virtual memory
    file_bytes: int = 64 * 1024**2  # largest file the submission may write
    open_files: int = 512
    # Processes of the whole run at once (a cgroup's pids.max, else RLIMIT_NPROC in the run's user namespace):
    # a fork storm stops there, and with its CPU share it cannot slow the other learners' runs.
    processes: int = 64


@dataclass(frozen=True)
class Isolation:
    """How to isolate one graded run: limits always, the namespace sandbox when asked for."""

    limits: Limits = field(default_factory=Limits)
    sandbox: bool = True
    hidden: tuple[str, ...] = ()  # folders the graded code must not see (absolute paths)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Isolation:
        data = json.loads(text)
        return cls(limits=Limits(**data["limits"]), sandbox=bool(data["sandbox"]), hidden=tuple(data["hidden"]))

    @property
    def namespaced(self) -> bool:
        """Whether the namespace sandbox is asked for and works here."""
        return self.sandbox and probe() is None


KIT_PRIVATE = (".git", "solutions", "tests", "fixtures", ".kata", "benchmarks", "docs")


def private_folders(kit_root: Path, *more: Path) -> tuple[str, ...]:
    """Folders graded code must not see: the kit's history, solutions, checks, cassettes and the learner's
    progress, and `more` (other submissions, outputs). A folder that holds Python or the kit's own code
    is never covered: that would stop grading altogether."""
    keep = [Path(p).resolve() for p in (sys.prefix, Path(__file__).parent)]
    hidden = []
    for path in (*(kit_root / name for name in KIT_PRIVATE), *more):
        path = path.resolve()
        if path.exists() and not any(k == path or path in k.parents for k in keep):
            hidden.append(str(path))
    return tuple(hidden)


@lru_cache(maxsize=1)
def probe() -> str | None:
    """None when the namespace sandbox works here, else the reason it does not."""
    if sys.platform != "linux":
        return f"Linux namespaces are not available on {sys.platform}"
    if shutil.which("unshare") is None:
        return "the `unshare` command (util-linux) is not installed"
    try:
        done = subprocess.run([*UNSHARE, sys.executable, "-I", "-m", "kata.host.sandbox", "--probe"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`unshare` failed: {exc}"
    if done.returncode != 0 or done.stdout.strip() != "sandboxed":
        return "user namespaces are not permitted here: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return None


def gaps(isolation: Isolation) -> list[str]:
    """What isolation this machine cannot give a run of `isolation`, in words (empty: all of it)."""
    from kata.host import cgroups  # only the gaps need it

    found = []
    if not isolation.sandbox:
        found.append("the namespace sandbox is turned off")
    elif probe() is not None:
        found.append(f"no namespace sandbox ({probe()})")
    if cgroups.unavailable() is not None:
        if isolation.namespaced and os.getuid() != 0:
            found.append("no control group per run: processes are bounded in the run's user namespace, "
                         "CPU is not shared out per run")
        else:
            found.append(f"no bound on a run's processes or CPU share ({cgroups.unavailable()})")
    return found


def wrap(command: list[str], own_dir: Path, isolation: Isolation, readable: tuple[Path, ...] = ()) -> list[str]:
    """The command that runs `command` under `isolation`; `own_dir` stays writable inside, `readable`
    folders (inside hidden ones) are shown again read-only.

    The launcher runs as `python -I` from a working folder the caller chooses outside the submission,
    so nothing of the submission can run before the sandbox is complete."""
    spec = {"limits": asdict(isolation.limits), "own": str(own_dir), "hidden": list(isolation.hidden),
            "readable": [str(p) for p in readable], "sandbox": isolation.sandbox and probe() is None}
    launcher = [sys.executable, "-I", "-m", "kata.host.sandbox", json.dumps(spec), "--", *command]
    if not spec["sandbox"]:
        return launcher
    # If the grader itself is killed, `unshare` and everything under it die with it (no orphans).
    orphan_guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    return [*orphan_guard, *UNSHARE, *launcher]


# --- inside the launcher --------------------------------------------------------------------------

def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc: ctypes.CDLL, source: str, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    if libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), target)


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            points.append(point)
    return points


def apply_limits(limits: Mapping[str, int] | None) -> None:
    """Set the limits of `Limits` (as a dict, e.g. `asdict(Limits())`) on this process; 0 means none.

    Called in the launcher before it execs the grader, and in the warm grader's forked child."""
    if not limits:
        return
    for name, value in (("cpu_seconds", resource.RLIMIT_CPU), ("memory_bytes", resource.RLIMIT_AS),
                        ("file_bytes", resource.RLIMIT_FSIZE), ("open_files", resource.RLIMIT_NOFILE)):
        amount = int(limits.get(name) or 0)
        if amount > 0:
            resource.setrlimit(value, (amount, amount))


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def _make_room(inside: list[str], cover: str) -> None:
    """Make, in the empty file system just mounted on `cover`, the places of the folders in `inside` that
    lie under it (each is bound back there afterwards)."""
    for path in inside:
        if _within(path, cover):
            os.makedirs(path, exist_ok=True)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def unshare_run() -> None:
    """As `unshare --user --map-root-user --net --mount --pid`, in this (single-threaded) process: the next
    child it forks is the first process of a new PID namespace, with no network and private mounts."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1\n")
    _write("/proc/self/gid_map", f"0 {gid} 1\n")


def mount_proc() -> None:
    """In the first process of a new PID namespace: a /proc that shows only this namespace (`--mount-proc`)."""
    libc = _libc()
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | 8)  # 8: MS_NOEXEC


def die_with_parent() -> None:
    """SIGKILL this process when the one that forked it ends (Linux only)."""
    if sys.platform == "linux":
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def limit_processes(count: int) -> None:
    """RLIMIT_NPROC, inside a user namespace of the run's own only: the kernel counts processes per user and
    namespace, so this bounds the run and nothing else (outside one it would count the user's whole session)."""
    if count > 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (count, count))


def enter_sandbox(own: str, hidden: list[str], readable: list[str] | None = None) -> None:
    """Make the file system read-only but for `own`, give the run a /dev/shm of its own, cover `hidden`
    with empty folders, show `readable` folders again read-only, lock it all."""
    libc = _libc()
    cwd = os.getcwd()
    own_fd = os.open(own, os.O_PATH)
    shown = [(path, os.open(path, os.O_PATH)) for path in readable or [] if os.path.isdir(path)]
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    for point in reversed(_mount_points()):
        if point.startswith(("/proc", "/dev")):
            continue
        try:  # read-only; mounts the kernel refuses to change (locked flags) stay as they are
            _mount(libc, "none", point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        except OSError:
            pass
    inside = [own, *(path for path, _ in shown)]  # bound back below, into whatever covers them
    shared_ram = str(scratch.SHARED_MEMORY)
    if os.path.isdir(shared_ram):
        # Writable by every process of the machine (the loop above leaves /dev alone): a channel between
        # learners, and RAM outside the run's limits. The run gets an empty, small one of its own.
        _mount(libc, "tmpfs", shared_ram, "tmpfs", MS_NOSUID | MS_NODEV, f"size={SHARED_RAM_SIZE},mode=1777")
        _make_room(inside, shared_ram)
    for path in hidden:
        if not os.path.isdir(path):
            continue
        _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV)
        _make_room(inside, path)
        _mount(libc, "none", path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path, fd in shown:
        _mount(libc, f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(libc, "none", path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    _mount(libc, f"/proc/self/fd/{own_fd}", own, None, MS_BIND)  # the one writable place:
    _mount(libc, "none", own, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)  # a bind copies read-only
    os.close(own_fd)
    # A second user namespace: the mounts above become locked there, so `umount` cannot reveal
    # what they cover, whatever privileges the code inside gains in its own namespace.
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    os.chdir(cwd)


def main(argv: list[str]) -> int:
    """`python -m kata.host.sandbox SPEC -- COMMAND...`: isolate, then exec COMMAND."""
    if argv == ["--probe"]:
        try:
            enter_sandbox(os.getcwd(), [])
        except OSError as exc:
            print(exc, file=sys.stderr)
            return 1
        print("sandboxed")
        return 0
    spec, command = json.loads(argv[0]), argv[2:]
    if not spec["sandbox"]:
        die_with_parent()  # die with the grader, as under `unshare`
    try:
        if spec["sandbox"]:
            enter_sandbox(spec["own"], spec["hidden"], spec.get("readable", []))
            limit_processes(int(spec["limits"].get("processes") or 0))
        # /tmp is read-only in the sandbox: temporary files go to the grade's own folder.
        os.makedirs(os.path.join(spec["own"], "tmp"), exist_ok=True)
        os.environ["TMPDIR"] = os.path.join(spec["own"], "tmp")
        apply_limits(spec["limits"])
    except OSError as exc:
        print(f"kata sandbox: could not isolate the run: {exc}", file=sys.stderr)
        return 125
    os.execv(command[0], command)
    return 127  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
