"""Turning one submission (a folder, a zip, a bare git repository or a git bundle) into a plain folder, safely.

Whatever a submission holds, unpacking either produces a fresh folder of regular files and folders only,
within the limits, or raises `Refused` with a reason an instructor and a learner can act on; nothing of a
refused submission is left behind. The rules, the same for every kind of submission:

- every name is checked before anything is written: valid UTF-8, no control characters, no absolute
  path or `..`, no name part over 255 bytes, no path deeper than 32 folders or longer than 1024 bytes,
  and (zips) never a file and a folder of the same name;
- links are never graded: a link pointing outside the submission refuses it, links inside it are
  dropped (a loop among them is never followed), and a FIFO, socket or device refuses it unread;
- sizes are counted as bytes really come out (a zip's declared sizes can lie), against `--max-size`
  and a file count;
- git runs only as a child with a time-out, a per-file size limit (RLIMIT_FSIZE) and a thread that
  watches the destination and kills git's process group once it grows past the cap. A clone is made
  without a checkout first; the tree's listing (names and blob sizes, which git's object ids vouch for)
  is checked, and only a tree within the limits is checked out, again under the watch.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kata.instructor.records import Kind

MAX_UNPACKED_BYTES = 50 * 1024**2
MAX_FILES = 5000
MAX_DEPTH = 32  # folders: deep enough for any project, far from the recursion limits of copy and delete
MAX_NAME_BYTES = 255  # what a file name may have on Linux and macOS
MAX_PATH_BYTES = 1024
GIT_TIMEOUT = 60.0  # seconds for each git step (clone, listing, checkout)
MAX_LINK_BYTES = 4096
# Never part of a submission's code: not copied, not counted (caches, environments, version control).
SKIPPED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".venv", "venv", ".git", ".nox", ".mypy_cache",
                           ".ruff_cache", "node_modules", "__MACOSX"})
SKIPPED_SUFFIXES = (".pyc", ".egg-info")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = {i: f"\\x{i:02x}" for i in (*range(32), 127)}


class Refused(Exception):
    """A submission that is not graded, with the reason in learner- and instructor-facing words."""

    def __init__(self, reason: str, written: int | None = None) -> None:
        super().__init__(reason)
        self.written = written  # bytes on disk when unpacking was stopped (git), for the record


@dataclass(frozen=True)
class Limits:
    """How much one submission may unpack to, and how long and how much memory git may take."""

    max_bytes: int = MAX_UNPACKED_BYTES
    max_files: int = MAX_FILES
    git_timeout: float = GIT_TIMEOUT
    git_memory: int = 4096 * 1024**2


def size_text(count: int) -> str:
    """A byte count in words: `50 MB`, `1.3 MB`, `12 KB`, `300 bytes`."""
    if count >= 1024**2:
        return f"{count // 1024**2} MB" if count % 1024**2 == 0 else f"{count / 1024**2:.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count} bytes"


def show(name: str, width: int = 80) -> str:
    """A name as it can be printed: invalid UTF-8 bytes as \\xNN, control characters escaped, long names cut."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").translate(_CONTROL)
    if len(text) > width:
        text = f"{text[:40]}…{text[-30:]} ({len(name):,} characters)"
    return f"'{text}'"


