"""The hand-over digest: a header built from the incident and a short view of the timeline."""

from __future__ import annotations

from collections.abc import Sequence

from oncall.models import Event, Incident

NO_EVENTS = "Timeline: no events recorded."


def digest_header(incident: Incident) -> str:
    """The two header lines every digest starts with, e.g.

    [INC-2001] SEV2 checkout: elevated 5xx
    Started: 2024-03-05 14:02 UTC
    """
    title = f"[{incident.ref}] {incident.severity.label} {incident.title}"
    return f"{title}\nStarted: {incident.started_at:%Y-%m-%d %H:%M} UTC"


def build_digest(incident: Incident, events: Sequence[Event], max_chars: int) -> str:
    """Header, then the event messages in the order given, cut at `max_chars` characters."""
    if not events:
        return f"{digest_header(incident)}\n{NO_EVENTS}"
    # HACK: cut the joined text; whatever happened after the first few events is lost, and the cut
    # may land in the middle of a word. Responders have learned to open the full timeline instead.
    text = "; ".join(e.message.strip() for e in events)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return f"{digest_header(incident)}\nTimeline: {text}"
