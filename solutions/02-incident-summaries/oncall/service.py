"""The on-call service: what the chat bot, the pager webhook and the CLI call."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from oncall.config import Settings
from oncall.digest import build_digest, digest_header
from oncall.importer import import_events_csv
from oncall.models import Event, Incident, Severity
from oncall.repository import IncidentRepository
from oncall.summarizer import Summarizer
from oncall.timeline import chunk_lines, prepare_timeline, timeline_lines

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)


class OncallService:
    """Opens incidents, records their timelines and builds the hand-over digest."""

    def __init__(
        self,
        repo: IncidentRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.client = client

    def open_incident(self, title: str, severity: Severity | int, started_at: datetime) -> Incident:
        """Store a new incident and return it (with its id and ref). `started_at` is kept in UTC."""
        if started_at.tzinfo is None:
            # FIXME: a naive time is taken as the server's local time; only the CLI sends those.
            started_at = started_at.astimezone()
        new = Incident(id=None, title=title.strip(), severity=Severity(severity),
                       started_at=started_at.astimezone(UTC))
        incident = self.repo.add_incident(new)
        log.info("incident %s opened (%s)", incident.ref, incident.severity.label)
        return incident

    def log_event(self, incident_id: int, at: str, source: str, message: str) -> Event:
        """Add one event to an incident's timeline, with its timestamp text as the source sent it."""
        self.get(incident_id)
        return self.repo.add_event(Event(id=None, incident_id=incident_id, at=at, source=source, message=message))

    def import_events(self, incident_id: int, path: str | Path) -> int:
        """Import a timeline export (CSV: at, source, message) into an incident; returns the row count."""
        self.get(incident_id)
        return import_events_csv(self.repo, incident_id, path)

    def digest(self, incident_id: int, out: TextIO | None = None) -> str:
        """Build the incident's hand-over digest, store it and return it.

        With a client, the header comes from the incident and the rest is the model's summary of the
        prepared timeline, streamed to `out` as it arrives; without one (or with no usable event),
        the digest is the legacy cut-down timeline. Everything written to `out` is the digest.
        """
        incident = self.get(incident_id)
        events = self.repo.events_for(incident_id)
        if self.client is None:
            return self._store_whole(incident_id, build_digest(incident, events, self.settings.digest_max_chars), out)
        frame = prepare_timeline(events)
        if frame.empty:  # nothing to summarise: no request
            return self._store_whole(incident_id, build_digest(incident, [], self.settings.digest_max_chars), out)
        chunks = chunk_lines(timeline_lines(frame), self.settings.chunk_tokens)
        head = f"{digest_header(incident)}\n\n"
        if out is not None:
            out.write(head)
            out.flush()
        summary = Summarizer(self.client, self.settings).summarise(incident, chunks, out)
        text = head + summary
        # Stored only once the whole summary is in: a failed call leaves the previous digest in place.
        self.repo.save_digest(incident_id, text)
        log.info("%s: digest from %d chunk(s)", incident.ref, len(chunks))
        return text

    def _store_whole(self, incident_id: int, text: str, out: TextIO | None) -> str:
        if out is not None:
            out.write(text)
        self.repo.save_digest(incident_id, text)
        return text

    def get(self, incident_id: int) -> Incident:
        """Return a stored incident; raises LookupError when there is no such incident."""
        incident = self.repo.get_incident(incident_id)
        if incident is None:
            raise LookupError(f"no incident with id {incident_id}")
        return incident
