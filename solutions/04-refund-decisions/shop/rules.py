"""The refund desk's business rules: the fixed rules of 2019, and the rules that bound the model."""

from __future__ import annotations

from shop.models import Decision, Order, OverrideRule

# EUR. Only the default now: the service passes Settings.auto_approve_limit (FIN-88).
AUTO_APPROVE_LIMIT = 50.0


def decide_by_rules(order: Order, amount: float, limit: float = AUTO_APPROVE_LIMIT) -> Decision:
    """Approve small refunds on the spot; anything flagged or above the limit waits for a human.

    The rules never look at the reason and never say no: refusing is an agent's job. They decide alone
    when the desk runs without a model.
    """
    if order.fraud_flag:
        return Decision.ESCALATE
    if amount > limit:
        return Decision.ESCALATE
    return Decision.APPROVE


def decide_with_recommendation(
    recommendation: Decision | None,
    confidence: float | None,
    order: Order,
    amount: float,
    *,
    limit: float,
    threshold: float,
) -> tuple[Decision, OverrideRule | None]:
    """The final decision on a model's recommendation, and the rule that overrode it (None if none did).

    The first matching rule wins: no usable recommendation, fraud flag, over the limit (those two only
    stop an approval), low confidence (an approval or a denial nobody is sure of goes to a human).
    """
    if recommendation is None or confidence is None:
        return Decision.ESCALATE, OverrideRule.MODEL_UNAVAILABLE
    if recommendation is Decision.APPROVE and order.fraud_flag:
        return Decision.ESCALATE, OverrideRule.FRAUD_FLAG
    if recommendation is Decision.APPROVE and amount > limit:
        return Decision.ESCALATE, OverrideRule.AUTO_APPROVE_LIMIT
    if recommendation is not Decision.ESCALATE and confidence < threshold:
        return Decision.ESCALATE, OverrideRule.LOW_CONFIDENCE
    return recommendation, None
