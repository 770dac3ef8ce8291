"""The desk's fixed rules: what is approved on the spot and what waits for an agent."""

from shop.models import Decision, Order
from shop.rules import AUTO_APPROVE_LIMIT, decide_by_rules


def _order(fraud_flag: bool = False) -> Order:
    return Order(id=1, customer_email="ana@example.com", total=400.0, fraud_flag=fraud_flag)


def test_small_refund_is_approved() -> None:
    assert decide_by_rules(_order(), 19.90) is Decision.APPROVE


def test_refund_at_the_limit_is_approved() -> None:
    assert decide_by_rules(_order(), AUTO_APPROVE_LIMIT) is Decision.APPROVE


def test_refund_above_the_limit_goes_to_review() -> None:
    assert decide_by_rules(_order(), AUTO_APPROVE_LIMIT + 0.01) is Decision.ESCALATE


def test_fraud_flag_goes_to_review_whatever_the_amount() -> None:
    assert decide_by_rules(_order(fraud_flag=True), 5.00) is Decision.ESCALATE
