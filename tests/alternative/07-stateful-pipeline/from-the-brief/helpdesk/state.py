"""Where the nightly pipeline keeps what it knows: one SQLite file, three tables.

- intake       one row per e-mail (the BI dashboard's columns, plus status and error);
- model_cache  every model answer, by stage, text digest, model and prompt version;
- deliveries   which e-mails already have their draft in the agents' outbox.

Each method commits before it returns, so a process that dies keeps everything done so far.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from pathlib import Path

from helpdesk.models import Email

_WHITESPACE = re.compile(r"\s+")

_TABLES = (
    """CREATE TABLE IF NOT EXISTS intake (
        message_id TEXT PRIMARY KEY, day TEXT NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,
        queue TEXT, confidence REAL, reply TEXT, prompt_version TEXT, processed_at TEXT,
        status TEXT NOT NULL DEFAULT 'pending', error TEXT)""",
    """CREATE TABLE IF NOT EXISTS model_cache (
        stage TEXT NOT NULL, digest TEXT NOT NULL, model TEXT NOT NULL, prompt_version TEXT NOT NULL,
        payload TEXT NOT NULL, PRIMARY KEY (stage, digest, model, prompt_version))""",
    """CREATE TABLE IF NOT EXISTS deliveries (message_id TEXT PRIMARY KEY, written_at TEXT NOT NULL)""",
)


def text_digest(email: Email) -> str:
    """A digest of the e-mail's subject and body, blind to whitespace differences."""
    subject = _WHITESPACE.sub(" ", email.subject).strip()
    body = _WHITESPACE.sub(" ", email.body).strip()
    return hashlib.sha1(f"{subject}\x00{body}".encode()).hexdigest()


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class StateStore:
    """The pipeline's state, with one commit per change."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path))
        for statement in _TABLES:
            self._db.execute(statement)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def register(self, day: str, email: Email) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO intake (message_id, day, sender, subject) VALUES (?, ?, ?, ?)",
            (email.message_id, day, email.sender, email.subject),
        )
        self._db.commit()

    def lookup(self, stage: str, digest: str, model: str, version: str) -> dict | None:
        hit = self._db.execute(
            "SELECT payload FROM model_cache WHERE stage=? AND digest=? AND model=? AND prompt_version=?",
            (stage, digest, model, version),
        ).fetchone()
        return None if hit is None else json.loads(hit[0])

    def store(self, stage: str, digest: str, model: str, version: str, payload: dict) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO model_cache VALUES (?, ?, ?, ?, ?)",
            (stage, digest, model, version, json.dumps(payload)),
        )
        self._db.commit()

    def set_result(self, message_id: str, **columns: object) -> None:
        names = ", ".join(f"{name} = ?" for name in columns)
        self._db.execute(f"UPDATE intake SET {names} WHERE message_id = ?", (*columns.values(), message_id))
        self._db.commit()

    def result(self, message_id: str) -> dict:
        cursor = self._db.execute("SELECT * FROM intake WHERE message_id = ?", (message_id,))
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))

    def was_delivered(self, message_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM deliveries WHERE message_id = ?", (message_id,)).fetchone() is not None

    def mark_delivered(self, message_id: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO deliveries VALUES (?, ?)", (message_id, _stamp()))
        self._db.commit()
