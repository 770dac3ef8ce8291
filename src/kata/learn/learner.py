"""The learner's side of the loop: the next kata, the pristine starter, reset, and the solution diff.

Where the pristine starter comes from, in this order:

1. a copy the kit keeps in `.kata/starters/NN-slug/`: taken the first time a `kata` command runs in
   a kit that is not a git checkout (a student edition unpacked from a zip, say), before the
   learner has had a reason to edit anything;
2. git: the kata's folder as committed in the branch the clone tracks (`@{upstream}`, e.g.
   `origin/main`), or in `HEAD` when there is none. A learner who commits work on top of the kit's
   history still gets the kit's version back.

Reset never loses work silently: every file it changes or removes is first copied to
`.kata/backups/NN-slug/<time>/`, and it says so.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kata.catalog import Catalog, Kata, KitError
from kata.learn.progress import Progress
from kata.targets import IGNORED

STARTERS = Path(".kata") / "starters"
BACKUPS = Path(".kata") / "backups"
# Files a learner's tools leave beside the code; never part of a kata, never reset or diffed.
NOISE = {".DS_Store", "Thumbs.db"}
NOISE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".log", ".swp", "~")


# --------------------------------------------------------------------------- files of a folder


def is_litter(name: str) -> bool:
    """Caches and editor or tool litter: never a learner's work."""
    return name in NOISE or name.endswith(NOISE_SUFFIXES)


def read_tree(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file of a kata folder, without caches and editor or tool litter."""
    found: dict[str, bytes] = {}
    if not folder.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(folder):
        ignored = IGNORED(dirpath, [*dirnames, *filenames])
        dirnames[:] = sorted(d for d in dirnames if d not in ignored)
        for name in sorted(filenames):
            if name in ignored or is_litter(name):
                continue
            path = Path(dirpath) / name
            if path.is_file():
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


# --------------------------------------------------------------------------- the pristine starter


@dataclass(frozen=True)
class Starter:
    """The kata's folder as the kit ships it, and where that copy came from."""

    files: dict[str, bytes]
    source: str


def _git(root: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], input=input, capture_output=True, check=False)


def _in_git(root: Path) -> bool:
    """Whether the kit is inside a git work tree (a cheap look for `.git`, no subprocess)."""
    return any((folder / ".git").exists() for folder in (root, *root.parents))


def _from_git(root: Path, name: str) -> Starter | None:
    if shutil.which("git") is None or not _in_git(root):
        return None
    for ref in ("@{upstream}", "HEAD"):
        named = _git(root, "rev-parse", "--abbrev-ref", ref)
        commit = _git(root, "rev-parse", "--short", ref)
        if commit.returncode != 0:
            continue
        folder = f"exercises/{name}"
        listing = _git(root, "ls-tree", "-r", "-z", ref, "--", folder)
        entries = []
        for line in listing.stdout.split(b"\0"):
            if not line:
                continue
            meta, path = line.split(b"\t", 1)
            mode, kind, sha = meta.split()
            if kind == b"blob" and mode != b"120000":
                entries.append((path.decode()[len(folder) + 1:], sha.decode()))
        if not entries:
            return None  # the kata is not committed (yet): git cannot tell its starter
        blobs = _git(root, "cat-file", "--batch", input="".join(f"{sha}\n" for _, sha in entries).encode())
        files, data = {}, blobs.stdout
        for rel, _sha in entries:
            header, data = data.split(b"\n", 1)
            size = int(header.split()[2])
            files[rel], data = data[:size], data[size + 1:]
        label = named.stdout.decode().strip() if ref != "HEAD" else "HEAD"
        where = f"git {label} ({commit.stdout.decode().strip()})"
        return Starter({k: v for k, v in files.items() if not is_litter(Path(k).name)}, where)
    return None


def _kept_dir(kata: Kata) -> Path:
    return kata.root / STARTERS / kata.name


def _from_kept_copy(root: Path, name: str) -> Starter | None:
    folder = root / STARTERS / name
    if not folder.is_dir():
        return None
    note = folder.with_suffix(".json")
    taken = json.loads(note.read_text(encoding="utf-8")).get("taken_at", "?") if note.is_file() else "?"
    return Starter(read_tree(folder), f"the copy the kit kept on {taken}")


def starter(kata: Kata) -> Starter | None:
    """The pristine starter of a kata: the kit's kept copy, else git; None when neither has it."""
    return _from_kept_copy(kata.root, kata.name) or _from_git(kata.root, kata.name)


def lost_kata(root: Path, kata_id: str) -> tuple[str, Starter] | None:
    """A kata whose exercise folder is gone: its folder name and starter, from the kept copy or git."""
    wanted = kata_id.split("-", 1)[0].zfill(2)
    names = {p.name for p in (root / STARTERS).iterdir() if p.is_dir()} if (root / STARTERS).is_dir() else set()
    if shutil.which("git") is not None and _in_git(root):
        listing = _git(root, "ls-tree", "--name-only", "HEAD", "exercises/")
        names |= {Path(line).name for line in listing.stdout.decode(errors="replace").splitlines()}
    for name in sorted(n for n in names if n[:2] == wanted and not (root / "exercises" / n).exists()):
        found = _from_kept_copy(root, name) or _from_git(root, name)
        if found is not None and found.files:
            return name, found
    return None


def restore(root: Path, name: str, pristine: Starter) -> int:
    """Write a lost kata's starter back to `exercises/<name>/`; returns the number of files written."""
    folder = root / "exercises" / name
    for rel, data in pristine.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(pristine.files)


