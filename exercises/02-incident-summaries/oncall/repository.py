"""SQLite storage for incidents and their timeline events."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from oncall.models import Event, Incident, Severity

# TODO(rb): move to a migrations tool; until then the schema is created here on start-up.
# pager_group was for the old pager rota integration (removed in 2021); the weekly report still
# selects it, so it stays.
SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    digest      TEXT,
    digest_at   TEXT,
    pager_group TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at          TEXT NOT NULL,
    source      TEXT NOT NULL,
    message     TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""

_INCIDENT_COLUMNS = "id, title, severity, started_at, status, digest"


class IncidentRepository:
    """Stores incidents and events in one SQLite file; the schema is created when it opens."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self._conn = sqlite3.connect(self.db_path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(SCHEMA)
        self._conn.commit()

    def add_incident(self, incident: Incident) -> Incident:
        """Insert a new incident and return it with its id (and so its ref) assigned."""
        cursor = self._conn.execute(
            "INSERT INTO incidents (title, severity, started_at, status) VALUES (?, ?, ?, ?)",
            (incident.title, int(incident.severity), incident.started_at.isoformat(), incident.status),
        )
        self._conn.commit()
        return Incident(
            id=cursor.lastrowid,
            title=incident.title,
            severity=incident.severity,
            started_at=incident.started_at,
            status=incident.status,
        )

    def get_incident(self, incident_id: int) -> Incident | None:
        """Return the incident with this id, or None when there is none."""
        row = self._conn.execute(
            f"SELECT {_INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()
        if row is None:
            return None
        return Incident(
            id=row["id"],
            title=row["title"],
            severity=Severity(row["severity"]),
            started_at=datetime.fromisoformat(row["started_at"]),
            status=row["status"],
            digest=row["digest"],
        )

    def add_event(self, event: Event) -> Event:
        """Store one timeline event as received and return it with its id."""
        cursor = self._conn.execute(
            "INSERT INTO events (incident_id, at, source, message, received_at) VALUES (?, ?, ?, ?, ?)",
            (event.incident_id, event.at, event.source, event.message, datetime.now(UTC).isoformat()),
        )
        self._conn.commit()
        return Event(id=cursor.lastrowid, incident_id=event.incident_id, at=event.at,
                     source=event.source, message=event.message)

    def events_for(self, incident_id: int) -> list[Event]:
        """Return the timeline events of an incident."""
        # Sorted on the timestamp text: right while everything came from the pager webhook in ISO
        # format, wrong since the chat bot and the status-page mails were wired in (OPS-287).
        rows = self._conn.execute(
            "SELECT id, incident_id, at, source, message FROM events WHERE incident_id = ? ORDER BY at, id",
            (incident_id,),
        ).fetchall()
        return [Event(id=r["id"], incident_id=r["incident_id"], at=r["at"], source=r["source"],
                      message=r["message"]) for r in rows]

    def save_digest(self, incident_id: int, digest: str) -> None:
        """Store the latest digest of an incident (the chat bot posts it from here)."""
        self._conn.execute(
            "UPDATE incidents SET digest = ?, digest_at = ? WHERE id = ?",
            (digest, datetime.now(UTC).isoformat(), incident_id),
        )
        self._conn.commit()

    def set_status(self, incident_id: int, status: str) -> None:
        """Change an incident's status ("open", "resolved")."""
        self._conn.execute("UPDATE incidents SET status = ? WHERE id = ?", (status, incident_id))
        self._conn.commit()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()
