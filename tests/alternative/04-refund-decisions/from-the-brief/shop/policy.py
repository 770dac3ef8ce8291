"""What finance allows: the model recommends, these rules decide."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from shop.recommender import Recommendation


class Override(StrEnum):
    MODEL_UNAVAILABLE = "model_unavailable"
    FRAUD_FLAG = "fraud_flag"
    AUTO_APPROVE_LIMIT = "auto_approve_limit"
    LOW_CONFIDENCE = "low_confidence"


class Verdict(NamedTuple):
    decision: str  # approve | deny | escalate
    override: Override | None


def verdict(advice: Recommendation | None, *, fraud_flag: bool, amount: float, limit: float,
            threshold: float) -> Verdict:
    """The brief's table, first match wins."""
    if advice is None:
        return Verdict("escalate", Override.MODEL_UNAVAILABLE)
    wants_approval = advice.recommendation == "approve"
    if wants_approval and fraud_flag:
        return Verdict("escalate", Override.FRAUD_FLAG)
    if wants_approval and amount > limit:
        return Verdict("escalate", Override.AUTO_APPROVE_LIMIT)
    if advice.recommendation in ("approve", "deny") and advice.confidence < threshold:
        return Verdict("escalate", Override.LOW_CONFIDENCE)
    return Verdict(advice.recommendation, None)