def printable(text: str) -> str:
    """`text` with lone surrogates (undecodable bytes of a file name) as \\xNN escapes: safe to encode as UTF-8."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").encode(
        "utf-8", "backslashreplace").decode("utf-8")


def check_name(name: str, what: str) -> tuple[str, ...]:
    """The parts of a relative path inside a submission; Refused when writing it would be unsafe or impossible.

    `what` names the entry in the reason, e.g. "the archive entry"."""
    shown = show(name)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise Refused(f"{what} {shown} has a name that is not valid UTF-8 (rename it)")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise Refused(f"{what} {shown} has a control character in its name (rename it)")
    posix = name.replace("\\", "/")
    if posix.startswith("/") or _DRIVE.match(posix) or ".." in posix.split("/"):
        raise Refused(f"{what} {shown} would be written outside the submission")
    parts = tuple(p for p in posix.split("/") if p not in ("", "."))
    longest = max((len(p.encode()) for p in parts), default=0)
    if longest > MAX_NAME_BYTES:
        raise Refused(f"{what} {shown} has a name part of {longest:,} bytes, more than the {MAX_NAME_BYTES} "
                      "bytes a file name may have")
    if len(parts) > MAX_DEPTH:
        raise Refused(f"{what} {shown} is nested {len(parts):,} folders deep, more than the limit of {MAX_DEPTH}")
    if len("/".join(parts).encode()) > MAX_PATH_BYTES:
        raise Refused(f"{what} {shown} has a path longer than the limit of {MAX_PATH_BYTES} bytes")
    return parts


def skipped(part: str) -> bool:
    """Whether a file or folder name is left out of every copy (caches, environments, version control)."""
    return part in SKIPPED_NAMES or part.endswith(SKIPPED_SUFFIXES)


def unpack(kind: Kind, source: Path, dest: Path, limits: Limits) -> None:
    """Unpack a submission into `dest` (created here); Refused for unsafe or unreadable ones, leaving no `dest`."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        if source.is_symlink():
            raise Refused(f"the submission is a symbolic link (to {show(os.readlink(source))}); put the "
                          "folder or file itself in the submissions folder")
        if kind is Kind.ZIP:
            _regular_source(source, limits)
            dest.mkdir()
            _extract_zip(source, dest, limits)
        elif kind is Kind.GIT:
            if not source.is_dir():
                _regular_source(source, limits)
            _unpack_git(source, dest, limits)
        else:
            dest.mkdir()
            _copy_folder(source, dest, limits)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # depth and names are checked: the tree is safe to delete
        raise


def _regular_source(source: Path, limits: Limits) -> None:
    info = source.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"the submission is {_file_kind(info.st_mode)}, not a file")
    if info.st_size > limits.max_bytes:
        raise Refused(f"the file is {size_text(info.st_size)}, more than the limit of {size_text(limits.max_bytes)} "
                      "for a whole submission")


def _file_kind(mode: int) -> str:
    for test, text in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return text
    return "a special file"


# --- zip archives ----------------------------------------------------------------------------------

