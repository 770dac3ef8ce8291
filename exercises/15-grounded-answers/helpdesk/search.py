"""The keyword search behind the help centre's search box (2016): SQL LIKE on titles and bodies."""

from __future__ import annotations

import re

from helpdesk.models import Article

WORD = re.compile(r"[a-z0-9][a-z0-9-]*")
# Words that match nearly every article. Added one by one after complaints; never reviewed.
IGNORED = {"the", "and", "you", "your", "can", "how", "what", "why", "does", "with", "for", "not"}


def search_terms(query: str, min_length: int = 3) -> list[str]:
    """The words of a query the search looks for: lower case, no short or ignored words, no repeats."""
    terms: list[str] = []
    for word in WORD.findall(query.lower()):
        if len(word) >= min_length and word not in IGNORED and word not in terms:
            terms.append(word)
    return terms


def rank(hits: dict[str, tuple[Article, int, int]], limit: int) -> list[Article]:
    """Order articles by the number of terms they contain, then by terms in the title, then by id."""
    ordered = sorted(hits.values(), key=lambda hit: (-hit[1], -hit[2], hit[0].id))
    return [article for article, _, _ in ordered[:limit]]
