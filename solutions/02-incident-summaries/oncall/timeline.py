"""Timeline preparation (pandas) and the chunking rule for the model digest.

Events arrive with the timestamp text of their source: ISO 8601 with `Z` or an offset (pager
webhook, monitoring), Unix epoch seconds with a fraction (the chat bot), RFC 2822 dates (status-page
mails) and naive `YYYY-MM-DD HH:MM[:SS]` written by people on the CLI, which are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from oncall.models import Event
from oncall.tokens import estimate_tokens

COLUMNS = ["at", "source", "message"]


def prepare_timeline(events: Iterable[Event]) -> pd.DataFrame:
    """The usable timeline: one row per event with `at` (UTC), `source` and `message`.

    Messages are stripped; events with an empty message are dropped, and so are duplicates (same
    instant, source and message, whatever the timestamp text looked like). Rows are in time order,
    events at the same instant in the order they were stored; the index is 0..n-1.
    """
    rows = [(e.at, e.source, e.message) for e in events]
    frame = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    frame["at"] = _parse_utc(frame["at"].astype(str).str.strip())
    frame["source"] = frame["source"].astype(str).str.strip()
    frame["message"] = frame["message"].fillna("").astype(str).str.strip()
    frame = frame[frame["message"] != ""]
    frame = frame.drop_duplicates(subset=COLUMNS, keep="first")
    # A stable sort keeps the stored order for events at the same instant.
    frame = frame.sort_values("at", kind="stable")
    return frame.reset_index(drop=True)


def _parse_utc(raw: pd.Series) -> pd.Series:
    """Every timestamp format the sources send, as UTC. Epoch seconds first: to_datetime's mixed
    parser would read them as a year."""
    epoch = pd.to_numeric(raw, errors="coerce")
    is_epoch = epoch.notna()
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if is_epoch.any():
        parsed[is_epoch] = pd.to_datetime(epoch[is_epoch], unit="s", utc=True)
    if (~is_epoch).any():
        # utc=True converts the ones with a zone and takes the naive ones (people on the CLI) as UTC.
        parsed[~is_epoch] = pd.to_datetime(raw[~is_epoch], utc=True, format="mixed")
    return parsed


def timeline_lines(frame: pd.DataFrame) -> list[str]:
    """One line per event: `2024-03-05 14:02:11Z [pagerduty] Triggered: ...`."""
    return [f"{at:%Y-%m-%d %H:%M:%S}Z [{source}] {message}"
            for at, source, message in zip(frame["at"], frame["source"], frame["message"], strict=True)]


def chunk_lines(lines: list[str], chunk_tokens: int) -> list[list[str]]:
    """Greedy chunks in order: a line joins the current chunk unless that would take the chunk's
    total (the sum of estimate_tokens of its lines) above `chunk_tokens`."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        cost = estimate_tokens(line)
        if current and size + cost > chunk_tokens:
            chunks.append(current)
            current, size = [], 0
        current.append(line)
        size += cost
    if current:
        chunks.append(current)
    return chunks
