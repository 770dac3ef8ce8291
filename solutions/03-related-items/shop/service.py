"""The shop service: what the storefront, the back office and the CLI call."""

from __future__ import annotations

import logging

import openai

from shop.config import Settings
from shop.models import Order, Product
from shop.repository import ShopRepository
from shop.reranker import ModelReranker, merge_proposal

log = logging.getLogger(__name__)


class ShopService:
    """Product pages, "customers also bought" and orders, over one repository.

    With a `client`, a chat model orders the related-items box from the legacy ranking's best
    candidates; without one, the box is the legacy ranking, exactly as before the model came in.
    """

    def __init__(
        self,
        repo: ShopRepository,
        settings: Settings | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.reranker = (
            ModelReranker(client, self.settings.model, timeout=self.settings.model_timeout)
            if client is not None
            else None
        )

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

        Candidates are the legacy ranking: products bought in the same orders as `sku`, the most often
        bought together first, without discontinued products or anything the signed-in customer
        (`customer_id`) has already bought. With a model, it orders the first `settings.rerank_pool`
        of them; the box shows `settings.related_limit` products. The customer id is only used here,
        for the legacy ranking: it never reaches the model. Raises LookupError for an unknown SKU.
        """
        viewed = self.product(sku)
        limit = self.settings.related_limit
        if self.reranker is None:
            return self._legacy_ranking(sku, customer_id, limit)
        candidates = self._legacy_ranking(sku, customer_id, self.settings.rerank_pool)
        if len(candidates) < 2:  # nothing to order: no request
            return candidates[:limit]
        proposed = self.reranker.propose(viewed, candidates)
        if proposed is None:
            return candidates[:limit]
        return merge_proposal(proposed, candidates, limit)

    def _legacy_ranking(self, sku: str, customer_id: int | None, limit: int) -> list[Product]:
        owned = self.repo.skus_bought_by(customer_id) if customer_id is not None else set()
        related: list[Product] = []
        for other, together in self.repo.co_purchase_counts(sku):
            if together < self.settings.min_together or other in owned:
                continue
            # One query per row (SHOP-131): fine while the box shows a handful of products.
            product = self.repo.get_product(other)
            if product is None or product.discontinued:
                continue
            related.append(product)
            if len(related) == limit:
                break
        return related
