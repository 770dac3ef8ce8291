"""The agents' draft folder: an mbox file their mail client imports every morning."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from helpdesk.models import Email, Queue

CARE_ADDRESS = "Customer Care <care@shop.example>"


class Outbox:
    """Appends draft replies to one mbox file. Every write adds a message: the file is never rewritten."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def write(self, email: Email, reply: str, queue: Queue) -> None:
        """Append the draft reply to `email` (threaded to it by In-Reply-To) to the mbox file."""
        message = EmailMessage()
        message["From"] = CARE_ADDRESS
        message["To"] = email.sender
        message["Subject"] = email.subject if email.subject.lower().startswith("re:") else f"Re: {email.subject}"
        message["In-Reply-To"] = f"<{email.message_id}>"
        message["X-Helpdesk-Queue"] = queue.value
        message.set_content(reply)
        box = mailbox.mbox(self.path)
        box.lock()  # the morning import may already be reading the file when a late run finishes
        try:
            box.add(message)
            box.flush()
        finally:
            box.unlock()
            box.close()

    def drafts(self) -> list[tuple[str, str]]:
        """(message id replied to, reply text) of every draft in the file, in file order."""
        if not self.path.exists():
            return []
        box = mailbox.mbox(self.path)
        try:
            return [
                (str(draft["In-Reply-To"] or "").strip().strip("<>"), _text(draft))
                for draft in box
            ]
        finally:
            box.close()


def _text(draft: mailbox.mboxMessage) -> str:
    payload = draft.get_payload(decode=True)
    return payload.decode(draft.get_content_charset() or "utf-8").strip() if isinstance(payload, bytes) else ""
