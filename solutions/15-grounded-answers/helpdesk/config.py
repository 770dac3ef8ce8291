"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Settings of the help centre."""

    db_path: str = "helpcentre.db"
    # The search box shows at most this many articles; the web page has room for five.
    max_results: int = 5
    # Words shorter than this are ignored by the search ("is", "my", "to" match every article).
    min_term_length: int = 3
    # Grounded answers. The embedding model and its size decide which stored vectors are usable:
    # change either and `index()` computes the embeddings again (the old ones stay, keyed by both).
    embedding_model: str = "text-embedding-3-small"
    embedding_dimensions: int = 512
    answer_model: str = "gpt-4o-mini"
    # How many paragraphs one answer may draw on, and how similar (cosine) a paragraph must be to count.
    top_k: int = 3
    min_similarity: float = 0.2
    # Seconds one model request may take (the SDK's default is 600 s; the web page gives up long before).
    request_timeout: float = 15.0

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if not 1 <= self.embedding_dimensions <= 3072:
            raise ValueError(f"embedding_dimensions must be between 1 and 3072, got {self.embedding_dimensions}")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from HELPDESK_* environment variables, falling back to the defaults."""
        env = os.environ.get
        return cls(
            db_path=env("HELPDESK_DB_PATH", cls.db_path),
            max_results=int(env("HELPDESK_MAX_RESULTS", cls.max_results)),
            min_term_length=int(env("HELPDESK_MIN_TERM_LENGTH", cls.min_term_length)),
            embedding_model=env("HELPDESK_EMBEDDING_MODEL", cls.embedding_model),
            embedding_dimensions=int(env("HELPDESK_EMBEDDING_DIMENSIONS", cls.embedding_dimensions)),
            answer_model=env("HELPDESK_ANSWER_MODEL", cls.answer_model),
            top_k=int(env("HELPDESK_TOP_K", cls.top_k)),
            min_similarity=float(env("HELPDESK_MIN_SIMILARITY", cls.min_similarity)),
            request_timeout=float(env("HELPDESK_REQUEST_TIMEOUT", cls.request_timeout)),
        )
