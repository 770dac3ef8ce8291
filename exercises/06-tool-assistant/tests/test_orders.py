"""The order API as the support console uses it."""

from pathlib import Path

import pytest

from shop.config import Settings
from shop.models import OrderLine, OrderStatus
from shop.orders import OrderDesk
from shop.repository import OrderRepository


@pytest.fixture
def desk(tmp_path: Path) -> OrderDesk:
    settings = Settings(db_path=str(tmp_path / "shop.db"))
    return OrderDesk(OrderRepository(settings.db_path), settings)


def _order(desk: OrderDesk, status: OrderStatus = OrderStatus.DELIVERED, customer: str = "CUS-2001") -> str:
    lines = [OrderLine("MUG-01", "Stoneware mug", 2, 12.5), OrderLine("TEA-07", "Green tea, 100 g", 1, 7.9)]
    return desk.repo.add_order(customer, lines, status=status).ref


def test_lookup_order_has_lines_and_total(desk: OrderDesk) -> None:
    ref = _order(desk)
    order = desk.lookup_order(ref)
    assert ref == "ORD-1001"
    assert order.total == pytest.approx(32.9)
    assert [line.sku for line in order.lines] == ["MUG-01", "TEA-07"]
    assert desk.lookup_order(" ord-1001 ").id == order.id


def test_unknown_or_malformed_order_raises_lookup_error(desk: OrderDesk) -> None:
    with pytest.raises(LookupError):
        desk.lookup_order("ORD-1999")
    with pytest.raises(LookupError):
        desk.lookup_order("1001")


def test_list_orders_filters_by_customer_and_status(desk: OrderDesk) -> None:
    first = _order(desk)
    second = _order(desk, OrderStatus.SHIPPED)
    _order(desk, customer="CUS-2002")
    assert [o.ref for o in desk.list_orders("CUS-2001")] == [second, first]
    assert [o.ref for o in desk.list_orders("cus-2001", OrderStatus.SHIPPED)] == [second]


def test_refund_is_stored_and_limited_to_what_is_left(desk: OrderDesk) -> None:
    ref = _order(desk)
    refund = desk.issue_refund(ref, 12.5, "  One mug arrived broken. ")
    assert (refund.ref, refund.order_ref, refund.reason) == ("RF-1001", ref, "One mug arrived broken.")
    assert desk.lookup_order(ref).refunded == pytest.approx(12.5)
    with pytest.raises(ValueError):
        desk.issue_refund(ref, 20.41, "the rest and a bit")
    with pytest.raises(ValueError):
        desk.issue_refund(ref, 0, "nothing")
    desk.issue_refund(ref, 20.4, "the rest")


def test_return_only_for_delivered_orders_once(desk: OrderDesk) -> None:
    delivered, shipped = _order(desk), _order(desk, OrderStatus.SHIPPED)
    started = desk.start_return(delivered, "Wrong size")
    assert (started.ref, started.status.value) == ("RT-5001", "open")
    with pytest.raises(ValueError):
        desk.start_return(delivered, "Again")
    with pytest.raises(ValueError):
        desk.start_return(shipped, "Not here yet")


def test_cancel_only_placed_orders(desk: OrderDesk) -> None:
    placed, shipped = _order(desk, OrderStatus.PLACED), _order(desk, OrderStatus.SHIPPED)
    assert desk.cancel_order(placed).status is OrderStatus.CANCELLED
    with pytest.raises(ValueError):
        desk.cancel_order(shipped)
