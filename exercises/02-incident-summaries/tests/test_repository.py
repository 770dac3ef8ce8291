"""The SQLite repository: incidents, events and digests survive a new connection."""

from datetime import UTC, datetime
from pathlib import Path

from oncall.models import Event, Incident, Severity
from oncall.repository import IncidentRepository

STARTED = datetime(2024, 3, 5, 14, 2, tzinfo=UTC)


def test_incident_gets_id_and_ref(tmp_path: Path) -> None:
    repo = IncidentRepository(tmp_path / "oncall.db")
    incident = repo.add_incident(Incident(id=None, title="Queue backlog", severity=Severity.SEV3, started_at=STARTED))
    assert incident.id == 1
    assert incident.ref == "INC-2001"


def test_incident_and_digest_survive_reopening(tmp_path: Path) -> None:
    db = tmp_path / "oncall.db"
    repo = IncidentRepository(db)
    incident = repo.add_incident(Incident(id=None, title="Queue backlog", severity=Severity.SEV3, started_at=STARTED))
    repo.save_digest(incident.id, "the digest")
    repo.close()
    stored = IncidentRepository(db).get_incident(incident.id)
    assert stored is not None
    assert (stored.title, stored.severity, stored.started_at) == ("Queue backlog", Severity.SEV3, STARTED)
    assert stored.digest == "the digest"


def test_events_are_stored_as_received(tmp_path: Path) -> None:
    repo = IncidentRepository(tmp_path / "oncall.db")
    incident = repo.add_incident(Incident(id=None, title="Queue backlog", severity=Severity.SEV3, started_at=STARTED))
    repo.add_event(Event(id=None, incident_id=incident.id, at="1709647412.339209", source="slack", message=" ack "))
    (event,) = repo.events_for(incident.id)
    assert (event.at, event.source, event.message) == ("1709647412.339209", "slack", " ack ")


def test_unknown_incident_is_none(tmp_path: Path) -> None:
    assert IncidentRepository(tmp_path / "oncall.db").get_incident(42) is None
