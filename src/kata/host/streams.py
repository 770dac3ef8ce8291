"""Objects a check builds inside the learner host to hand to learner code (`learner.load(...)`)."""

from __future__ import annotations

import io


class RecordingOut(io.StringIO):
    """A text stream that remembers each write, like a terminal that sees text as it comes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)
