"""The shop service: what the storefront, the back office and the CLI call."""

from __future__ import annotations

import logging

from shop.config import Settings
from shop.models import Order, Product
from shop.repository import ShopRepository

log = logging.getLogger(__name__)


class ShopService:
    """Product pages, "customers also bought" and orders, over one repository."""

    def __init__(self, repo: ShopRepository, settings: Settings | None = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()

    def product(self, sku: str) -> Product:
        """Return a product; raises LookupError when there is no such SKU."""
        product = self.repo.get_product(sku)
        if product is None:
            raise LookupError(f"no product {sku}")
        return product

    def place_order(self, customer_id: int, lines: dict[str, int]) -> Order:
        """Place an order of `lines` (SKU -> quantity) for a customer and return it."""
        if not lines or any(quantity < 1 for quantity in lines.values()):
            raise ValueError("an order needs at least one line, each with a quantity of 1 or more")
        order = self.repo.place_order(customer_id, lines)
        log.info("order %s placed by customer %s: %d lines", order.id, customer_id, len(order.lines))
        return order

    def related_items(self, sku: str, customer_id: int | None = None) -> list[Product]:
        """The "customers also bought" box of a product page, best first.

        Up to `settings.related_limit` products bought in the same orders as `sku`, the most often
        bought together first. Discontinued products are left out, and so is everything the signed-in
        customer (`customer_id`) has already bought. Raises LookupError for an unknown SKU.
        """
        self.product(sku)
        owned = self.repo.skus_bought_by(customer_id) if customer_id is not None else set()
        related: list[Product] = []
        for other, together in self.repo.co_purchase_counts(sku):
            if together < self.settings.min_together or other in owned:
                continue
            # One query per row (SHOP-131): fine while the box shows four products.
            product = self.repo.get_product(other)
            if product is None or product.discontinued:
                continue
            related.append(product)
            if len(related) == self.settings.related_limit:
                break
        return related
