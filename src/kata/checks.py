"""What a hidden check is written with: the `check` decorator and `expect`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

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
