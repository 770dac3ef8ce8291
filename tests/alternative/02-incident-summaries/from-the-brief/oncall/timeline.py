"""Turning raw timeline events into a clean, UTC, time-ordered pandas frame."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pandas as pd

from oncall.models import Event
from oncall.tokens import estimate_tokens

_EPOCH = re.compile(r"^\d+(\.\d+)?$")


def to_utc(text: str) -> pd.Timestamp:
    """One timestamp text, whatever its source, as a UTC Timestamp (no zone means UTC)."""
    text = text.strip()
    if _EPOCH.match(text):
        return pd.Timestamp(float(text), unit="s", tz="UTC")
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def prepare_timeline(events: Sequence[Event]) -> pd.DataFrame:
    """Usable events, oldest first: columns at (UTC), source, message (stripped)."""
    frame = pd.DataFrame(
        {
            "stored": range(len(events)),
            "at": [to_utc(e.at) for e in events],
            "source": [e.source for e in events],
            "message": [(e.message or "").strip() for e in events],
        }
    )
    if frame.empty:
        return frame.assign(at=pd.to_datetime(frame["at"], utc=True))[["at", "source", "message"]]
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    usable = frame["message"].str.len() > 0
    repeated = frame.duplicated(subset=["at", "source", "message"])
    frame = frame[usable & ~repeated].sort_values(["at", "stored"])
    return frame[["at", "source", "message"]].reset_index(drop=True)


def line(at: pd.Timestamp, source: str, message: str) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}Z [{source}] {message}"


def chunks(frame: pd.DataFrame, limit: int) -> Iterator[list[str]]:
    """Greedy chunks of timeline lines whose summed estimate stays within `limit`."""
    batch: list[str] = []
    total = 0
    for row in frame.itertuples(index=False):
        text = line(row.at, row.source, row.message)
        cost = estimate_tokens(text)
        if batch and total + cost > limit:
            yield batch
            batch, total = [], 0
        batch.append(text)
        total += cost
    if batch:
        yield batch
