"""What a run costs and how long its requests take: token usage, prices, the budget, percentiles."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    """The tokens one answer was billed for. Cached tokens are part of the prompt tokens."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def from_api(cls, usage: Mapping[str, Any] | None) -> Usage:
        """Read the `usage` object of a chat completion (as JSON); no usage means nothing billed."""
        if not usage:
            return cls()
        details = usage.get("prompt_tokens_details") or {}
        return cls(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_tokens=int(details.get("cached_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )


def cost_of(usage: Usage, price: Mapping[str, float]) -> float:
    """USD for one answer; `price` is USD per million tokens for input, cached_input and output."""
    uncached = max(usage.prompt_tokens - usage.cached_tokens, 0)
    return (
        uncached * price["input"]
        + usage.cached_tokens * price["cached_input"]
        + usage.completion_tokens * price["output"]
    ) / 1_000_000


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The smallest value that at least `percent`% of the values do not exceed (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(percent / 100 * len(ordered)), 1)
    return ordered[rank - 1]


@dataclass
class RunLedger:
    """Cost and latencies of one run, and whether its budget still allows a request.

    The batch runs in one event loop, so the ledger needs no lock: nothing awaits between reading
    `can_spend()` and sending the request it allowed.
    """

    budget: float
    cost: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def can_spend(self) -> bool:
        """True while the cost of the answers received so far is below the budget."""
        return self.cost < self.budget

    def record(self, cost: float, latency: float) -> None:
        self.cost += cost
        self.latencies.append(latency)
