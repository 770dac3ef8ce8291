"""The refund desk: what the customer account page, the support agents and the CLI call."""

from __future__ import annotations

import logging

from shop.config import Settings
from shop.models import STATUS_BY_DECISION, Decision, Order, RefundRequest, RefundStatus
from shop.repository import ShopRepository
from shop.rules import decide_by_rules

log = logging.getLogger(__name__)


class RefundDesk:
    """Takes in refund requests, decides them by the desk's rules, and lets agents work the review queue."""

    def __init__(self, repo: ShopRepository, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()

    def request_refund(self, order_id: int, amount: float, reason: str) -> RefundRequest:
        """Take in a refund request, decide it, record the decision and return the stored request.

        Raises LookupError for an unknown order and ValueError for an amount that cannot be refunded.
        """
        order = self._refundable_order(order_id, amount)
        decision = decide_by_rules(order, amount)
        refund = self.repo.add_refund(
            RefundRequest(id=None, order_id=order_id, amount=amount, reason=reason.strip(),
                          status=STATUS_BY_DECISION[decision])
        )
        self.repo.add_audit(refund.id, decision, decided_by="rules")
        log.info("refund %s for order %s: %s by the rules", refund.ref, order_id, decision.value)
        return refund

    def get(self, refund_id: int) -> RefundRequest:
        """Return a stored refund request; raises LookupError when there is none."""
        refund = self.repo.get_refund(refund_id)
        if refund is None:
            raise LookupError(f"no refund request with id {refund_id}")
        return refund

    def review_queue(self) -> list[RefundRequest]:
        """The refund requests waiting for an agent, oldest first."""
        return self.repo.list_refunds(RefundStatus.IN_REVIEW)

    def resolve(self, refund_id: int, approve: bool, agent: str) -> RefundRequest:
        """An agent's decision on a request from the review queue; recorded in the audit trail."""
        refund = self.get(refund_id)
        if refund.status is not RefundStatus.IN_REVIEW:
            raise ValueError(f"{refund.ref} is not waiting for review (it is {refund.status.value})")
        decision = Decision.APPROVE if approve else Decision.DENY
        self.repo.set_refund_status(refund_id, STATUS_BY_DECISION[decision])
        self.repo.add_audit(refund_id, decision, decided_by=agent)
        refund.status = STATUS_BY_DECISION[decision]
        return refund

    def _refundable_order(self, order_id: int, amount: float) -> Order:
        order = self.repo.get_order(order_id)
        if order is None:
            raise LookupError(f"no order with id {order_id}")
        left = order.total - self.repo.refunded_total(order_id)
        # 0.005: float cents (see the TODO in repository.py); 49.99 + 0.01 must still fit a 50.00 order.
        if amount <= 0 or amount > left + 0.005:
            raise ValueError(f"cannot refund {amount:.2f} on order {order_id}: {left:.2f} left to refund")
        return order
