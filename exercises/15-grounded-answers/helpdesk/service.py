"""The help centre: importing the team's articles and the search box of the web shop."""

from __future__ import annotations

from pathlib import Path

from helpdesk.config import Settings
from helpdesk.importer import read_folder
from helpdesk.models import Article
from helpdesk.repository import ArticleRepository
from helpdesk.search import rank, search_terms


class HelpCentre:
    """What the web shop and the team's tools call."""

    def __init__(self, repo: ArticleRepository, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings(db_path=repo.db_path)

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
