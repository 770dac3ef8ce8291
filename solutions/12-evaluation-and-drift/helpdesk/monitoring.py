"""Drift monitoring: has the mix of queues the model routes to moved away from a reference week?

Input is the routing log the nightly job exports (columns ref, routed_at, queue). Each ISO week's queue
shares are compared with the reference week's by the population stability index (PSI).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpdesk.config import Settings
from helpdesk.models import Queue

QUEUES: list[str] = [queue.value for queue in Queue]


def iso_week(moments: pd.Series) -> pd.Series:
    """ISO 8601 week labels such as 2026-W07, with the ISO year (29 December 2025 is in 2026-W01)."""
    calendar = pd.to_datetime(moments).dt.isocalendar()
    return calendar["year"].astype("str") + "-W" + calendar["week"].astype("str").str.zfill(2)


def weekly_drift(log: pd.DataFrame, reference_week: str, settings: Settings | None = None) -> pd.DataFrame:
    """One row per ISO week of the log, oldest first: week, tickets, psi and drifted.

    A week with fewer than `settings.drift_min_tickets` tickets is not judged (psi missing, not
    drifted); the reference week has psi 0.0. Raises ValueError when the reference week has no ticket.
    """
    settings = settings or Settings()
    queues = log["queue"].astype("str")
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise ValueError(f"the log holds values that are not queues: {', '.join(unknown)}")
    weeks = iso_week(log["routed_at"])
    counts = (
        pd.crosstab(weeks.to_numpy(), queues.to_numpy())
        .reindex(columns=QUEUES, fill_value=0)
        .sort_index()  # zero-padded labels with the year first: text order is time order
    )
    if reference_week not in counts.index:
        raise ValueError(f"the reference week {reference_week} has no ticket in the log")
    tickets = counts.sum(axis=1)
    # A queue without a ticket would make the logarithm infinite: it counts as a share of epsilon.
    shares = counts.div(tickets, axis=0).mask(counts == 0, settings.drift_epsilon)
    reference = shares.loc[reference_week]
    psi = ((shares - reference) * np.log(shares / reference)).sum(axis=1)
    psi = psi.where(tickets >= settings.drift_min_tickets)
    psi[reference_week] = 0.0
    drifted = psi.gt(settings.drift_threshold)  # NaN (not judged) compares as False
    return pd.DataFrame(
        {
            "week": pd.array(counts.index.tolist(), dtype="str"),
            "tickets": tickets.to_numpy(dtype="int64"),
            "psi": psi.to_numpy(dtype="float64"),
            "drifted": drifted.to_numpy(dtype="bool"),
        }
    )
