"""Domain objects shared by the repository and the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Product:
    """A catalog product. `sku` is the merchant's code (e.g. "SKU-1001"); `id` is None until stored."""

    id: int | None
    sku: str
    name: str
    description: str
    price_cents: int
    # Discontinued products keep their rows: old orders and invoices point at them.
    discontinued: bool = False


@dataclass
class Customer:
    """A registered customer. `id` is None until stored; stored ids start at 50001."""

    id: int | None
    name: str
    email: str
    address: str


@dataclass
class OrderLine:
    """One product of an order, at the price it had when the order was placed."""

    sku: str
    quantity: int
    unit_price_cents: int


@dataclass
class Order:
    """A placed order."""

    id: int | None
    customer_id: int
    lines: list[OrderLine] = field(default_factory=list)
    placed_at: datetime | None = None
    status: str = "placed"

    @property
    def total_cents(self) -> int:
        """The order total, in cents."""
        return sum(line.quantity * line.unit_price_cents for line in self.lines)
