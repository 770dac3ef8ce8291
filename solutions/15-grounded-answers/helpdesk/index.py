"""The paragraphs of the articles and their embeddings, stored beside the articles in the same SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from helpdesk.chunks import paragraphs, text_key
from helpdesk.models import Article

# chunks: what is retrievable now (one row per paragraph of the current articles).
# embeddings: one vector per paragraph text, model and size, kept even after the paragraph changes, so an
# edit that is undone, or a paragraph moved to another article, costs no request.
SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    article_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    text       TEXT NOT NULL,
    text_key   TEXT NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE TABLE IF NOT EXISTS embeddings (
    text_key   TEXT NOT NULL,
    model      TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    vector     BLOB NOT NULL,
    PRIMARY KEY (text_key, model, dimensions)
);
"""

Embed = Callable[[list[str]], list[list[float]]]
BATCH = 100  # texts per embeddings request: far below the API's limit, and a failed batch loses little


class ChunkIndex:
    """Chunks and their embeddings for one embedding model and size."""

    def __init__(self, db_path: str | Path, model: str, dimensions: int) -> None:
        self.model, self.dimensions = model, dimensions
        self._conn = sqlite3.connect(str(db_path))
        self._conn.executescript(SCHEMA)
        self._conn.commit()

    def sync(self, articles: Iterable[Article], embed: Embed) -> int:
        """Make the chunks those of `articles` and embed the texts that have no vector yet; returns how many."""
        wanted = [(a.id, position, text) for a in articles for position, text in enumerate(paragraphs(a.body))]
        with self._conn:  # one transaction: a failed embedding request leaves the index as it was
            self._conn.execute("DELETE FROM chunks")
            self._conn.executemany(
                "INSERT INTO chunks (article_id, position, text, text_key) VALUES (?, ?, ?, ?)",
                [(article_id, position, text, text_key(text)) for article_id, position, text in wanted],
            )
            missing = self._missing()
            for start in range(0, len(missing), BATCH):
                batch = missing[start:start + BATCH]
                vectors = embed([text for _, text in batch])
                self._conn.executemany(
                    "INSERT INTO embeddings (text_key, model, dimensions, vector) VALUES (?, ?, ?, ?)",
                    [(key, self.model, self.dimensions, _blob(vector, self.dimensions))
                     for (key, _), vector in zip(batch, vectors, strict=True)],
                )
        return len(missing)

    def _missing(self) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT DISTINCT c.text_key, c.text FROM chunks c LEFT JOIN embeddings e"
            " ON e.text_key = c.text_key AND e.model = ? AND e.dimensions = ?"
            " WHERE e.text_key IS NULL ORDER BY c.article_id, c.position",
            (self.model, self.dimensions),
        ).fetchall()
        unique: dict[str, str] = {}
        for key, text in rows:
            unique.setdefault(key, text)
        return list(unique.items())

    def vectors(self) -> tuple[list[tuple[str, str]], np.ndarray]:
        """The embedded chunks, as (article id, text) in a fixed order, and their vectors as one matrix."""
        rows = self._conn.execute(
            "SELECT c.article_id, c.text, e.vector FROM chunks c JOIN embeddings e"
            " ON e.text_key = c.text_key AND e.model = ? AND e.dimensions = ?"
            " ORDER BY c.article_id, c.position",
            (self.model, self.dimensions),
        ).fetchall()
        chunks = [(article_id, text) for article_id, text, _ in rows]
        matrix = np.array([np.frombuffer(blob, dtype=np.float32) for _, _, blob in rows], dtype=np.float32)
        return chunks, matrix.reshape(len(rows), self.dimensions)

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()


def _blob(vector: list[float], dimensions: int) -> bytes:
    values = np.asarray(vector, dtype=np.float32)
    if values.shape != (dimensions,):
        raise ValueError(f"the embedding model returned {values.shape[0]} values, {dimensions} were asked for")
    return values.tobytes()
