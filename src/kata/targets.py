"""What gets graded: the learner's exercise, the reference solution, a known-wrong solution, or a folder.

A target is a stack of folders copied in order into a fresh temporary folder, so grading never
writes into the learner's files and a solution only has to hold the files it changes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kata.catalog import Kata, KitError

# Left out of every copy: caches, environments and version control, never part of a submission's code.
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".pytest_cache", ".venv", "venv", ".git", ".nox", "*.egg-info", ".mypy_cache",
    ".ruff_cache", "node_modules", "change.patch", "wrong.toml", "alternative.toml",
)
PATCH = "change.patch"


@dataclass(frozen=True)
class Target:
    """A named stack of folders; later folders overwrite files of earlier ones, then patches apply."""

    label: str
    layers: tuple[Path, ...]
    patches: tuple[Path, ...] = field(default=())

    def materialize(self, dest: Path) -> None:
        """Copy the layers, in order, into `dest`, then apply the patches there."""
        dest.mkdir(parents=True, exist_ok=True)
        for layer in self.layers:
            shutil.copytree(layer, dest, symlinks=True, ignore=IGNORED, dirs_exist_ok=True)
        for patch in self.patches:
            # A known-wrong solution is usually a few changed lines: a patch shows the mistake itself.
            done = subprocess.run(["git", "apply", "--whitespace=nowarn", str(patch)], cwd=dest,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise OSError(f"{patch} does not apply: {done.stderr.strip()}")
        _drop_outward_links(dest)


def _drop_outward_links(root: Path) -> None:
    """Remove symlinks that point outside the copy: grading must not reach files beyond the target."""
    base = root.resolve()
    for path in list(root.rglob("*")):
        if path.is_symlink():
            try:
                path.resolve().relative_to(base)
            except (ValueError, OSError):
                path.unlink()


def exercise(kata: Kata) -> Target:
    """The learner's working copy, `exercises/NN-slug/`."""
    return Target("exercise", (kata.exercise_dir,))


def solution(kata: Kata) -> Target:
    """The reference solution overlaid on the starter."""
    if not kata.solution_dir.is_dir():
        raise KitError(f"{kata.solution_dir}: no reference solution for kata {kata.id}")
    return Target("solution", (kata.exercise_dir, kata.solution_dir))


def wrong(kata: Kata, overlay: Path) -> Target:
    """A known-wrong solution: starter, then the reference solution, then the overlay's files and its
    `change.patch` (a unified diff against the reference solution), either or both."""
    patches = (overlay / PATCH,) if (overlay / PATCH).is_file() else ()
    return Target(f"wrong:{overlay.name}", (*solution(kata).layers, overlay), patches)


def alternative(kata: Kata, overlay: Path) -> Target:
    """Another correct solution, written from the brief alone: starter, then the overlay."""
    return Target(f"alternative:{overlay.name}", (kata.exercise_dir, overlay))


def _unwrapped(path: Path, levels: int = 2) -> Path:
    """Inside folders that hold nothing but one folder (GitHub's "Download ZIP" gives `repo-main/`)."""
    for _ in range(levels):
        try:
            entries = [p for p in path.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        except OSError:
            return path
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink() or entries[0].name == "exercises":
            return path
        path = entries[0]
    return path


def folder(kata: Kata, path: Path) -> Target:
    """Any folder: a kit or `exercises/` folder holding `NN-slug/`, or the kata folder itself, also when it
    is wrapped in a folder of its own."""
    path = path.resolve()
    inner = _unwrapped(path)
    for candidate in (path / "exercises" / kata.name, path / kata.name, path,
                      inner / "exercises" / kata.name, inner / kata.name, inner):
        if candidate.is_dir() and (candidate / kata.spec.package).is_dir():
            return Target(str(candidate), (candidate,))
    # Graded as an error of this kata alone: a submission may hold only some of the katas.
    return Target(f"{path} (no {kata.name}/{kata.spec.package})", (path / kata.name,))
