"""The reply assistant (2.6), tested offline: a real SDK client over an in-memory transport."""

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from helpdesk.config import Settings
from helpdesk.models import Priority, Status
from helpdesk.repository import HelpdeskRepository
from helpdesk.service import HelpdeskService


class FakeModel:
    """Answers chat-completion requests in order and remembers what it was asked."""

    def __init__(self, *answers: httpx2.Response) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        if not self.answers:
            raise AssertionError(f"request {len(self.requests)} was not expected: no answer left for it")
        return self.answers.pop(0)

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key="test-key",
            base_url="http://model.test/v1",
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(self.handle)),
        )


def draft(reply: str, actions: list[dict[str, str]]) -> httpx2.Response:
    content = json.dumps({"reply": reply, "actions": actions})
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 240, "completion_tokens": 60, "total_tokens": 300},
        },
    )


def server_error() -> httpx2.Response:
    error = {"message": "The server had an error.", "type": "server_error", "param": None, "code": None}
    return httpx2.Response(500, json={"error": error})


def make_service(tmp_path: Path, model: FakeModel | None) -> HelpdeskService:
    settings = Settings(db_path=str(tmp_path / "helpdesk.db"))
    return HelpdeskService(HelpdeskRepository(settings.db_path), settings, client=model.client() if model else None)


def test_draft_and_triage_actions(tmp_path: Path) -> None:
    model = FakeModel(
        draft(
            "Thank you for your message. A replacement pair is on its way.\n\nThe Support Team",
            [
                {"name": "add_tag", "ticket": "TCK-1001", "value": "returns"},
                {"name": "set_priority", "ticket": "TCK-1001", "value": "high"},
            ],
        )
    )
    service = make_service(tmp_path, model)
    customer = service.register_customer("Lena Ortiz", "lena@example.com")
    ticket = service.open_ticket(customer.id, "Wrong size", "The boots I got are two sizes too small.")
    suggestion = service.suggest(ticket.id)
    assert suggestion.ticket_ref == "TCK-1001"
    assert suggestion.reply == "Thank you for your message. A replacement pair is on its way.\n\nThe Support Team"
    assert [a.name for a in suggestion.applied] == ["add_tag", "set_priority"]
    stored = service.get(ticket.id)
    assert (stored.tags, stored.priority, stored.status) == (["returns"], Priority.HIGH, Status.OPEN)
    assert len(model.requests) == 1
    request = model.requests[0]
    assert request["model"] == "gpt-4o-mini"
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    assert "TCK-1001" in user and "two sizes too small" in user


def test_failed_call_gives_no_draft(tmp_path: Path) -> None:
    service = make_service(tmp_path, FakeModel(server_error()))
    customer = service.register_customer("Lena Ortiz", "lena@example.com")
    ticket = service.open_ticket(customer.id, "Wrong size", "The boots are too small.")
    suggestion = service.suggest(ticket.id)
    assert (suggestion.reply, suggestion.applied) == (None, [])
    assert service.get(ticket.id).tags == []


def test_without_a_client_the_assistant_is_off(tmp_path: Path) -> None:
    service = make_service(tmp_path, None)
    customer = service.register_customer("Lena Ortiz", "lena@example.com")
    ticket = service.open_ticket(customer.id, "Wrong size", "The boots are too small.")
    with pytest.raises(RuntimeError):
        service.suggest(ticket.id)
