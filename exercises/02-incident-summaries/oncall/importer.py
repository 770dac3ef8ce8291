"""Import of timeline exports (CSV with the columns at, source, message) into an incident."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from oncall.models import Event
from oncall.repository import IncidentRepository

log = logging.getLogger(__name__)


def import_events_csv(repo: IncidentRepository, incident_id: int, path: str | Path) -> int:
    """Store every row of a timeline export as an event of the incident; returns how many were stored.

    Rows are stored as they are: timestamps keep the format and zone of the system that exported
    them, and nothing is de-duplicated (the same alert often arrives by webhook and by export).
    """
    stored = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            try:
                repo.add_event(Event(id=None, incident_id=incident_id, at=row["at"].strip(),
                                     source=row["source"].strip(), message=row["message"]))
                stored += 1
            except Exception:  # a bad row must not lose the rest of the export; someone fixes it by hand
                log.warning("skipped line %d of %s", line_no, path)
    return stored
