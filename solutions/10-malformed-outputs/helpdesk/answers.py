"""Judging one model answer: a usable classification, or the one reason it cannot be used.

Pure functions over what the API sent back (text, finish_reason, refusal), so every malformed shape a
model has produced in production can be tested without a model. Nothing here raises on model output:
an answer is data, and data that does not fit is a reason, not an exception.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from helpdesk.models import INVALID_CONFIDENCE, INVALID_JSON, INVALID_QUEUE, REFUSED, TRUNCATED, Queue

QUEUE_VALUES = frozenset(q.value for q in Queue)

# What each problem means, in words the repair request and the logs can use.
EXPLANATIONS = {
    REFUSED: "the model refused to answer",
    TRUNCATED: "the answer was cut off at the token limit before it was complete",
    INVALID_JSON: "no JSON object could be read from the answer",
    INVALID_QUEUE: "`queue` is missing or is not one of: " + ", ".join(q.value for q in Queue),
    INVALID_CONFIDENCE: "`confidence` is missing or is not a number from 0 to 1",
}


@dataclass(frozen=True)
class Answer:
    """One answer as received: the message's text, the choice's finish_reason and any refusal."""

    text: str | None
    finish_reason: str | None = None
    refusal: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What an answer is worth: `reason` None means usable (then queue and confidence are set)."""

    reason: str | None
    queue: Queue | None = None
    confidence: float | None = None

    @property
    def usable(self) -> bool:
        """True when the answer is a valid classification (confident or not)."""
        return self.reason is None


def judge(answer: Answer) -> Verdict:
    """Judge one answer. The first problem that applies wins: refused, truncated, invalid_json,
    invalid_queue, invalid_confidence."""
    if answer.refusal:
        return Verdict(REFUSED)
    if answer.finish_reason == "length":
        # Even text that happens to parse was cut short: the model had not finished.
        return Verdict(TRUNCATED)
    data = read_json_object(answer.text or "")
    if data is None:
        return Verdict(INVALID_JSON)
    queue = data.get("queue")
    if not isinstance(queue, str) or queue not in QUEUE_VALUES:
        return Verdict(INVALID_QUEUE)
    confidence = data.get("confidence")
    # bool is an int in Python, and json.loads reads NaN and Infinity: neither is a confidence.
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        return Verdict(INVALID_CONFIDENCE)
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        return Verdict(INVALID_CONFIDENCE)
    return Verdict(None, Queue(queue), float(confidence))


def read_json_object(text: str) -> dict[str, Any] | None:
    """The answer's JSON object: the whole text when it is one, else the first object found in it.

    Models without structured-output support wrap the object in prose or a Markdown code fence. A
    greedy `{.*}` would swallow any later brace in the prose, so each `{` is tried in turn with a real
    JSON decoder, which stops at the end of its object.
    """
    whole = _decode(text.strip())
    if isinstance(whole, dict):
        return whole
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    # A small model stuck in a loop can nest brackets deeper than the decoder's recursion limit:
    # that is RecursionError, not a ValueError.
    except (ValueError, RecursionError):
        return None
