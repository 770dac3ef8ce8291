"""Cassette plays: how often each recorded interaction was answered, counted per cassette.

A grader adds each check's counts to its run's total, and the runner adds up the totals of a run's
shards the same way. (Kept apart from `kata.grader.replay`, which brings VCR, so that the runner
stays light.)"""

from __future__ import annotations

from collections.abc import Sequence


def add_plays(total: dict[str, list[int]], cassette: str, counts: Sequence[int]) -> None:
    """Add one cassette's play counts (one per interaction, in cassette order) to `total`."""
    known = total.setdefault(cassette, [0] * len(counts))
    total[cassette] = [a + b for a, b in zip(known, counts, strict=False)] or list(counts)
