"""Cache keys of model answers: what a request is about, the model asked and the prompt version used."""

from __future__ import annotations

import hashlib
import json

from helpdesk.models import Email


def normalise(text: str) -> str:
    """The text with every run of whitespace (spaces, tabs, line breaks) made one space, and no ends.

    Only whitespace: the gateway's re-exports and the phone app re-wrap lines, but a changed letter or
    digit (another order number) is another e-mail.
    """
    return " ".join(text.split())


def answer_key(stage: str, email: Email, model: str, prompt_version: str, *extra: str) -> str:
    """A stable key for the answer of `stage` to this e-mail's text (the message id is not part of it).

    `extra` holds what else the stage's request depends on (the queue, for a draft).
    """
    parts = [stage, normalise(email.subject), normalise(email.body), model, prompt_version, *extra]
    # JSON keeps the parts apart ("a b" + "c" never equals "a" + "b c"); the hash keeps keys short.
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()
