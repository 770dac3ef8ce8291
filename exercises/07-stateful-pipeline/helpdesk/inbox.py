"""Reading the mail gateway's nightly export: one JSON object per line, one line per e-mail."""

from __future__ import annotations

import json
from pathlib import Path

from helpdesk.models import Email

FIELDS = ("message_id", "from", "received_at", "subject", "body")


def read_inbox(path: str | Path) -> list[Email]:
    """Return the day's e-mails in the order of the file; raises ValueError naming a malformed line.

    The text is kept exactly as exported: agents quote it in their answers, and the gateway's export is
    the record of what the customer wrote.
    """
    emails: list[Email] = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue  # the gateway ends the file with an empty line, older exports with several
            try:
                data = json.loads(line)
                missing = [name for name in FIELDS if name not in data]
            except (json.JSONDecodeError, TypeError) as err:
                raise ValueError(f"{path}, line {number}: not a JSON object ({err})") from err
            if missing:
                raise ValueError(f"{path}, line {number}: missing {', '.join(missing)}")
            emails.append(
                Email(
                    message_id=str(data["message_id"]),
                    sender=str(data["from"]),
                    received_at=str(data["received_at"]),
                    subject=str(data["subject"]),
                    body=str(data["body"]),
                )
            )
    return emails


def day_of(path: str | Path) -> str:
    """The day an export is for: the gateway names each file after it, e.g. 2025-06-03.jsonl."""
    return Path(path).stem