def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name: UTF-8 when the archive says so (zipfile decoded it); else UTF-8 if the bytes are
    valid UTF-8 (many tools write it without the flag), else cp437 as the zip format says."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def _plan_zip(archive: zipfile.ZipFile, limits: Limits) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """The files to extract, with their checked paths; Refused before anything is written."""
    members = archive.infolist()
    if len(members) > limits.max_files:
        raise Refused(f"the archive holds {len(members):,} files, more than the limit of {limits.max_files}")
    files: dict[tuple[str, ...], str] = {}
    folders: dict[tuple[str, ...], str] = {}
    plan, declared = [], 0
    for info in members:
        name = _zip_name(info)
        parts = check_name(name, "the archive entry")
        is_link = stat.S_ISLNK(info.external_attr >> 16)
        if is_link:
            with archive.open(info) as handle:  # a link's target is small; never inflate more than that
                target = handle.read(MAX_LINK_BYTES + 1).decode("utf-8", "replace")
            link = target.replace("\\", "/")
            if link.startswith("/") or _DRIVE.match(link) or ".." in link.split("/"):
                raise Refused(f"the archive entry {show(name)} is a link pointing outside the submission "
                              f"({show(target)})")
            continue  # in-tree links are dropped: a submission's code needs none
        if not parts or any(skipped(p) for p in parts):
            continue
        for depth in range(1, len(parts)):
            folders.setdefault(parts[:depth], name)
        if info.is_dir():
            folders.setdefault(parts, name)
            continue
        files[parts] = name
        declared += info.file_size
        if declared > limits.max_bytes:
            raise Refused(f"the archive unpacks to more than the limit of {size_text(limits.max_bytes)}")
        plan.append((info, parts))
    clash = files.keys() & folders.keys()
    if clash:
        raise Refused(f"the archive holds both a file and a folder named {show('/'.join(min(clash)))}")
    return plan


def _extract_zip(source: Path, dest: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            plan = _plan_zip(archive, limits)
            written = 0
            for info, parts in plan:
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                # Count what really comes out: the sizes an archive declares can lie (zip bombs).
                with archive.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        written += len(chunk)
                        if written > limits.max_bytes:
                            raise Refused("the archive unpacks to more than the limit of "
                                          f"{size_text(limits.max_bytes)}")
                        out.write(chunk)
    except Refused:
        raise
    except UnicodeDecodeError as exc:  # zipfile reads every name when it opens the archive
        raise Refused(f"an entry name in the archive is not valid UTF-8 although the archive says it is ({exc})"
                      ) from None
    except RuntimeError as exc:  # zipfile's word for an encrypted entry
        raise Refused(f"the archive cannot be unpacked ({exc}); send it without a password") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError) as exc:
        raise Refused(f"the file is not a readable zip archive ({printable(str(exc))})") from None
    except Exception as exc:  # corrupt compressed data (zlib, bz2, lzma errors): the archive is broken
        if isinstance(exc, OSError) and exc.filename is not None:
            raise  # the machine's problem (e.g. a full disk), not the archive's
        raise Refused(f"the archive is damaged and cannot be unpacked ({type(exc).__name__}: "
                      f"{printable(str(exc))})") from None


# --- folders ---------------------------------------------------------------------------------------

def walk(root: Path, what: str = "the file") -> Iterator[tuple[tuple[str, ...], str, os.stat_result]]:
    """Every entry under `root` but the skipped ones, parents before children, without following links:
    (relative parts, path, lstat). Iterative, and names are checked (Refused) before they are descended."""
    stack: list[tuple[str, tuple[str, ...]]] = [(os.fspath(root), ())]
    while stack:
        folder, parts = stack.pop()
        with os.scandir(folder) as entries:
            found = sorted(entries, key=lambda e: e.name)
        for entry in found:
            if skipped(entry.name):
                continue
            rel = (*parts, entry.name)
            check_name("/".join(rel), what)
            info = entry.stat(follow_symlinks=False)
            yield rel, entry.path, info
            if stat.S_ISDIR(info.st_mode):
                stack.append((entry.path, rel))


def _inside(path: str, base: str) -> bool:
    # realpath never raises on a loop (it stops resolving), unlike Path.resolve
    real = os.path.realpath(path)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _copy_folder(source: Path, dest: Path, limits: Limits) -> None:
    """Copy regular files and folders only; links inside are dropped, links out and special files refuse."""
    base = os.path.realpath(source)
    count = total = 0
    for rel, path, info in walk(source):
        count += 1  # every entry, as the fingerprint counts them
        if count > limits.max_files:
            raise Refused(f"the submission holds more than the limit of {limits.max_files} files and folders")
        target = dest.joinpath(*rel)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            target.mkdir()
        elif stat.S_ISLNK(mode):
            if not _inside(path, base):
                raise Refused(f"{'/'.join(rel)} is a link pointing outside the submission ({os.readlink(path)})")
        elif stat.S_ISREG(mode):
            total = _copy_file(path, target, total, limits.max_bytes, "/".join(rel))
        else:
            raise Refused(f"{show('/'.join(rel))} is {_file_kind(mode)}, not a file or a folder; it was not read")


def _copy_file(path: str, target: Path, total: int, limit: int, shown: str) -> int:
    # No link followed, never blocking: a file swapped for a FIFO or a link after the listing is not read.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as src:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{show(shown)} is {_file_kind(info.st_mode)}, not a file; it was not read")
        with open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise Refused(f"the submission is larger than the limit of {size_text(limit)}")
                out.write(chunk)
    os.chmod(target, 0o644 | (info.st_mode & 0o111))
    return total


def tree_bytes(root: Path) -> int:
    """Bytes of all files under `root` (links not followed); what unpacking has written so far."""
    total = 0
    stack = [os.fspath(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue  # removed while we looked (git renames its temporary files)
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
                    else:
                        total += info.st_size
        except OSError:
            continue
    return total


# --- git repositories and bundles ------------------------------------------------------------------

# Run as git's parent: per-file and address-space limits, then exec git. (A preexec_fn is not safe beside
# threads; Python ignores SIGXFSZ, so its default, ending the process, is restored.)
_LIMITED = """import os, resource, signal, sys
for which, value in ((resource.RLIMIT_FSIZE, int(sys.argv[1])), (resource.RLIMIT_AS, int(sys.argv[2]))):
    hard = resource.getrlimit(which)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, value))
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
os.execvp(sys.argv[3], sys.argv[3:])
"""
# No hooks, no fsmonitor, no line-ending conversion, only local transports, big blobs streamed.
_GIT_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.autocrlf=false",
               "-c", "core.bigFileThreshold=1m", "-c", "protocol.allow=never", "-c", "protocol.file.allow=always",
               "-c", "advice.detachedHead=false", "-c", "submodule.recurse=false")


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # no GIT_DIR & co. of a caller
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ALLOW_PROTOCOL="file", GIT_LFS_SKIP_SMUDGE="1")
    return env


class GitRun:
    """One git command under watch: killed (its whole process group) past `cap` bytes in `watch` or `timeout`.

    The watching thread is the only one that reaps git, so the group it kills is always git's own."""

    def __init__(self, args: list[str], *, watch: Path | None, limits: Limits, base: int = 0,
                 capture: bool = False) -> None:
        # `base`: bytes already in `watch` (a clone's history before its checkout); each file stays within
        # the limit on its own (RLIMIT_FSIZE), and all of them together within base + the limit.
        self.watch, self.base, self.limit, self.timeout = watch, base, limits.max_bytes, limits.git_timeout
        self.cap = base + limits.max_bytes
        self.stopped: str | None = None  # "size", "time" or "asked"
        self.message = ""
        self.peak = 0
        self._ask = threading.Event()
        self._err = tempfile.TemporaryFile()
        command = [sys.executable, "-I", "-S", "-c", _LIMITED, str(limits.max_bytes), str(limits.git_memory),
                   "git", *_GIT_CONFIG, *args]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=self._err, env=_git_env(),
                                     stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                                     start_new_session=True)
        self._thread = threading.Thread(target=self._guard, daemon=True)
        self._thread.start()

    def _guard(self) -> None:
        deadline = time.monotonic() + self.timeout
        interval = 0.01
        while self.proc.poll() is None:
            if self._ask.wait(interval):
                self._kill("asked")
            elif self.watch is not None:
                began = time.monotonic()
                self.peak = max(self.peak, tree_bytes(self.watch))
                if self.peak > self.cap:
                    self._kill("size")
                # Looking costs a walk of the folder: look less often when it is large.
                interval = min(0.2, max(0.01, 2 * (time.monotonic() - began)))
            if self.stopped is None and time.monotonic() > deadline:
                self._kill("time")
        self.proc.wait()

    def _kill(self, why: str) -> None:
        self.stopped = self.stopped or why
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # not reaped yet (only this thread reaps): still git's group
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self) -> None:
        """Ask for git to be killed (e.g. its output has said enough)."""
        self._ask.set()

    def finish(self) -> int:
        """Wait for git to end; its exit code (its last line of errors is then in `message`)."""
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._thread.join()
        self._err.seek(0, os.SEEK_END)
        self._err.seek(max(0, self._err.tell() - 2000))
        text = self._err.read().decode("utf-8", "replace").strip()
        self._err.close()
        self.message = text.splitlines()[-1][-200:] if text else ""
        return self.proc.returncode


