"""Ticket classification by a chat model, with structured output into the existing queues."""

from __future__ import annotations

import logging

import openai
from pydantic import BaseModel, Field, ValidationError

from helpdesk.models import Queue, Ticket

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 15.0  # seconds; the SDK would wait 600


class Classification(BaseModel):
    """The structured answer asked of the model: exactly these two fields."""

    queue: Queue
    confidence: float = Field(ge=0.0, le=1.0)


class RetiredModel(RuntimeError):
    """The API answered model_not_found: the configured model is gone."""


class ModelClassifier:
    """Asks a chat model which queue a ticket belongs to, with a given system prompt."""

    def __init__(self, client: openai.OpenAI, model: str, system_prompt: str) -> None:
        self._client = client.with_options(timeout=REQUEST_TIMEOUT)
        self.model = model
        self.system_prompt = system_prompt

    def classify(self, ticket: Ticket) -> Classification | None:
        """The model's answer, None when it is unusable or the call failed; RetiredModel on model_not_found."""
        try:
            completion = self._client.chat.completions.parse(
                model=self.model,
                messages=[
                    {"role": "system", "content": self.system_prompt},
                    {"role": "user", "content": f"Ticket {ticket.ref}\nSubject: {ticket.subject}\n\n{ticket.body}"},
                ],
                response_format=Classification,
            )
        except ValidationError:
            return None
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError):
            return None
        except openai.NotFoundError as err:
            if err.code == "model_not_found":
                raise RetiredModel(self.model) from err
            log.warning("model call for %s failed (404)", ticket.ref)
            return None
        except openai.APIError as err:
            log.warning("model call for %s failed (%s)", ticket.ref, type(err).__name__)
            return None
        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            return None
        return message.parsed
