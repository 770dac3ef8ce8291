"""A database as release 2.3.1 of helpdesk (the starter) leaves it, for the legacy-database check.

The grader builds the file itself, before any learner code runs, with the starter's exact schema: the
point is that the learner's repository opens a file it did not create, as it will in production.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

# Copied from exercises/01-ticket-triage/helpdesk/repository.py (release 2.3.1): no routed_by column.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    queue          TEXT NOT NULL DEFAULT 'general',
    created_at     TEXT NOT NULL,
    sla_bucket     TEXT
)
"""

# (subject, body, customer_email, queue, created_at, sla_bucket): ids 1 and 2, so TCK-1001 and TCK-1002.
LEGACY_TICKETS = [
    (
        "Refund for order 4410",
        "I returned the jacket three weeks ago and have not seen the refund yet.",
        "old.customer@example.com",
        "billing",
        "2018-11-05T10:12:31.402113+01:00",
        "gold",  # written by the SLA module that was removed in 2019
    ),
    (
        "Locked out after three tries",
        "The login page says my account is locked. Please unlock it.",
        "another.customer@example.com",
        "account",
        "2024-02-19T16:40:07.118390+01:00",
        None,
    ),
]


def build_legacy_database(path: Path) -> None:
    """Create `path` as release 2.3.1 would have: its schema and the two tickets above."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(LEGACY_SCHEMA)
        conn.executemany(
            "INSERT INTO tickets (subject, body, customer_email, queue, created_at, sla_bucket)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            LEGACY_TICKETS,
        )
        conn.commit()
