"""Keyword routing: the team's hand-maintained table, in use since 2017."""

from __future__ import annotations

from helpdesk.models import Queue

# First matching row wins, so the order matters: billing complaints often mention the account too,
# and finance wanted to see those first. Keywords are matched as plain substrings of the lower-cased
# text (so "api" also hits "rapid"); nobody has dared to change that since HD-412.
KEYWORD_TABLE: list[tuple[Queue, tuple[str, ...]]] = [
    (Queue.BILLING, ("invoice", "refund", "charged", "payment", "billing", "receipt")),
    (Queue.ACCOUNT, ("password", "login", "log in", "sign in", "account", "2fa")),
    (Queue.SHIPPING, ("delivery", "shipping", "parcel", "tracking", "courier")),
    (Queue.TECHNICAL, ("error", "crash", "bug", "broken", "not working", "api")),
]


def route_by_keywords(subject: str, body: str) -> Queue:
    """Return the queue of the first table row with a keyword in the ticket, else GENERAL."""
    text = f"{subject}\n{body}".lower()
    if not text.strip():
        return Queue.GENERAL
    for queue, keywords in KEYWORD_TABLE:
        if any(keyword in text for keyword in keywords):
            return queue
    return Queue.GENERAL
