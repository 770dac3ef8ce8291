"""The morning report."""

from pathlib import Path

from helpdesk.models import Email, IntakeResult, Queue
from helpdesk.report import render_report, write_report


def _result(message_id: str, queue: Queue) -> IntakeResult:
    email = Email(message_id, "ana@example.com", "2025-06-03T08:00:00+02:00", "Subject", "Body")
    return IntakeResult(email=email, queue=queue, confidence=0.9, reply="Hello")


def test_report_counts_every_queue() -> None:
    text = render_report("2025-06-03", [_result("IN-1", Queue.BILLING), _result("IN-2", Queue.BILLING),
                                        _result("IN-3", Queue.SHIPPING)])
    lines = text.splitlines()
    assert lines[:2] == ["Nightly intake 2025-06-03", "e-mails: 3"]
    assert {"billing: 2", "shipping: 1", "technical: 0", "account: 0", "general: 0"} <= set(lines)


def test_report_replaces_the_days_file(tmp_path: Path) -> None:
    write_report(tmp_path / "reports", "2025-06-03", "old\n")
    path = write_report(tmp_path / "reports", "2025-06-03", "new\n")
    assert path == tmp_path / "reports" / "2025-06-03.txt"
    assert path.read_text(encoding="utf-8") == "new\n"
