"""The hand-over digest: header from the incident, then the timeline cut to fit."""

from datetime import UTC, datetime

from oncall.digest import build_digest, digest_header
from oncall.models import Event, Incident, Severity

INCIDENT = Incident(id=7, title="checkout: elevated 5xx", severity=Severity.SEV2,
                    started_at=datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC))


def _event(message: str) -> Event:
    return Event(id=None, incident_id=7, at="2024-03-05T14:02:11Z", source="pagerduty", message=message)


def test_header_carries_ref_severity_and_start() -> None:
    assert digest_header(INCIDENT) == "[INC-2007] SEV2 checkout: elevated 5xx\nStarted: 2024-03-05 14:02 UTC"


def test_short_timeline_is_kept_whole() -> None:
    digest = build_digest(INCIDENT, [_event("alert fired"), _event("rolled back")], max_chars=280)
    assert digest.splitlines()[2] == "Timeline: alert fired; rolled back"


def test_long_timeline_is_cut() -> None:
    digest = build_digest(INCIDENT, [_event("x" * 200), _event("y" * 200)], max_chars=280)
    timeline = digest.splitlines()[2]
    assert len(timeline) == len("Timeline: ") + 280
    assert timeline.endswith("…")


def test_no_events() -> None:
    assert build_digest(INCIDENT, [], max_chars=280).splitlines()[2] == "Timeline: no events recorded."
