"""The service as the chat bot and the CLI use it (no model involved)."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from oncall.config import Settings
from oncall.models import Severity
from oncall.repository import IncidentRepository
from oncall.service import OncallService


@pytest.fixture
def service(tmp_path: Path) -> OncallService:
    settings = Settings(db_path=str(tmp_path / "oncall.db"))
    return OncallService(IncidentRepository(settings.db_path), settings)


def test_open_incident_keeps_start_in_utc(service: OncallService) -> None:
    cet = timezone(timedelta(hours=1))
    incident = service.open_incident(" Search is slow ", 3, datetime(2024, 3, 5, 15, 2, tzinfo=cet))
    stored = service.get(incident.id)
    assert stored.title == "Search is slow"
    assert stored.severity is Severity.SEV3
    assert stored.started_at == datetime(2024, 3, 5, 14, 2, tzinfo=UTC)


def test_digest_is_stored_and_returned(service: OncallService) -> None:
    incident = service.open_incident("Search is slow", 3, datetime(2024, 3, 5, 14, 2, tzinfo=UTC))
    service.log_event(incident.id, "2024-03-05T14:03:00Z", "pagerduty", "Triggered: search p99 above 3s")
    digest = service.digest(incident.id)
    assert digest.startswith("[INC-2001] SEV3 Search is slow\nStarted: 2024-03-05 14:02 UTC\n")
    assert "Triggered: search p99 above 3s" in digest
    assert service.get(incident.id).digest == digest


def test_digest_is_cut_at_the_configured_length(tmp_path: Path) -> None:
    settings = Settings(db_path=str(tmp_path / "oncall.db"), digest_max_chars=20)
    service = OncallService(IncidentRepository(settings.db_path), settings)
    incident = service.open_incident("Search is slow", 3, datetime(2024, 3, 5, 14, 2, tzinfo=UTC))
    service.log_event(incident.id, "2024-03-05T14:03:00Z", "pagerduty", "Triggered: search p99 above 3s")
    assert service.digest(incident.id).splitlines()[2] == "Timeline: Triggered: search p…"


def test_import_stores_every_row(service: OncallService, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "at,source,message\n"
        "2024-03-05T14:03:00Z,pagerduty,Triggered: search p99 above 3s\n"
        "1709647412.339209,slack,\"ack, looking\"\n",
        encoding="utf-8",
    )
    incident = service.open_incident("Search is slow", 3, datetime(2024, 3, 5, 14, 2, tzinfo=UTC))
    assert service.import_events(incident.id, export) == 2
    assert sorted(e.message for e in service.repo.events_for(incident.id)) == ["Triggered: search p99 above 3s",
                                                                               "ack, looking"]


def test_unknown_incident_raises(service: OncallService) -> None:
    with pytest.raises(LookupError):
        service.digest(999)
