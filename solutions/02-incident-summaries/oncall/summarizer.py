"""The model summary of a timeline: one call when it fits, map-reduce when it does not."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TextIO

from oncall.config import Settings
from oncall.models import Incident
from oncall.tokens import estimate_chat_tokens

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

PART_PROMPT = (
    "You help an incident commander hand over an incident. You get one part of the incident's "
    "timeline (UTC). Summarise what happened in that part in at most two short sentences. "
    "Use only the lines given; do not guess severity, causes or times."
)
FINAL_PROMPT = (
    "You write the summary of an incident hand-over digest for the next responders: what "
    "happened, the impact, what was done, and the current state, in at most 120 words of plain "
    "text. Use only what you are given; the digest header already states the incident id, "
    "severity and start time."
)
PART_MAX_TOKENS = 80  # keeps part summaries short, so the final request stays within budget
FINAL_MAX_TOKENS = 400  # the summary is read in a chat: without a cap a model may write until its context is full


class RequestTooLarge(ValueError):
    """A request would go over settings.max_request_tokens; it is not sent."""


class Summarizer:
    """Writes the summary part of a digest with the injected client."""

    def __init__(self, client: openai.OpenAI, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def summarise(self, incident: Incident, chunks: list[list[str]], out: TextIO | None) -> str:
        """Summarise the chunks of a timeline (in time order); the final summary is streamed to `out`."""
        if len(chunks) == 1:
            user = f"Incident {incident.ref}: {incident.title}\nTimeline (UTC):\n" + "\n".join(chunks[0])
            return self._stream(user, out)
        parts = [self._part(incident, number, len(chunks), lines) for number, lines in enumerate(chunks, 1)]
        user = f"Incident {incident.ref}: {incident.title}\nSummaries of the timeline's parts, in order:\n"
        user += "\n".join(f"Part {number}: {part}" for number, part in enumerate(parts, 1))
        return self._stream(user, out)

    def _messages(self, system: str, user: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        size = estimate_chat_tokens(messages)
        if size > self.settings.max_request_tokens:
            raise RequestTooLarge(f"request of {size} tokens; the budget is {self.settings.max_request_tokens}")
        return messages

    def _part(self, incident: Incident, number: int, total: int, lines: list[str]) -> str:
        user = f"Incident {incident.ref}, part {number} of {total}. Timeline (UTC):\n" + "\n".join(lines)
        completion = self.client.chat.completions.create(
            model=self.settings.model,
            messages=self._messages(PART_PROMPT, user),  # type: ignore[arg-type]
            max_tokens=PART_MAX_TOKENS,
            timeout=self.settings.request_timeout,
        )
        summary = (completion.choices[0].message.content or "").strip()
        log.info("%s: part %d of %d summarised", incident.ref, number, total)
        return summary

    def _stream(self, user: str, out: TextIO | None) -> str:
        stream = self.client.chat.completions.create(
            model=self.settings.model,
            messages=self._messages(FINAL_PROMPT, user),  # type: ignore[arg-type]
            stream=True,
            max_tokens=FINAL_MAX_TOKENS,
            timeout=self.settings.request_timeout,  # the read time-out: between two pieces of the stream
        )
        pieces: list[str] = []
        for chunk in stream:
            # The last chunk of a stream may carry only usage, with no choices.
            piece = chunk.choices[0].delta.content if chunk.choices else None
            if piece:
                pieces.append(piece)
                if out is not None:
                    out.write(piece)
                    out.flush()
        return "".join(pieces)