def keep_starters(catalog: Catalog) -> list[str]:
    """Outside git, keep a copy of each kata folder the kit has not copied yet; returns their names.

    Called by every learner command, so the copy is taken on the first `kata list`, before any edit.
    """
    if _in_git(catalog.root):
        return []
    kept = []
    for kata in catalog.katas:
        dest = _kept_dir(kata)
        if dest.exists() or not kata.exercise_dir.is_dir():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(kata.exercise_dir, partial, ignore=IGNORED)
        now = dt.datetime.now().isoformat(timespec="seconds")
        dest.with_suffix(".json").write_text(json.dumps({"taken_at": now, "from": str(kata.exercise_dir)}))
        partial.rename(dest)  # a copy interrupted half-way is never taken for the starter
        kept.append(kata.name)
    return kept


# --------------------------------------------------------------------------- reset


@dataclass
class Changes:
    """How a folder differs from the starter."""

    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # in the starter, missing now
    added: list[str] = field(default_factory=list)  # new files of the learner's

    @property
    def any(self) -> bool:
        return bool(self.modified or self.deleted or self.added)


def compare(current: dict[str, bytes], pristine: dict[str, bytes]) -> Changes:
    """What differs between the learner's files and the starter's."""
    return Changes(
        modified=sorted(p for p in current.keys() & pristine.keys() if current[p] != pristine[p]),
        deleted=sorted(pristine.keys() - current.keys()),
        added=sorted(current.keys() - pristine.keys()),
    )


@dataclass
class ResetOutcome:
    """What `reset` did: the changes it undid and where the learner's versions were saved."""

    changes: Changes
    backup: Path | None


def reset(kata: Kata, pristine: Starter, now: dt.datetime | None = None) -> ResetOutcome:
    """Restore the starter: save changed and added files to `.kata/backups/`, then write the starter's."""
    folder = kata.exercise_dir
    current = read_tree(folder)
    changes = compare(current, pristine.files)
    if not changes.any:
        return ResetOutcome(changes, None)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    backup = kata.root / BACKUPS / kata.name / stamp
    for rel in changes.modified + changes.added:
        dest = backup / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(current[rel])
    for rel in changes.modified + changes.deleted:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pristine.files[rel])
    for rel in changes.added:
        (folder / rel).unlink()
        parent = (folder / rel).parent
        while parent != folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return ResetOutcome(changes, backup)


# --------------------------------------------------------------------------- the solution


class NoSolution(KitError):
    """This edition of the kit carries no reference solutions."""


@dataclass
class FileDiff:
    """One file of the reference solution against the learner's."""

    path: str
    kind: str  # "changed", "added by the solution", "only in yours", "binary"
    diff: list[str] = field(default_factory=list)


@dataclass
class SolutionView:
    """The reference solution as a diff against the learner's files, and its SOLUTION.md."""

    notes: str
    files: list[FileDiff]
    base: str  # what the solution was laid over: the starter (and where from) or the learner's files


def solution_view(kata: Kata, pristine: Starter | None) -> SolutionView:
    """The reference solution (starter + `solutions/NN-slug/`) against the learner's current files."""
    if not kata.solution_dir.is_dir():
        raise NoSolution(
            f"This edition of the kit has no reference solutions (no {kata.solution_dir.relative_to(kata.root)}): "
            "it is a student edition. Your instructor has them; ask them, or compare notes with a peer."
        )
    overlay = read_tree(kata.solution_dir)
    notes = overlay.pop("SOLUTION.md", b"").decode("utf-8", errors="replace")
    current = read_tree(kata.exercise_dir)
    base = pristine.files if pristine is not None else current
    reference = {**base, **overlay}
    files = []
    for rel in sorted(reference.keys() | current.keys()):
        mine, theirs = current.get(rel), reference.get(rel)
        if mine == theirs:
            continue
        if theirs is None:
            files.append(FileDiff(rel, "only in yours"))
            continue
        try:
            old = (mine or b"").decode("utf-8").splitlines(keepends=True)
            new = theirs.decode("utf-8").splitlines(keepends=True)
        except UnicodeDecodeError:
            files.append(FileDiff(rel, "binary"))
            continue
        diff = list(difflib.unified_diff(old, new, f"yours/{rel}" if mine is not None else "/dev/null",
                                         f"solution/{rel}"))
        files.append(FileDiff(rel, "changed" if mine is not None else "added by the solution", diff))
    where = (f"the starter ({pristine.source}) with the solution's files" if pristine is not None
             else "your files with the solution's files (no pristine starter found, so files the solution "
                  "does not touch are shown as yours)")
    return SolutionView(notes=notes, files=files, base=where)


# --------------------------------------------------------------------------- next


def changed(kata: Kata) -> bool | None:
    """Whether the learner's folder differs from the starter (None when no pristine starter is known)."""
    pristine = starter(kata)
    if pristine is None or not kata.exercise_dir.is_dir():
        return None
    return compare(read_tree(kata.exercise_dir), pristine.files).any


def next_kata(catalog: Catalog, progress: Progress) -> Kata | None:
    """The first kata, in catalog order, not yet passed. Without hidden checks nothing can pass, so there it
    is the first kata the learner has not changed yet."""
    for kata in catalog.katas:
        if not kata.has_hidden_checks:
            if not changed(kata):
                return kata
        elif progress.status(kata.id) != "passed":
            return kata
    return None


def brief_opening(kata: Kata, limit: int = 700) -> str:
    """The brief's first paragraph of prose (its story), cut at a sentence near `limit` characters."""
    path = kata.exercise_dir / "README.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    for block in text.split("\n\n"):
        block = block.strip()
        if not block or block.startswith(("#", "**", "|", "```", "-", "*", ">")) or block.lower().startswith("skills"):
            continue
        paragraph = " ".join(line.strip() for line in block.splitlines())
        if len(paragraph) <= limit:
            return paragraph
        cut = paragraph[:limit]
        return cut[: cut.rfind(". ") + 1] or cut + "..."
    return ""
