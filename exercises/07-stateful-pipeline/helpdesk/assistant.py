"""The model's two jobs in the intake: sort an e-mail into a queue, and draft a reply to it."""

from __future__ import annotations

import logging

import openai
from pydantic import BaseModel, Field

from helpdesk.models import Email, Queue
from helpdesk.prompts import CLASSIFY_PROMPT, DRAFT_PROMPT, classify_message, draft_message

log = logging.getLogger(__name__)


class Triage(BaseModel):
    """The structured answer asked of the model when classifying: exactly these two fields."""

    queue: Queue
    confidence: float = Field(ge=0.0, le=1.0)


class UnusableAnswer(Exception):
    """The model answered, but not with something the intake can use (a refusal, an empty draft)."""


class Assistant:
    """Asks a chat model to classify e-mails and to draft replies; one request per call, never retried here."""

    def __init__(self, client: openai.OpenAI, model: str) -> None:
        self._client = client
        self._model = model

    def classify(self, email: Email) -> Triage:
        """Return the model's queue and confidence for one e-mail.

        Raises UnusableAnswer for a refusal; API errors and answers that do not fit the schema
        (pydantic.ValidationError) reach the caller as the SDK raises them.
        """
        completion = self._client.chat.completions.parse(
            model=self._model,
            messages=[
                {"role": "system", "content": CLASSIFY_PROMPT},
                {"role": "user", "content": classify_message(email)},
            ],
            response_format=Triage,
        )
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            raise UnusableAnswer(f"the model refused to classify {email.message_id}")
        return message.parsed

    def draft_reply(self, email: Email, queue: Queue) -> str:
        """Return a draft reply to one e-mail; raises UnusableAnswer when the model gives no text."""
        completion = self._client.chat.completions.create(
            model=self._model,
            messages=[
                {"role": "system", "content": DRAFT_PROMPT},
                {"role": "user", "content": draft_message(email, queue)},
            ],
        )
        text = (completion.choices[0].message.content or "").strip()
        if not text:
            raise UnusableAnswer(f"the model drafted nothing for {email.message_id}")
        return text
