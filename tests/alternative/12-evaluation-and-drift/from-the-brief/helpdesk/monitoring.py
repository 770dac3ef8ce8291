"""Weekly drift of the routed queues (HD-1003)."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from helpdesk.config import Settings
from helpdesk.models import Queue


def _week(text: str) -> str:
    iso = datetime.datetime.fromisoformat(text).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def weekly_drift(log: pd.DataFrame, reference_week: str, settings: Settings | None = None) -> pd.DataFrame:
    """Per ISO week: tickets, PSI of the queue mix against the reference week, drifted or not."""
    settings = settings or Settings()
    queues = [q.value for q in Queue]
    weeks = log["routed_at"].astype(str).map(_week)
    table = (
        pd.DataFrame({"week": weeks, "queue": log["queue"].astype(str)})
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=queues, fill_value=0)
        .sort_index()
    )
    if reference_week not in table.index:
        raise ValueError(f"no ticket in the reference week {reference_week}")
    counts = table.to_numpy(dtype=float)
    totals = counts.sum(axis=1)
    shares = np.where(counts == 0, settings.drift_epsilon, counts / totals[:, None])
    base = shares[list(table.index).index(reference_week)]
    psi = ((shares - base) * np.log(shares / base)).sum(axis=1)
    rows = []
    for week, n, value in zip(table.index, totals, psi, strict=True):
        if week == reference_week:
            value = 0.0
        elif n < settings.drift_min_tickets:
            value = float("nan")
        rows.append({"week": week, "tickets": int(n), "psi": float(value),
                     "drifted": bool(value > settings.drift_threshold)})  # nan > x is False
    return pd.DataFrame(rows).astype({"tickets": "int64", "psi": "float64", "drifted": "bool"})
