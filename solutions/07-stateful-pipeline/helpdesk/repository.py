"""SQLite state of the nightly intake: one row per e-mail (its progress and results) and the answer cache.

Every change is committed at once, item by item: a run that is killed loses at most the request it was
waiting for, and the next run starts from what is stored here.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from helpdesk.models import Email, Queue

# The BI dashboard reads intake every morning (queue volumes, reply lengths); its columns stay. status,
# error and delivered_at are new: while a run goes on an e-mail is "new", "classified", "done" or
# "failed"; queue, confidence and reply are NULL until the stage that fills them has succeeded.
SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    message_id     TEXT PRIMARY KEY,
    day            TEXT NOT NULL,
    sender         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    queue          TEXT,
    confidence     REAL,
    reply          TEXT,
    prompt_version TEXT,
    processed_at   TEXT,
    status         TEXT NOT NULL DEFAULT 'new',
    error          TEXT,
    delivered_at   TEXT
);
CREATE TABLE IF NOT EXISTS answers (
    key        TEXT PRIMARY KEY,
    stage      TEXT NOT NULL,
    answer     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

NEW, CLASSIFIED, DONE, FAILED = "new", "classified", "done", "failed"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017 - runs on 3.10 hosts too


class IntakeRepository:
    """The intake's state in one SQLite file; the schema is created on opening."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)
        self._conn.commit()

    # ------------------------------------------------------------------ e-mails

    def import_emails(self, day: str, emails: list[Email]) -> None:
        """Add the e-mails not seen before; the ones already stored keep their progress."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO intake (message_id, day, sender, subject) VALUES (?, ?, ?, ?)",
                [(e.message_id, day, e.sender, e.subject) for e in emails],
            )

    def row(self, message_id: str) -> sqlite3.Row:
        """The stored row of one e-mail (it was imported first)."""
        return self._conn.execute("SELECT * FROM intake WHERE message_id = ?", (message_id,)).fetchone()

    def for_day(self, day: str) -> list[sqlite3.Row]:
        """The stored rows of one day, in message-id order."""
        return self._conn.execute("SELECT * FROM intake WHERE day = ? ORDER BY message_id", (day,)).fetchall()

    # ------------------------------------------------------------------ the cache

    def cached(self, key: str) -> dict[str, Any] | None:
        """The answer stored under `key`, or None."""
        found = self._conn.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return json.loads(found["answer"]) if found else None

    # ------------------------------------------------------------------ progress, one commit per item

    def classified(self, message_id: str, key: str, answer: dict[str, Any], prompt_version: str) -> None:
        """Store a classification (and, when it is new, its cache entry) in one transaction."""
        with self._conn:
            self._remember(key, "classify", answer)
            self._conn.execute(
                "UPDATE intake SET queue = ?, confidence = ?, prompt_version = ?, status = ?, error = NULL"
                " WHERE message_id = ?",
                (answer["queue"], answer["confidence"], prompt_version, CLASSIFIED, message_id),
            )

    def drafted(self, message_id: str, key: str, answer: dict[str, Any]) -> None:
        """Store a drafted reply (and its cache entry): the e-mail is done."""
        with self._conn:
            self._remember(key, "draft", answer)
            self._conn.execute(
                "UPDATE intake SET reply = ?, status = ?, error = NULL, processed_at = ? WHERE message_id = ?",
                (answer["reply"], DONE, _now(), message_id),
            )

    def failed(self, message_id: str, reason: str) -> None:
        """Record why an e-mail failed; the next run tries it again."""
        with self._conn:
            self._conn.execute(
                "UPDATE intake SET status = ?, error = ?, processed_at = ? WHERE message_id = ?",
                (FAILED, reason, _now(), message_id),
            )

    def delivered(self, message_id: str) -> None:
        """Note that the e-mail's draft is in the outbox: no run writes it again."""
        with self._conn:
            self._conn.execute("UPDATE intake SET delivered_at = ? WHERE message_id = ?", (_now(), message_id))

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def _remember(self, key: str, stage: str, answer: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO answers (key, stage, answer, created_at) VALUES (?, ?, ?, ?)",
            (key, stage, json.dumps(answer), _now()),
        )


def queue_of(row: sqlite3.Row) -> Queue:
    """The queue stored in a row that was classified."""
    return Queue(row["queue"])
