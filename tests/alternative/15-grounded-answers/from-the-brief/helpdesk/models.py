"""The help centre's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel


@dataclass(frozen=True)
class Article:
    """One help-centre article. `id` is the number the team quotes, such as `KB-104`."""

    id: str
    title: str
    body: str
    updated_at: datetime | None = None

    @property
    def url(self) -> str:
        """Where the web shop shows the article."""
        return f"/help/{self.id.lower()}"


class Passage(NamedTuple):
    """A retrieved paragraph."""

    article_id: str
    text: str
    score: float


class Answer(BaseModel):
    """The answer box's content."""

    text: str
    citations: tuple[str, ...] = ()
    answered: bool = False
