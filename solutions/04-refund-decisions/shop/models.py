"""Domain objects of the refund desk: orders, refund requests and the audit trail of decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

# Refund refs started at RF-1001 when the desk moved off the shared spreadsheet; customers quote them
# in e-mails, so the offset can never change.
REF_OFFSET = 1000


class Decision(str, Enum):  # noqa: UP042 - written before StrEnum existed
    """What a decision says about a refund request. Values are stored in the audit table as they are."""

    APPROVE = "approve"
    DENY = "deny"
    ESCALATE = "escalate"  # a human on the refund desk decides


class RefundStatus(str, Enum):  # noqa: UP042
    """Where a refund request stands. Values are stored in the database as they are."""

    APPROVED = "approved"
    DENIED = "denied"
    IN_REVIEW = "in_review"  # waiting in the desk's review queue
    # Stored, decision not yet written: only while the model is asked. A request left pending means the
    # process died in between; it is visible (and can be requeued) instead of lost.
    PENDING = "pending"


class OverrideRule(str, Enum):  # noqa: UP042
    """The business rule that set the final decision instead of the model's recommendation."""

    MODEL_UNAVAILABLE = "model_unavailable"  # no usable recommendation: API error, refusal, invalid answer
    FRAUD_FLAG = "fraud_flag"
    AUTO_APPROVE_LIMIT = "auto_approve_limit"
    LOW_CONFIDENCE = "low_confidence"


STATUS_BY_DECISION = {
    Decision.APPROVE: RefundStatus.APPROVED,
    Decision.DENY: RefundStatus.DENIED,
    Decision.ESCALATE: RefundStatus.IN_REVIEW,
}


@dataclass
class Order:
    """A customer order, as the checkout stored it. `id` is None until the repository has stored it."""

    id: int | None
    customer_email: str
    total: float
    # Set by the payment provider's risk check (stolen card, chargeback history); never by us.
    fraud_flag: bool = False
    placed_at: datetime | None = None


@dataclass
class RefundRequest:
    """A customer's request for money back on an order."""

    id: int | None
    order_id: int
    amount: float
    reason: str
    status: RefundStatus = RefundStatus.IN_REVIEW
    created_at: datetime | None = None

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "RF-1001"; empty until the request is stored."""
        return f"RF-{REF_OFFSET + self.id}" if self.id is not None else ""


@dataclass
class AuditEntry:
    """One decision about a refund request: at intake (rules, or model and rules), or by an agent.

    The model fields are None for decisions no model took part in (no client, an agent's resolution);
    `recommendation`, `confidence` and `rationale` are also None when the model gave no usable answer.
    """

    id: int | None
    refund_id: int
    decision: Decision
    decided_by: str  # "model", "rules", or the agent's login
    decided_at: datetime | None = None
    model: str | None = None
    prompt_version: str | None = None
    recommendation: Decision | None = None
    confidence: float | None = None
    rationale: str | None = None
    override_rule: OverrideRule | None = None
