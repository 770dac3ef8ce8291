"""The help centre's data: articles as the customer-care team writes them, and what answers are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class Passage:
    """A paragraph of an article retrieved for a question, with its cosine similarity to it."""

    article_id: str
    text: str
    score: float


@dataclass(frozen=True)
class Answer:
    """What the help centre shows for a question: a grounded answer and its sources, or that it does not know."""

    text: str
    citations: list[str] = field(default_factory=list)
    answered: bool = False
