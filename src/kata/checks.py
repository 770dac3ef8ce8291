"""What a hidden check is written with: the `check` decorator, `expect`, and the values learner code returns.

A check drives the learner's code through handles (`learner.load("pkg.module")`, see `kata.grader.remote`);
what comes back is plain data: `Record`s for dataclasses and pydantic models, `EnumValue`s for enum
members (`plain(value)` gives the value), real datetimes, Decimals and DataFrames. When learner code
raises, the check sees a `RemoteError` naming the exception's classes. Files the learner's code wrote
are read with `learner_file` or `open_database`, which refuse anything but a regular file of
bounded size (a FIFO or a device there cannot stall the grader).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kata import scratch
from kata.grader.remote import LearnerKilled, RemoteError
from kata.protocol.codec import EnumValue, Record, plain

__all__ = ["CheckFailed", "CheckMeta", "EnumValue", "LearnerKilled", "Record", "RemoteError", "check", "expect",
           "learner_file", "open_database", "plain"]

F = TypeVar("F", bound=Callable[..., Any])

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EXISTING_TESTS = "existing-tests"


@dataclass(frozen=True)
class CheckMeta:
    """A check's learner-facing identity, read by the plugin from the `kata_check` marker."""

    id: str
    title: str
    points: int
    cassette: str | None = None
    guard: bool = False
    hint: str = ""


class CheckFailed(AssertionError):
    """A check observed something other than what the brief promises."""

    def __init__(self, observed: str, expected: str, hint: str) -> None:
        self.observed, self.expected, self.hint = observed, expected, hint
        super().__init__(f"observed: {observed}\nexpected: {expected}\nhint: {hint}")


def check(
    id: str,
    title: str,
    *,
    points: int = 1,
    cassette: str | None = None,
    guard: bool = False,
    hint: str = "",
) -> Callable[[F], F]:
    """Mark a test function as a graded check.

    `cassette` names `fixtures/NN-slug/cassettes/<cassette>.yaml`; `guard` marks a check of
    existing behaviour (it passes on the starter); `hint` is shown when learner code raises.
    """
    if not _ID.match(id) or id == EXISTING_TESTS:
        raise ValueError(f"check id {id!r} must be kebab-case and not {EXISTING_TESTS!r}")
    if points < 1:
        raise ValueError(f"check {id!r}: points must be at least 1")
    meta = CheckMeta(id=id, title=title, points=points, cassette=cassette, guard=guard, hint=hint)

    def mark(func: F) -> F:
        return pytest.mark.kata_check(meta)(func)

    return mark


def expect(condition: object, *, observed: str, expected: str, hint: str) -> None:
    """Fail the check with a learner-facing message unless `condition` holds."""
    if not condition:
        raise CheckFailed(observed, expected, hint)


MAX_LEARNER_FILE = 64 * 1024**2


def learner_file(path: Path, limit: int = MAX_LEARNER_FILE) -> bytes | None:
    """The bytes of a file the learner's code wrote, or None when there is no such regular file.

    The file is opened without following a symbolic link and without blocking, and read only if it
    is a regular file of at most `limit` bytes: learner code cannot make the grader read a FIFO,
    a device or a link to one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    finally:
        os.close(fd)


def open_database(path: Path) -> sqlite3.Connection:
    """An SQLite connection to a private copy of the database the learner's code wrote.

    Only regular files are copied (with its `-wal` file, if any); a missing or unsafe file gives an
    empty database, so a check then reports the missing table or row in its own words."""
    folder = Path(tempfile.mkdtemp(prefix="kata-db-", dir=scratch.root()))
    copy = folder / "copy.db"
    for suffix in ("", "-wal"):
        data = learner_file(Path(f"{path}{suffix}"))
        if data is not None:
            Path(f"{copy}{suffix}").write_bytes(data)
    _COPIES.append(folder)
    conn = sqlite3.connect(copy)  # the grader's own copy: a WAL file, if any, is folded into it here
    conn.row_factory = sqlite3.Row
    return conn


_COPIES: list[Path] = []


def drop_database_copies() -> None:
    """Remove the private copies `open_database` made (the plugin calls it after each check)."""
    while _COPIES:
        shutil.rmtree(_COPIES.pop(), ignore_errors=True)
