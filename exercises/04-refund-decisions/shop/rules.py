"""The refund desk's fixed rules, unchanged since the desk opened in 2019."""

from __future__ import annotations

from shop.models import Decision, Order

# EUR. Same value as Settings.auto_approve_limit; the rules never read the setting (FIN-88), so when
# finance changes the limit someone has to remember to change it here too.
AUTO_APPROVE_LIMIT = 50.0


def decide_by_rules(order: Order, amount: float) -> Decision:
    """Approve small refunds on the spot; anything flagged or above the limit waits for a human.

    The rules never look at the reason and never say no: refusing is an agent's job.
    """
    if order.fraud_flag:
        return Decision.ESCALATE
    if amount > AUTO_APPROVE_LIMIT:
        return Decision.ESCALATE
    return Decision.APPROVE
