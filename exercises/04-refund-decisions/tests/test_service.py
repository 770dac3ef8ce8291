"""The refund desk as the account page and the agents use it."""

from pathlib import Path

import pytest

from shop.config import Settings
from shop.models import Decision, Order, RefundStatus
from shop.repository import ShopRepository
from shop.service import RefundDesk


@pytest.fixture
def desk(tmp_path: Path) -> RefundDesk:
    settings = Settings(db_path=str(tmp_path / "shop.db"))
    return RefundDesk(ShopRepository(settings.db_path), settings)


def _order(desk: RefundDesk, total: float = 200.0, fraud_flag: bool = False) -> int:
    order = desk.repo.add_order(Order(id=None, customer_email="li@example.com", total=total, fraud_flag=fraud_flag))
    return order.id


def test_small_refund_is_approved_and_audited(desk: RefundDesk) -> None:
    refund = desk.request_refund(_order(desk), 24.99, "  Mug arrived broken.  ")
    assert refund.ref == "RF-1001"
    assert refund.status is RefundStatus.APPROVED
    assert desk.get(refund.id).reason == "Mug arrived broken."
    trail = desk.repo.list_audit(refund.id)
    assert [(e.decision, e.decided_by) for e in trail] == [(Decision.APPROVE, "rules")]


def test_large_refund_waits_in_the_review_queue(desk: RefundDesk) -> None:
    small = desk.request_refund(_order(desk), 20.0, "Wrong colour.")
    large = desk.request_refund(_order(desk), 150.0, "Sofa delivered with a torn cushion.")
    assert large.status is RefundStatus.IN_REVIEW
    assert [r.ref for r in desk.review_queue()] == [large.ref]
    assert small.status is RefundStatus.APPROVED


def test_fraud_flagged_order_waits_for_an_agent(desk: RefundDesk) -> None:
    refund = desk.request_refund(_order(desk, fraud_flag=True), 9.99, "Never arrived.")
    assert refund.status is RefundStatus.IN_REVIEW


def test_agent_resolves_from_the_queue(desk: RefundDesk) -> None:
    refund = desk.request_refund(_order(desk), 120.0, "Blender stopped working after a week.")
    resolved = desk.resolve(refund.id, approve=False, agent="m.kowalski")
    assert resolved.status is RefundStatus.DENIED
    assert desk.get(refund.id).status is RefundStatus.DENIED
    assert desk.review_queue() == []
    trail = desk.repo.list_audit(refund.id)
    assert [(e.decision, e.decided_by) for e in trail] == [
        (Decision.ESCALATE, "rules"),
        (Decision.DENY, "m.kowalski"),
    ]


def test_only_queued_requests_can_be_resolved(desk: RefundDesk) -> None:
    refund = desk.request_refund(_order(desk), 10.0, "Changed my mind.")
    with pytest.raises(ValueError):
        desk.resolve(refund.id, approve=True, agent="m.kowalski")


def test_cannot_refund_more_than_is_left(desk: RefundDesk) -> None:
    order_id = _order(desk, total=60.0)
    desk.request_refund(order_id, 40.0, "One of two lamps broken.")
    with pytest.raises(ValueError):
        desk.request_refund(order_id, 30.0, "The other lamp too.")
    with pytest.raises(ValueError):
        desk.request_refund(order_id, 0.0, "Nothing really.")


def test_unknown_order_raises(desk: RefundDesk) -> None:
    with pytest.raises(LookupError):
        desk.request_refund(999, 10.0, "Where is it?")
