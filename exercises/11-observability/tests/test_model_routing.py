"""Routing by the model, tested offline: a real SDK client over an in-memory transport, a fake clock."""

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from helpdesk.config import Settings
from helpdesk.models import Queue
from helpdesk.repository import TicketRepository
from helpdesk.service import HelpdeskService


class FakeClock:
    """A clock whose sleep() only moves its time on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


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
        transport = httpx2.MockTransport(self.handle)
        # The SDK's defaults (two retries) on purpose: the service must switch them off itself.
        http_client = httpx2.Client(transport=transport)
        return openai.OpenAI(api_key="test-key", base_url="http://model.test/v1", http_client=http_client)


def answer(queue: str, confidence: float) -> httpx2.Response:
    content = json.dumps({"queue": queue, "confidence": confidence})
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 90, "completion_tokens": 12, "total_tokens": 102},
        },
    )


def error(status: int) -> httpx2.Response:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return httpx2.Response(status, json={"error": {"message": "no", "type": kind, "param": None, "code": None}})


def make_service(tmp_path: Path, model: FakeModel | None, clock: FakeClock | None = None) -> HelpdeskService:
    settings = Settings(db_path=str(tmp_path / "helpdesk.db"))
    client = model.client() if model else None
    return HelpdeskService(TicketRepository(settings.db_path), settings, client=client, clock=clock or FakeClock())


def test_confident_answer_decides_the_queue(tmp_path: Path) -> None:
    model = FakeModel(answer("technical", 0.9))
    service = make_service(tmp_path, model)
    ticket = service.submit("Invoice page shows an error", "Opening any invoice gives a blank page.", "li@example.com")
    assert (ticket.queue, ticket.routed_by, ticket.degraded) == (Queue.TECHNICAL, "model", False)
    stored = service.get(ticket.id)
    assert (stored.queue, stored.routed_by) == (Queue.TECHNICAL, "model")
    assert [r["model"] for r in model.requests] == ["gpt-4o-mini"]


def test_unsure_answer_keeps_the_rules_queue(tmp_path: Path) -> None:
    model = FakeModel(answer("technical", 0.2))
    ticket = make_service(tmp_path, model).submit(
        "Invoice page shows an error", "Opening any invoice gives a blank page.", "li@example.com"
    )
    assert (ticket.queue, ticket.routed_by, ticket.degraded) == (Queue.BILLING, "rules", False)


def test_server_error_is_retried_once_after_a_wait(tmp_path: Path) -> None:
    model, clock = FakeModel(error(503), answer("shipping", 0.8)), FakeClock()
    service = make_service(tmp_path, model, clock)
    ticket = service.submit("Where is my parcel?", "Ordered ten days ago.", "li@example.com")
    assert (ticket.queue, ticket.routed_by, ticket.degraded) == (Queue.SHIPPING, "model", False)
    assert len(model.requests) == 2
    assert clock.sleeps == [1.0]


def test_failing_model_means_degraded(tmp_path: Path) -> None:
    model = FakeModel(error(500), error(502))
    service = make_service(tmp_path, model)
    ticket = service.submit("Where is my parcel?", "Ordered ten days ago.", "li@example.com")
    assert (ticket.queue, ticket.routed_by, ticket.degraded) == (Queue.SHIPPING, "rules", True)
    assert service.get(ticket.id).degraded is True


def test_rejected_request_is_not_retried(tmp_path: Path) -> None:
    model = FakeModel(error(400))
    ticket = make_service(tmp_path, model).submit("Where is my parcel?", "Ordered ten days ago.", "li@example.com")
    assert (ticket.queue, ticket.degraded) == (Queue.SHIPPING, True)
    assert len(model.requests) == 1


def test_blank_ticket_is_not_sent_to_the_model(tmp_path: Path) -> None:
    model = FakeModel()
    ticket = make_service(tmp_path, model).submit("  ", "\n", "li@example.com")
    assert (ticket.queue, ticket.routed_by, ticket.degraded) == (Queue.GENERAL, "rules", False)
    assert model.requests == []


@pytest.mark.parametrize("subject", ["Payment failed", "Hello"])
def test_without_a_client_the_rules_decide(tmp_path: Path, subject: str) -> None:
    ticket = make_service(tmp_path, None).submit(subject, "", "li@example.com")
    assert ticket.routed_by == "rules"
