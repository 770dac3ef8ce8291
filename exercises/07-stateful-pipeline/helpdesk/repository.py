"""SQLite storage of the intake's results: one row per e-mail, written when a run has finished."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from helpdesk.models import IntakeResult

# The BI dashboard reads this table every morning (queue volumes, reply lengths); keep its columns.
SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    message_id     TEXT PRIMARY KEY,
    day            TEXT NOT NULL,
    sender         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    queue          TEXT NOT NULL,
    confidence     REAL NOT NULL,
    reply          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    processed_at   TEXT NOT NULL
)
"""


class IntakeRepository:
    """Stores the results of the nightly runs in one SQLite file; the schema is created on opening."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(SCHEMA)
        self._conn.commit()

    def save_all(self, day: str, results: list[IntakeResult], prompt_version: str) -> None:
        """Insert the results of one run, all or nothing.

        A day that is already stored makes this raise sqlite3.IntegrityError: the runbook says to delete
        the day's rows before running it again (TODO(ops): make re-runs safe, HD-871).
        """
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017 - runs on 3.10 hosts too
        with self._conn:
            self._conn.executemany(
                "INSERT INTO intake (message_id, day, sender, subject, queue, confidence, reply, prompt_version,"
                " processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.email.message_id,
                        day,
                        r.email.sender,
                        r.email.subject,
                        r.queue.value,
                        r.confidence,
                        r.reply,
                        prompt_version,
                        now,
                    )
                    for r in results
                ],
            )

    def for_day(self, day: str) -> list[sqlite3.Row]:
        """The stored rows of one day, in message-id order."""
        return self._conn.execute("SELECT * FROM intake WHERE day = ? ORDER BY message_id", (day,)).fetchall()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()
