"""The golden-set accuracy of the runbook, offline: a real SDK client over an in-memory transport."""

import csv
import json
from pathlib import Path

import httpx2
import openai
import pytest

from helpdesk.config import Settings
from helpdesk.evaluation import golden_accuracy, golden_ticket

GOLDEN = [
    ("TCK-1101", "Charged twice", "Two payments for one order.", "billing"),
    ("TCK-1102", "Where is my parcel?", "Ordered ten days ago.", "shipping"),
    ("TCK-1103", "App crashes", "The basket page closes the app.", "technical"),
    ("TCK-1104", "Hello", "Do you sell gift cards?", "general"),
]


def write_golden(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ref", "subject", "body", "label"])
        writer.writerows(GOLDEN)
    return path


def model_answering(answers: dict[str, str], seen: list[dict]) -> openai.OpenAI:
    """A client whose model answers each ticket (found by its ref) with the queue given for it."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        user = body["messages"][-1]["content"]
        queue = next(queue for ref, queue in answers.items() if ref in user)
        content = json.dumps({"queue": queue, "confidence": 0.9})
        message = {"role": "assistant", "content": content, "refusal": None}
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            },
        )

    return openai.OpenAI(
        api_key="test-key",
        base_url="http://model.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )


def test_golden_ticket_keeps_the_ref() -> None:
    ticket = golden_ticket({"ref": "TCK-1842", "subject": "s", "body": "b"})
    assert (ticket.id, ticket.ref) == (842, "TCK-1842")


def test_accuracy_counts_the_right_answers(tmp_path: Path) -> None:
    seen: list[dict] = []
    answers = {"TCK-1101": "billing", "TCK-1102": "general", "TCK-1103": "technical", "TCK-1104": "general"}
    client = model_answering(answers, seen)
    assert golden_accuracy(write_golden(tmp_path / "golden.csv"), client) == pytest.approx(0.75)
    assert len(seen) == 4
    assert {body["model"] for body in seen} == {"gpt-4o-mini"}


def test_accuracy_of_another_prompt_version(tmp_path: Path) -> None:
    seen: list[dict] = []
    answers = {ref: label for ref, _subject, _body, label in GOLDEN}
    client = model_answering(answers, seen)
    settings = Settings(model="gpt-4.1-mini")
    assert golden_accuracy(write_golden(tmp_path / "golden.csv"), client, settings, "v4") == 1.0
    assert all(body["messages"][0]["content"].startswith("Route this") for body in seen)
    assert {body["model"] for body in seen} == {"gpt-4.1-mini"}
