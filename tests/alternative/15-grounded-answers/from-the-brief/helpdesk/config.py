"""Runtime settings, read from the environment in production and built directly in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    """Settings of the help centre."""

    db_path: str = "helpcentre.db"
    max_results: int = 5
    min_term_length: int = 3
    embedding_model: str = "text-embedding-3-small"
    embedding_dimensions: int = 512
    answer_model: str = "gpt-4o-mini"
    top_k: int = 3
    min_similarity: float = 0.2
    request_timeout: float = 15.0

    @classmethod
    def from_env(cls) -> Settings:
        """Every field from HELPDESK_<FIELD> when set (HELPDESK_DB_PATH, HELPDESK_TOP_K, ...)."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"HELPDESK_{f.name.upper()}")
            if raw is not None:
                kind = type(f.default)
                values[f.name] = kind(raw)
        return cls(**values)
