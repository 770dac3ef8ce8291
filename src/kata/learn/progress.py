"""The learner's local progress: last grade and hints shown per kata, in a git-ignored file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from kata.outputs.results import KataResult

PROGRESS_FILE = Path(".kata") / "progress.json"


class Entry(BaseModel):
    score: int = 0
    max_score: int = 0
    passed: bool = False
    hidden_checks: bool = True  # false: the edition has no hidden checks, so the grade was only the service tests
    graded_at: str | None = None
    hints_shown: int = 0


class ProgressData(BaseModel):
    katas: dict[str, Entry] = Field(default_factory=dict)


class Progress:
    """Reads and atomically rewrites `.kata/progress.json` under the kit root."""

    def __init__(self, root: Path) -> None:
        self.path = root / PROGRESS_FILE
        self.data = ProgressData()
        if self.path.is_file():
            try:
                self.data = ProgressData.model_validate_json(self.path.read_text(encoding="utf-8"))
            except ValueError:
                self.data = ProgressData()  # a corrupt file only loses progress display, never grading

    def entry(self, kata_id: str) -> Entry:
        return self.data.katas.get(kata_id, Entry())

    def status(self, kata_id: str) -> str:
        """`not started`, `in progress` or `passed`; without hidden checks `service tests pass` or `... fail`."""
        entry = self.data.katas.get(kata_id)
        if entry is None or entry.graded_at is None:
            return "not started"
        if not entry.hidden_checks:
            return "service tests pass" if entry.score == entry.max_score else "service tests fail"
        return "passed" if entry.passed else "in progress"

    def record_grade(self, result: KataResult, graded_at: str) -> None:
        entry = self.data.katas.setdefault(result.id, Entry())
        entry.score, entry.max_score, entry.passed = result.score, result.max_score, result.passed
        entry.hidden_checks = result.hidden_checks
        entry.graded_at = graded_at

    def forget_grade(self, kata_id: str) -> None:
        """After a reset: the kata is not started again, its hints stay shown."""
        entry = self.data.katas.get(kata_id)
        if entry is not None:
            self.data.katas[kata_id] = Entry(hints_shown=entry.hints_shown)

    def show_hint(self, kata_id: str, total: int) -> int:
        """Reveal one more hint (up to `total`); returns how many are shown now."""
        entry = self.data.katas.setdefault(kata_id, Entry())
        entry.hints_shown = min(total, entry.hints_shown + 1)
        return entry.hints_shown

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.data.model_dump_json(indent=2))
        os.replace(tmp, self.path)
