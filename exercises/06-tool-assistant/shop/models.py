"""Domain objects of the order API: orders and their lines, returns and refunds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

# Refs are what customers and agents quote; the offsets date from the move off the old shop system
# (2018) and can never change.
ORDER_REF_OFFSET = 1000
RETURN_REF_OFFSET = 5000
REFUND_REF_OFFSET = 1000


class OrderStatus(str, Enum):  # noqa: UP042 - written before StrEnum existed
    """Where an order stands. Values are stored in the database as they are."""

    PLACED = "placed"  # paid, not yet picked by the warehouse
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class ReturnStatus(str, Enum):  # noqa: UP042
    """Where a return stands; the warehouse moves it on when the parcel comes back."""

    OPEN = "open"
    RECEIVED = "received"


@dataclass
class OrderLine:
    """One line of an order: `quantity` times the product `sku` at `unit_price` (EUR)."""

    sku: str
    title: str
    quantity: int
    unit_price: float


@dataclass
class Order:
    """A customer order, with its lines and what was refunded on it so far."""

    id: int
    customer_ref: str  # "CUS-2001": customer accounts live in the CRM, not here
    status: OrderStatus
    total: float
    placed_at: datetime
    note: str = ""  # the customer's note from checkout, as typed
    lines: list[OrderLine] = field(default_factory=list)
    refunded: float = 0.0

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "ORD-1001"."""
        return f"ORD-{ORDER_REF_OFFSET + self.id}"


@dataclass
class ReturnRequest:
    """A return the support desk started: the customer sends the parcel back."""

    id: int
    order_ref: str
    reason: str
    status: ReturnStatus
    created_at: datetime

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "RT-5001"."""
        return f"RT-{RETURN_REF_OFFSET + self.id}"


@dataclass
class Refund:
    """Money paid back on an order (the payment provider is told by a nightly job)."""

    id: int
    order_ref: str
    amount: float
    reason: str
    created_at: datetime

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "RF-1001"."""
        return f"RF-{REFUND_REF_OFFSET + self.id}"