def run_git(args: list[str], *, watch: Path | None, limits: Limits, step: str, base: int = 0) -> None:
    """Run one git step to its end under the watch; Refused (with the bytes written) when it was stopped.

    `step` says what git was doing, e.g. "cloning the repository"."""
    run = GitRun(args, watch=watch, limits=limits, base=base)
    code = run.finish()
    judge_git(run, code, step)


def judge_git(run: GitRun, code: int, step: str) -> None:
    """Refused when a finished git step was stopped, failed, or wrote more than its cap."""
    written = tree_bytes(run.watch) - run.base if run.watch is not None else 0
    if run.stopped == "size" or code == -signal.SIGXFSZ or written > run.limit:
        raise Refused(f"the repository unpacks to more than the limit of {size_text(run.limit)}: git was "
                      f"stopped while {step}, after writing {written:,} bytes", written)
    if run.stopped == "time":
        raise Refused(f"git took longer than the limit of {run.timeout:g} s {step} and was stopped "
                      f"({written:,} bytes written)", written)
    if code != 0:
        raise Refused(f"git failed {step} ({printable(run.message)})")


def _unpack_git(source: Path, dest: Path, limits: Limits) -> None:
    # A local clone runs none of the source's hooks; no submodules are fetched; nothing is checked out yet.
    run_git(["clone", "--quiet", "--no-checkout", "--no-hardlinks", "--", str(source.resolve()), str(dest)],
            watch=dest, limits=limits, step="cloning the repository")
    head = GitRun(["-C", str(dest), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"], watch=None,
                  limits=limits, capture=True)
    assert head.proc.stdout is not None
    found = head.proc.stdout.read(200)
    if head.finish() != 0 or not found.strip():
        raise Refused("the repository has no commit at HEAD (make a bundle with "
                      "`git bundle create NAME.bundle HEAD --all`, or push a branch)")
    check_git_tree(dest, limits)
    run_git(["-C", str(dest), "checkout", "--quiet", "--force", "HEAD"], watch=dest, limits=limits,
            step="checking out its files", base=tree_bytes(dest))
    _check_checkout(dest, limits)


def check_git_tree(dest: Path, limits: Limits) -> None:
    """Refuse a tree whose listing breaks a rule (names, files, bytes) before any of it is checked out.

    The listing is read as git writes it and stopped at the first excess: a tree that lists a billion
    files (a "git bomb" of nested trees) costs no more than the limit."""
    run = GitRun(["-C", str(dest), "ls-tree", "-r", "-z", "--long", "--full-tree", "HEAD"], watch=None,
                 limits=limits, capture=True)
    assert run.proc.stdout is not None
    count = total = 0
    pending = b""
    try:
        while chunk := run.proc.stdout.read(1 << 16):
            *records, pending = (pending + chunk).split(b"\0")
            for record in records:
                meta, _, raw = record.partition(b"\t")
                fields = meta.split()
                if len(fields) != 4 or fields[1] != b"blob":
                    continue  # a submodule (commit) is not checked out
                name = raw.decode("utf-8", "surrogateescape")
                check_name(name, "the repository's file")
                count += 1
                size = int(fields[3])
                total += size
                if count > limits.max_files:
                    raise Refused(f"the repository holds more than the limit of {limits.max_files} files; "
                                  "nothing was checked out", tree_bytes(dest))
                if total > limits.max_bytes:
                    raise Refused(f"the repository's files add up to more than the limit of "
                                  f"{size_text(limits.max_bytes)} ({show(name)} alone is {size_text(size)}); "
                                  f"nothing was checked out ({tree_bytes(dest):,} bytes of git data written)",
                                  tree_bytes(dest))
    except BaseException:
        run.stop()  # enough was read: git need not list the rest
        run.finish()
        raise
    code = run.finish()
    if run.stopped is not None or code != 0:
        judge_git(run, code, "listing its files")


def _check_checkout(dest: Path, limits: Limits) -> None:
    """After a checkout: links out refuse the submission, links inside are removed, limits hold."""
    base = os.path.realpath(dest)
    count = total = 0
    for rel, path, info in walk(dest, "the repository's file"):
        if stat.S_ISLNK(info.st_mode):
            if not _inside(path, base):
                raise Refused(f"{'/'.join(rel)} is a link pointing outside the submission ({os.readlink(path)})")
            os.unlink(path)  # links are never graded
        elif stat.S_ISREG(info.st_mode):
            count += 1
            total += info.st_size
        elif not stat.S_ISDIR(info.st_mode):
            raise Refused(f"{show('/'.join(rel))} is {_file_kind(info.st_mode)}, not a file or a folder")
    if count > limits.max_files:
        raise Refused(f"the submission holds more than the limit of {limits.max_files} files")
    if total > limits.max_bytes:
        raise Refused(f"the submission is larger than the limit of {size_text(limits.max_bytes)}")



# --- fingerprints ----------------------------------------------------------------------------------

def fingerprint(kind: Kind, source: Path, limits: Limits) -> str:
    """A digest of a submission's content, read within the limits and never following a link or reading
    anything but regular files: a changed submission is graded again.

    A folder is hashed in the order `unpack` reads it, up to the first entry or byte past a limit (such a
    submission is refused, and stays refused until a change that the digest sees)."""
    digest = hashlib.sha256(kind.value.encode())
    info = source.lstat()
    if stat.S_ISLNK(info.st_mode):
        digest.update(b"link:" + os.fsencode(os.readlink(source)))
    elif stat.S_ISREG(info.st_mode):
        digest.update(f"file {info.st_size}\0".encode())
        _hash_file(digest, os.fspath(source), limits.max_bytes + 1)
    elif stat.S_ISDIR(info.st_mode) and kind is Kind.GIT:
        _hash_refs(digest, source, limits)
    elif stat.S_ISDIR(info.st_mode):
        _hash_folder(digest, source, limits)
    else:
        digest.update(f"special {info.st_mode:o}".encode())
    return digest.hexdigest()[:16]


def _hash_file(digest: hashlib._Hash, path: str, budget: int) -> int:
    """Hash up to `budget` bytes of a regular file (opened without following a link, never blocking)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        digest.update(f"unreadable {exc.errno}".encode())
        return 0
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            digest.update(b"special")
            return 0
        read = 0
        while read < budget and (chunk := handle.read(min(1 << 20, budget - read))):
            digest.update(chunk)
            read += len(chunk)
        return read


def _hash_refs(digest: hashlib._Hash, repo: Path, limits: Limits) -> None:
    # A bare repository's objects are named by their content; its HEAD and refs say which of them count.
    for name in ("HEAD", "packed-refs"):
        digest.update(name.encode() + b"\0")
        _hash_file(digest, os.fspath(repo / name), limits.max_bytes)
    if (repo / "refs").is_dir() and not (repo / "refs").is_symlink():
        _hash_folder(digest, repo / "refs", limits)


def _hash_folder(digest: hashlib._Hash, root: Path, limits: Limits) -> None:
    budget, entries = limits.max_bytes + 1, 0
    stack: list[tuple[str, tuple[bytes, ...]]] = [(os.fspath(root), ())]
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as listing:
                found = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            digest.update(f"unlistable {exc.errno}".encode())
            continue
        for entry in found:
            if skipped(entry.name):
                continue
            entries += 1
            rel = (*parts, os.fsencode(entry.name))
            digest.update(b"/".join(rel) + b"\0")
            if entries > limits.max_files or len(rel) > MAX_DEPTH:
                digest.update(b"past a limit")
                return
            info = entry.stat(follow_symlinks=False)
            digest.update(f"{info.st_mode:o} {info.st_size}\0".encode())
            if stat.S_ISDIR(info.st_mode):
                stack.append((entry.path, rel))
            elif stat.S_ISLNK(info.st_mode):
                digest.update(os.fsencode(os.readlink(entry.path)))
            elif stat.S_ISREG(info.st_mode):
                if budget > 0:
                    budget -= _hash_file(digest, entry.path, budget)
                else:  # past the size limit (refused): a change still shows in size and time
                    digest.update(f"{info.st_mtime_ns}".encode())
