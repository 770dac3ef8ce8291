"""Reading the gateway's export."""

import json
from pathlib import Path

import pytest

from helpdesk.inbox import day_of, read_inbox


def _export(path: Path, *rows: dict, blank_lines: int = 1) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "\n" * blank_lines, encoding="utf-8")
    return path


def _row(message_id: str, body: str = "Where is my parcel?") -> dict:
    return {"message_id": message_id, "from": "ana@example.com", "received_at": "2025-06-03T08:00:00+02:00",
            "subject": "Parcel", "body": body}


def test_emails_come_in_file_order(tmp_path: Path) -> None:
    inbox = _export(tmp_path / "2025-06-03.jsonl", _row("IN-20250603-0002"), _row("IN-20250603-0001"))
    assert [email.message_id for email in read_inbox(inbox)] == ["IN-20250603-0002", "IN-20250603-0001"]


def test_text_is_kept_as_exported(tmp_path: Path) -> None:
    body = "Hello,\r\n\r\nmy parcel  is late.\t \n"
    inbox = _export(tmp_path / "2025-06-03.jsonl", _row("IN-20250603-0001", body))
    email = read_inbox(inbox)[0]
    assert (email.sender, email.subject, email.body) == ("ana@example.com", "Parcel", body)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    inbox = _export(tmp_path / "2025-06-03.jsonl", _row("IN-20250603-0001"), blank_lines=3)
    assert len(read_inbox(inbox)) == 1


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    inbox = tmp_path / "2025-06-03.jsonl"
    inbox.write_text(json.dumps(_row("IN-20250603-0001")) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_inbox(inbox)


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    row = _row("IN-20250603-0001")
    del row["body"]
    with pytest.raises(ValueError, match="missing body"):
        read_inbox(_export(tmp_path / "2025-06-03.jsonl", row))


def test_the_day_is_the_file_name() -> None:
    assert day_of("inbox/2025-06-03.jsonl") == "2025-06-03"
