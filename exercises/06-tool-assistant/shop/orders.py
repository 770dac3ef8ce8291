"""The order API: what the support console (and the account page) call to look at and act on orders."""

from __future__ import annotations

import logging
import re

from shop.config import Settings
from shop.models import ORDER_REF_OFFSET, Order, OrderStatus, Refund, ReturnRequest
from shop.repository import OrderRepository

log = logging.getLogger(__name__)

_ORDER_REF = re.compile(r"ORD-(\d+)")
# 0.005: money is a float (see the TODO in repository.py); 19.99 + 0.01 must still fit a 20.00 order.
_CENT_FUDGE = 0.005


class OrderDesk:
    """Order look-ups and the two actions the support desk may take on an order: a return and a refund."""

    def __init__(self, repo: OrderRepository, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()

    # ----------------------------------------------------------------- reading

    def lookup_order(self, order_ref: str) -> Order:
        """The order with this ref (e.g. "ORD-1001"), its lines and what was refunded on it.

        Raises LookupError when there is no such order.
        """
        order = self.repo.get_order(self._order_id(order_ref))
        if order is None:
            raise LookupError(f"no order {order_ref}")
        return order

    def list_orders(self, customer_ref: str, status: OrderStatus | None = None) -> list[Order]:
        """A customer's orders (e.g. of "CUS-2001"), newest first; only those with `status` when given."""
        return self.repo.orders_of(customer_ref.strip().upper(), status)

    # ----------------------------------------------------------------- acting

    def start_return(self, order_ref: str, reason: str) -> ReturnRequest:
        """Open a return for a delivered order; the customer gets the label by e-mail.

        Raises LookupError for an unknown order and ValueError when the order was not delivered,
        already has an open return, or no reason is given.
        """
        order = self.lookup_order(order_ref)
        if not reason.strip():
            raise ValueError("a return needs a reason")
        if order.status is not OrderStatus.DELIVERED:
            raise ValueError(f"{order.ref} is {order.status.value}: only delivered orders can be returned")
        if self.repo.open_return(order.id) is not None:
            raise ValueError(f"{order.ref} already has an open return")
        started = self.repo.add_return(order.id, reason.strip())
        log.info("return %s started for %s", started.ref, order.ref)
        return started

    def issue_refund(self, order_ref: str, amount: float, reason: str) -> Refund:
        """Refund `amount` EUR on an order (the payment provider pays it out overnight).

        Raises LookupError for an unknown order and ValueError when the amount is not positive or more
        than is left to refund, or no reason is given.
        """
        order = self.lookup_order(order_ref)
        if not reason.strip():
            raise ValueError("a refund needs a reason")
        left = order.total - order.refunded
        if amount <= 0 or amount > left + _CENT_FUDGE:
            raise ValueError(f"cannot refund {amount:.2f} on {order.ref}: {left:.2f} left to refund")
        refund = self.repo.add_refund(order.id, round(amount, 2), reason.strip())
        log.info("refund %s of %.2f %s on %s", refund.ref, amount, self.settings.currency, order.ref)
        return refund

    def cancel_order(self, order_ref: str) -> Order:
        """Cancel an order the warehouse has not picked yet. The checkout calls this, not the support
        console: a cancellation also voids the payment, which support must not do on a customer's word."""
        order = self.lookup_order(order_ref)
        if order.status is not OrderStatus.PLACED:
            raise ValueError(f"{order.ref} is {order.status.value}: only placed orders can be cancelled")
        self.repo.set_status(order.id, OrderStatus.CANCELLED)
        return self.lookup_order(order_ref)

    @staticmethod
    def _order_id(order_ref: str) -> int:
        match = _ORDER_REF.fullmatch(order_ref.strip().upper())
        if match is None:
            raise LookupError(f"{order_ref!r} is not an order ref (ORD-1234)")
        return int(match.group(1)) - ORDER_REF_OFFSET
