"""Ticket classification by a chat model, with structured output into the existing queues.

The system prompt and the model come from a version of the prompt registry (helpdesk.registry); the
code no longer holds any prompt text.
"""

from __future__ import annotations

import logging

import openai
from pydantic import BaseModel, Field, ValidationError

from helpdesk.models import Queue, Ticket
from helpdesk.registry import PromptVersion

log = logging.getLogger(__name__)


class Classification(BaseModel):
    """The structured answer asked of the model: exactly these two fields."""

    # The enum goes into the JSON schema, so a strict model can only pick a known queue; an endpoint
    # that ignores the schema anyway makes parse() raise ValidationError, handled below.
    queue: Queue
    confidence: float = Field(ge=0.0, le=1.0)


class ModelNotFound(Exception):
    """The API does not know the model (retired, or misspelt): every further request would fail alike."""

    def __init__(self, model: str, message: str) -> None:
        super().__init__(f"model {model!r} not found: {message}")
        self.model = model


def is_model_not_found(err: openai.APIError) -> bool:
    """True for the API's answer to a retired or unknown model: 404 with the code model_not_found."""
    if not isinstance(err, openai.NotFoundError):
        return False
    # OpenAI says so in the code; some compatible servers (Ollama, vLLM) only in the message.
    return err.code == "model_not_found" or "model" in str(err.message).lower()


class ModelClassifier:
    """Asks a chat model which queue a ticket belongs to, with one version of the routing prompt."""

    def __init__(self, client: openai.OpenAI, prompt: PromptVersion, timeout: float) -> None:
        self._client = client
        self.prompt = prompt
        self._timeout = timeout

    def classify(self, ticket: Ticket) -> Classification | None:
        """Return the model's answer, or None when there is no usable one.

        One request per call, never retried here. "No usable answer" covers a refusal, a label that is
        not one of our queues, a malformed or cut-off answer and a failed API call: the caller keeps the
        keyword rules' decision. A model the API does not know raises ModelNotFound instead: that is no
        bad answer but a configuration to fix, and the caller must stop asking.
        """
        try:
            completion = self._client.chat.completions.parse(
                model=self.prompt.model,
                messages=[
                    {"role": "system", "content": self.prompt.system_prompt},
                    {"role": "user", "content": _user_message(ticket)},
                ],
                response_format=Classification,
                timeout=self._timeout,
            )
        except ValidationError:
            log.warning("model gave %s an unknown queue or an invalid confidence", ticket.ref)
            return None
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError):
            log.warning("model answer for %s was cut off or filtered", ticket.ref)
            return None
        except openai.APIError as err:
            if is_model_not_found(err):
                raise ModelNotFound(self.prompt.model, err.message) from err
            log.warning("model call for %s failed (%s)", ticket.ref, type(err).__name__)
            return None

        message = completion.choices[0].message
        if message.refusal or message.parsed is None:
            log.warning("model refused to classify %s", ticket.ref)
            return None
        return message.parsed


def _user_message(ticket: Ticket) -> str:
    # The ref comes first so a reply can always be traced back to its ticket in logs and recordings.
    return f"Ticket {ticket.ref}\nSubject: {ticket.subject}\n\n{ticket.body}"
