"""SQLite storage for help-centre articles."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from helpdesk.models import Article

# TODO(jd): move to a proper migrations tool; until then the schema is created here on start-up.
# `views` fed the "most read" box removed from the web shop in 2021; the monthly report still sums it.
SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    views      INTEGER NOT NULL DEFAULT 0
)
"""

_COLUMNS = "id, title, body, updated_at"


class ArticleRepository:
    """Stores articles in one SQLite file; the schema is created when the repository opens."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(SCHEMA)
        self._conn.commit()

    def upsert(self, article: Article) -> Article:
        """Insert an article or replace the one with the same id; returns it as stored."""
        old = self.get(article.id)
        if old is not None and (old.title, old.body) == (article.title, article.body):
            return old  # unchanged: keep its updated_at, the web shop's "last updated" line shows it
        updated_at = article.updated_at or datetime.now(timezone.utc)
        self._conn.execute(
            "INSERT INTO articles (id, title, body, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET title = excluded.title, body = excluded.body,"
            " updated_at = excluded.updated_at",
            (article.id, article.title, article.body, updated_at.isoformat()),
        )
        self._conn.commit()
        return Article(id=article.id, title=article.title, body=article.body, updated_at=updated_at)

    def get(self, article_id: str) -> Article | None:
        """Return the article with this id, or None when there is none."""
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
        return self._to_article(row) if row else None

    def all(self) -> list[Article]:
        """Every article, in id order."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM articles ORDER BY id").fetchall()
        return [self._to_article(row) for row in rows]

    def matching(self, term: str) -> list[tuple[Article, bool]]:
        """The articles whose title or body contains `term` (any case), each with whether the title does."""
        # TODO: escape % and _ in the term; a search for "100%" matches every article.
        like = f"%{term}%"
        rows = self._conn.execute(
            f"SELECT {_COLUMNS}, title LIKE ? AS in_title FROM articles WHERE title LIKE ? OR body LIKE ?",
            (like, like, like),
        ).fetchall()
        return [(self._to_article(row), bool(row["in_title"])) for row in rows]

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @staticmethod
    def _to_article(row: sqlite3.Row) -> Article:
        return Article(
            id=row["id"],
            title=row["title"],
            body=row["body"],
            updated_at=datetime.fromisoformat(row["updated_at"]),
        )
