"""A whole nightly run, offline: a real SDK client over an in-memory transport."""

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx2
import openai

from helpdesk.config import Settings
from helpdesk.nightly import run_nightly
from helpdesk.outbox import Outbox

EMAILS = [
    ("IN-20250603-0001", "Where is my parcel?", "I ordered ten days ago and nothing has arrived."),
    ("IN-20250603-0002", "Charged twice", "My card shows two charges for order 5521."),
]
ANSWERS = {"IN-20250603-0001": "shipping", "IN-20250603-0002": "billing"}


class FakeModel:
    """Answers classification requests (structured) and drafting requests (plain text); keeps what it was asked."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        message_id = next(mid for mid in ANSWERS if mid in user)
        if "response_format" in body:
            content = json.dumps({"queue": ANSWERS[message_id], "confidence": 0.9})
        else:
            content = f"Hello, thank you for your e-mail about {message_id}. Customer Care"
        return httpx2.Response(200, json={
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content, "refusal": None}}],
            "usage": {"prompt_tokens": 80, "completion_tokens": 20, "total_tokens": 100},
        })

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(api_key="test-key", base_url="http://model.test/v1", max_retries=0,
                             http_client=httpx2.Client(transport=httpx2.MockTransport(self.handle)))


def _settings(tmp_path: Path) -> Settings:
    return Settings(db_path=str(tmp_path / "intake.db"), outbox_path=str(tmp_path / "drafts.mbox"),
                    report_dir=str(tmp_path / "reports"))


def _inbox(tmp_path: Path) -> Path:
    path = tmp_path / "2025-06-03.jsonl"
    path.write_text("".join(
        json.dumps({"message_id": mid, "from": "ana@example.com", "received_at": "2025-06-03T08:00:00+02:00",
                    "subject": subject, "body": body}) + "\n" for mid, subject, body in EMAILS), encoding="utf-8")
    return path


def test_each_email_is_classified_and_drafted(tmp_path: Path) -> None:
    model = FakeModel()
    summary = run_nightly(_inbox(tmp_path), _settings(tmp_path), model.client())
    assert (summary.day, summary.emails, summary.by_queue) == ("2025-06-03", 2, {"shipping": 1, "billing": 1})
    structured = [r for r in model.requests if "response_format" in r]
    plain = [r for r in model.requests if "response_format" not in r]
    assert (len(structured), len(plain)) == (2, 2)
    assert all(r["model"] == "gpt-4o-mini" for r in model.requests)


def test_drafts_go_to_the_outbox(tmp_path: Path) -> None:
    run_nightly(_inbox(tmp_path), _settings(tmp_path), FakeModel().client())
    drafts = Outbox(tmp_path / "drafts.mbox").drafts()
    assert [message_id for message_id, _ in drafts] == ["IN-20250603-0001", "IN-20250603-0002"]
    assert "IN-20250603-0001" in drafts[0][1]


def test_results_are_stored(tmp_path: Path) -> None:
    run_nightly(_inbox(tmp_path), _settings(tmp_path), FakeModel().client())
    conn = sqlite3.connect(tmp_path / "intake.db")
    rows = conn.execute("SELECT message_id, day, queue, reply FROM intake ORDER BY message_id").fetchall()
    conn.close()
    assert [(mid, day, queue) for mid, day, queue, _ in rows] == [
        ("IN-20250603-0001", "2025-06-03", "shipping"), ("IN-20250603-0002", "2025-06-03", "billing")]
    assert all(reply.startswith("Hello") for *_, reply in rows)


def test_the_report_is_written(tmp_path: Path) -> None:
    run_nightly(_inbox(tmp_path), _settings(tmp_path), FakeModel().client())
    report = (tmp_path / "reports" / "2025-06-03.txt").read_text(encoding="utf-8")
    assert "e-mails: 2" in report
    assert "shipping: 1" in report
