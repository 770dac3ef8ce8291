"""Storage round trips through a real SQLite file."""

from pathlib import Path

import pytest

from shop.models import Decision, Order, RefundRequest, RefundStatus
from shop.repository import ShopRepository


@pytest.fixture
def repo(tmp_path: Path) -> ShopRepository:
    return ShopRepository(tmp_path / "shop.db")


def _order(repo: ShopRepository, total: float = 120.0, fraud_flag: bool = False) -> Order:
    return repo.add_order(Order(id=None, customer_email="ana@example.com", total=total, fraud_flag=fraud_flag))


def _refund(order: Order, amount: float, status: RefundStatus) -> RefundRequest:
    return RefundRequest(id=None, order_id=order.id, amount=amount, reason="late", status=status)


def test_order_round_trip(repo: ShopRepository, tmp_path: Path) -> None:
    stored = _order(repo, total=89.5, fraud_flag=True)
    again = ShopRepository(tmp_path / "shop.db").get_order(stored.id)
    assert again is not None
    assert (again.total, again.fraud_flag, again.customer_email) == (89.5, True, "ana@example.com")


def test_refund_refs_start_at_rf_1001(repo: ShopRepository) -> None:
    order = _order(repo)
    first = repo.add_refund(_refund(order, 10.0, RefundStatus.APPROVED))
    second = repo.add_refund(_refund(order, 12.0, RefundStatus.IN_REVIEW))
    assert (first.ref, second.ref) == ("RF-1001", "RF-1002")


def test_unknown_ids_return_none(repo: ShopRepository) -> None:
    assert repo.get_order(7) is None
    assert repo.get_refund(7) is None


def test_list_refunds_filters_by_status(repo: ShopRepository) -> None:
    order = _order(repo)
    repo.add_refund(_refund(order, 10.0, RefundStatus.IN_REVIEW))
    repo.add_refund(_refund(order, 11.0, RefundStatus.APPROVED))
    repo.add_refund(_refund(order, 12.0, RefundStatus.IN_REVIEW))
    assert [r.amount for r in repo.list_refunds(RefundStatus.IN_REVIEW)] == [10.0, 12.0]


def test_refunded_total_counts_approved_refunds_only(repo: ShopRepository) -> None:
    order = _order(repo)
    repo.add_refund(_refund(order, 10.0, RefundStatus.APPROVED))
    repo.add_refund(_refund(order, 30.0, RefundStatus.DENIED))
    pending = repo.add_refund(_refund(order, 25.0, RefundStatus.IN_REVIEW))
    assert repo.refunded_total(order.id) == 10.0
    repo.set_refund_status(pending.id, RefundStatus.APPROVED)
    assert repo.refunded_total(order.id) == 35.0


def test_audit_trail_keeps_every_decision_in_order(repo: ShopRepository, tmp_path: Path) -> None:
    refund = repo.add_refund(_refund(_order(repo), 80.0, RefundStatus.IN_REVIEW))
    repo.add_audit(refund.id, Decision.ESCALATE, decided_by="rules")
    repo.add_audit(refund.id, Decision.DENY, decided_by="m.kowalski")
    trail = ShopRepository(tmp_path / "shop.db").list_audit(refund.id)
    assert [(e.decision, e.decided_by) for e in trail] == [
        (Decision.ESCALATE, "rules"),
        (Decision.DENY, "m.kowalski"),
    ]
