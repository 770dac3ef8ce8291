"""The golden set: questions the team answered by hand, and how well retrieval finds their articles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from helpdesk.models import Passage


class Retriever(Protocol):
    def retrieve(self, question: str, k: int | None = None) -> list[Passage]: ...


@dataclass(frozen=True)
class GoldenQuestion:
    """A question and the articles that answer it."""

    question: str
    articles: tuple[str, ...]


def load_golden(path: str | Path) -> list[GoldenQuestion]:
    """Read a golden file: a JSON list of {"question": ..., "articles": [ids]}."""
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    golden = [GoldenQuestion(item["question"], tuple(item["articles"])) for item in items]
    if not golden or any(not g.articles for g in golden):
        raise ValueError(f"{path}: every golden question needs at least one article")
    return golden


def recall_at_k(retriever: Retriever, golden: list[GoldenQuestion], k: int) -> float:
    """Mean over the questions of the share of their articles among those of the k retrieved paragraphs."""
    total = 0.0
    for item in golden:
        found = {p.article_id for p in retriever.retrieve(item.question, k)}
        total += len(found & set(item.articles)) / len(set(item.articles))
    return total / len(golden)
