"""The on-call service: what the chat bot, the pager webhook and the CLI call."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from oncall.config import Settings
from oncall.digest import build_digest, digest_header
from oncall.importer import import_events_csv
from oncall.models import Event, Incident, Severity
from oncall.repository import IncidentRepository
from oncall.timeline import chunks, prepare_timeline
from oncall.tokens import estimate_chat_tokens

log = logging.getLogger(__name__)

# A hand-over cannot wait for the SDK's default of 600 s per answer.
REQUEST_TIMEOUT_S = 20.0

CHUNK_INSTRUCTIONS = ("Summarise this slice of an incident timeline in one or two sentences for the "
                      "next on-call engineer. Stick to the lines given.")
FINAL_INSTRUCTIONS = ("Write a short hand-over summary of this incident (what broke, who was affected, "
                      "what was done, where it stands now). Plain text, under 150 words. Do not restate "
                      "the severity or start time.")


class _Tee:
    """Writes to the caller's stream as text arrives, and keeps a copy of everything written."""

    def __init__(self, out: TextIO | None) -> None:
        self.out = out
        self.kept = io.StringIO()

    def write(self, text: str) -> None:
        self.kept.write(text)
        if self.out is not None:
            print(text, end="", file=self.out, flush=True)

    def text(self) -> str:
        return self.kept.getvalue()


class OncallService:
    """Opens incidents, records their timelines and builds the hand-over digest."""

    def __init__(self, repo: IncidentRepository, settings: Settings | None = None, client: Any = None) -> None:
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
        """Build the incident's hand-over digest, write it to `out` as it is built, store it and return it."""
        incident = self.get(incident_id)
        events = self.repo.events_for(incident_id)
        tee = _Tee(out)
        timeline = prepare_timeline(events) if self.client is not None else None
        if timeline is None:
            tee.write(build_digest(incident, events, self.settings.digest_max_chars))
        elif timeline.empty:
            tee.write(build_digest(incident, [], self.settings.digest_max_chars))
        else:
            parts = list(chunks(timeline, self.settings.chunk_tokens))
            tee.write(digest_header(incident) + "\n\n")
            if len(parts) == 1:
                body = f"{incident.ref} — {incident.title}\n\nTimeline (UTC):\n" + "\n".join(parts[0])
            else:
                summaries = [self._summarise_part(incident, n, len(parts), p) for n, p in enumerate(parts, 1)]
                body = f"{incident.ref} — {incident.title}\n\nPart summaries, oldest first:\n" + "\n".join(
                    f"- {summary}" for summary in summaries)
            self._stream_final(body, tee)
        text = tee.text()
        self.repo.save_digest(incident_id, text)
        return text

    def _request(self, instructions: str, body: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": instructions}, {"role": "user", "content": body}]
        if estimate_chat_tokens(messages) > self.settings.max_request_tokens:
            raise ValueError("request over settings.max_request_tokens; shorten the instructions")
        return messages

    def _summarise_part(self, incident: Incident, number: int, total: int, lines: list[str]) -> str:
        body = f"{incident.ref}, lines {number}/{total}:\n" + "\n".join(lines)
        reply = self.client.chat.completions.create(model=self.settings.model,
                                                    messages=self._request(CHUNK_INSTRUCTIONS, body),
                                                    max_completion_tokens=120, timeout=REQUEST_TIMEOUT_S)
        return (reply.choices[0].message.content or "").strip()

    def _stream_final(self, body: str, tee: _Tee) -> None:
        with self.client.chat.completions.stream(
            model=self.settings.model,
            messages=self._request(FINAL_INSTRUCTIONS, body),
            stream_options={"include_usage": True},
            max_completion_tokens=500,
            timeout=REQUEST_TIMEOUT_S,
        ) as stream:
            for event in stream:
                if event.type == "content.delta" and event.delta:
                    tee.write(event.delta)

    def get(self, incident_id: int) -> Incident:
        """Return a stored incident; raises LookupError when there is no such incident."""
        incident = self.repo.get_incident(incident_id)
        if incident is None:
            raise LookupError(f"no incident with id {incident_id}")
        return incident
