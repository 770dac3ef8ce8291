"""A fake clock for checks: time passes only when the code under test waits on it."""

from __future__ import annotations


class FakeClock:
    """Implements the clock protocol the briefs use: `monotonic()`, `time()`, `sleep(seconds)`."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        """Advance time by `seconds` (negative waits are recorded but do not move time back)."""
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Let time pass without the code under test waiting (e.g. a cool-down elapsing)."""
        self._now += seconds
