"""Splitting articles into the pieces that are embedded and retrieved: paragraphs."""

from __future__ import annotations

import hashlib
import re

# A blank line (nothing but spaces or tabs) ends a paragraph, as in Markdown.
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def paragraphs(body: str) -> list[str]:
    """The paragraphs of an article body, stripped, without empty ones, in reading order."""
    return [part.strip() for part in _BLANK_LINE.split(body.replace("\r\n", "\n")) if part.strip()]


def text_key(text: str) -> str:
    """The key of a paragraph's version: its text, hashed (a paragraph edited is a new version)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
