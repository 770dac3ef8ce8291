"""The agents' draft folder: one mbox message per draft."""

import mailbox
from pathlib import Path

from helpdesk.models import Email, Queue
from helpdesk.outbox import Outbox

EMAIL = Email("IN-20250603-0001", "ana@example.com", "2025-06-03T08:00:00+02:00", "Parcel late", "Where is it?")


def test_a_draft_is_threaded_to_its_email(tmp_path: Path) -> None:
    Outbox(tmp_path / "drafts.mbox").write(EMAIL, "Hello Ana, we are checking with the courier.", Queue.SHIPPING)
    [draft] = list(mailbox.mbox(tmp_path / "drafts.mbox"))
    assert draft["In-Reply-To"] == "<IN-20250603-0001>"
    assert (draft["To"], draft["Subject"], draft["X-Helpdesk-Queue"]) == ("ana@example.com", "Re: Parcel late",
                                                                          "shipping")
    assert "checking with the courier" in draft.get_payload(decode=True).decode()


def test_every_write_adds_a_draft(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "drafts.mbox")
    outbox.write(EMAIL, "First.", Queue.SHIPPING)
    outbox.write(EMAIL, "Second.", Queue.SHIPPING)
    assert outbox.drafts() == [("IN-20250603-0001", "First."), ("IN-20250603-0001", "Second.")]


def test_a_reply_subject_is_not_prefixed_twice(tmp_path: Path) -> None:
    email = Email("IN-20250603-0002", "bo@example.com", "2025-06-03T09:00:00+02:00", "RE: my refund", "Any news?")
    Outbox(tmp_path / "drafts.mbox").write(email, "Not yet.", Queue.BILLING)
    assert next(iter(mailbox.mbox(tmp_path / "drafts.mbox")))["Subject"] == "RE: my refund"


def test_no_file_means_no_drafts(tmp_path: Path) -> None:
    assert Outbox(tmp_path / "missing.mbox").drafts() == []
