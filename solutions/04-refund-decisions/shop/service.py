"""The refund desk: what the customer account page, the support agents and the CLI call."""

from __future__ import annotations

import logging

import openai

from shop.advisor import RefundAdvisor
from shop.config import Settings
from shop.models import STATUS_BY_DECISION, AuditEntry, Decision, Order, RefundRequest, RefundStatus
from shop.repository import ShopRepository
from shop.rules import decide_by_rules, decide_with_recommendation

log = logging.getLogger(__name__)


class RefundDesk:
    """Takes in refund requests, decides them, and lets agents work the review queue.

    With a `client`, a chat model recommends and the business rules make the final decision; without
    one, the fixed rules decide alone, exactly as before the model was introduced.
    """

    def __init__(
        self,
        repo: ShopRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.advisor = (
            RefundAdvisor(client, self.settings.model, self.settings.currency, timeout=self.settings.model_timeout)
            if client is not None
            else None
        )

    def request_refund(self, order_id: int, amount: float, reason: str) -> RefundRequest:
        """Take in a refund request, decide it, record the decision and return the stored request.

        Raises LookupError for an unknown order and ValueError for an amount that cannot be refunded.
        Whatever happens with the model, the request is stored, decided and audited exactly once.
        """
        order = self._refundable_order(order_id, amount)
        reason = reason.strip()
        if self.advisor is None:
            return self._decide_by_rules(order, amount, reason)

        # Stored first: the ref the model is told about only exists once the row does.
        refund = self.repo.add_refund(
            RefundRequest(id=None, order_id=order_id, amount=amount, reason=reason, status=RefundStatus.PENDING)
        )
        advice = self.advisor.recommend(refund, order)
        decision, rule = decide_with_recommendation(
            advice.recommendation if advice else None,
            advice.confidence if advice else None,
            order,
            amount,
            limit=self.settings.auto_approve_limit,
            threshold=self.settings.confidence_threshold,
        )
        entry = AuditEntry(
            id=None,
            refund_id=refund.id,
            decision=decision,
            decided_by="model" if rule is None else "rules",
            model=self.settings.model,
            prompt_version=self.settings.prompt_version,
            recommendation=advice.recommendation if advice else None,
            confidence=advice.confidence if advice else None,
            rationale=advice.rationale if advice else None,
            override_rule=rule,
        )
        # One row per decision, written once the rules have spoken, in the same transaction as the status.
        self.repo.record_decision(refund.id, STATUS_BY_DECISION[decision], entry)
        refund.status = STATUS_BY_DECISION[decision]
        log.info(
            "refund %s: model said %s, final %s%s",
            refund.ref,
            advice.recommendation.value if advice else "nothing usable",
            decision.value,
            f" ({rule.value})" if rule else "",
        )
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

    def _decide_by_rules(self, order: Order, amount: float, reason: str) -> RefundRequest:
        decision = decide_by_rules(order, amount, limit=self.settings.auto_approve_limit)
        refund = self.repo.add_refund(
            RefundRequest(id=None, order_id=order.id, amount=amount, reason=reason,
                          status=STATUS_BY_DECISION[decision])
        )
        self.repo.add_audit(refund.id, decision, decided_by="rules")
        log.info("refund %s for order %s: %s by the rules", refund.ref, order.id, decision.value)
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
