"""The help centre: importing the team's articles, the search box, and answers grounded in the articles."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import openai

from helpdesk import grounding
from helpdesk.config import Settings
from helpdesk.importer import read_folder
from helpdesk.index import ChunkIndex
from helpdesk.models import Answer, Article, Passage
from helpdesk.repository import ArticleRepository
from helpdesk.search import rank, search_terms

log = logging.getLogger(__name__)

DONT_KNOW = "Sorry, the help centre has no answer to that. Try the search, or write to our team."


class HelpCentre:
    """What the web shop and the team's tools call."""

    def __init__(self, repo: ArticleRepository, settings: Settings | None = None, client: Any = None) -> None:
        self.repo = repo
        self.settings = settings or Settings(db_path=repo.db_path)
        # The model is only reached through the client the caller gives; None: search only, no answers.
        self.client = client
        self.chunks = ChunkIndex(repo.db_path, self.settings.embedding_model, self.settings.embedding_dimensions)

    def import_folder(self, folder: str | Path) -> int:
        """Store every article of a folder of Markdown files (new or changed); returns how many were read."""
        articles = read_folder(folder)
        for article in articles:
            self.repo.upsert(article)
        return len(articles)

    def search(self, query: str) -> list[Article]:
        """The articles that best match the words of `query`, best first (at most settings.max_results)."""
        hits: dict[str, tuple[Article, int, int]] = {}
        for term in search_terms(query, self.settings.min_term_length):
            for article, in_title in self.repo.matching(term):
                _, count, title_count = hits.get(article.id, (article, 0, 0))
                hits[article.id] = (article, count + 1, title_count + int(in_title))
        return rank(hits, self.settings.max_results)

    def article(self, article_id: str) -> Article:
        """The article with this id; raises LookupError when there is none."""
        article = self.repo.get(article_id.strip().upper())
        if article is None:
            raise LookupError(f"no article {article_id}")
        return article

    # ------------------------------------------------------------------ grounded answers

    def index(self) -> int:
        """Bring the paragraphs and their embeddings up to date with the articles; returns how many were embedded.

        Only paragraphs whose text has no embedding yet (for the configured model and size) are sent.
        """
        if self.client is None:
            return 0
        return self.chunks.sync(self.repo.all(), self._embed)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The (at most k, default settings.top_k) paragraphs most similar to the question, best first,
        leaving out those below settings.min_similarity."""
        k = self.settings.top_k if k is None else k
        if self.client is None or not question.strip() or k < 1:
            return []
        chunks, matrix = self.chunks.vectors()
        if not chunks:
            return []
        query = np.asarray(self._embed([question])[0], dtype=np.float32)
        # The vectors are unit length, so the dot product is the cosine; normalise anyway in case a
        # live model's are not.
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
        scores = (matrix @ query) / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-scores, kind="stable")  # ties keep the index's order: article id, position
        passages = []
        for i in order[:k]:
            if scores[i] < self.settings.min_similarity:
                break
            article_id, text = chunks[i]
            passages.append(Passage(article_id=article_id, text=text, score=float(scores[i])))
        return passages

    def answer(self, question: str) -> Answer:
        """A short answer drawn only from the retrieved paragraphs, citing their articles; or "I don't know"."""
        passages = self.retrieve(question)
        if not passages:
            return Answer(text=DONT_KNOW)  # nothing relevant: no answer request at all
        try:
            completion = self.client.chat.completions.parse(
                model=self.settings.answer_model,
                messages=grounding.messages(question.strip(), passages),
                response_format=grounding.GroundedAnswer,
                timeout=self.settings.request_timeout,
            )
        except (openai.APIError, ValueError) as err:  # ValueError: pydantic's, for a malformed answer
            log.warning("no grounded answer (%s): %s", type(err).__name__, err)
            return Answer(text=DONT_KNOW)
        parsed = completion.choices[0].message.parsed
        if parsed is None:  # a refusal
            return Answer(text=DONT_KNOW)
        cited = grounding.usable_citations(parsed, passages)
        if cited is None:
            log.warning("answer not shown: it cites %s, retrieved were %s", parsed.citations,
                        sorted({p.article_id for p in passages}))
            return Answer(text=DONT_KNOW)
        return Answer(text=parsed.answer.strip(), citations=cited, answered=True)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        response = self.client.embeddings.create(
            model=self.settings.embedding_model,
            input=texts,
            dimensions=self.settings.embedding_dimensions,
            timeout=self.settings.request_timeout,
        )
        return [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
