"""The shop service: what the storefront, the back office and the CLI call."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from pydantic import BaseModel

from shop.config import Settings
from shop.models import Order, Product
from shop.repository import ShopRepository

log = logging.getLogger(__name__)

# A product page cannot wait for the SDK's default of ten minutes.
MODEL_TIMEOUT_S = 20.0

INSTRUCTIONS = (
    "You are a merchandiser for an outdoor equipment store. Given the product a visitor is viewing and "
    "a list of candidate products, return the candidate SKUs ordered from the best companion purchase "
    "to the weakest. Only return SKUs that appear in the candidate list."
)


class RankedSkus(BaseModel):
    """What the model must answer."""

    skus: list[str]


class ShopService:
    """Product pages, "customers also bought" and orders, over one repository."""

    def __init__(self, repo: ShopRepository, settings: Settings | None = None, client: Any = None) -> None:
        self.repo = repo
        self.settings = settings or Settings()
        self.client = client

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
        """The "customers also bought" box, optionally ordered by a model over the legacy candidates."""
        if self.client is None:
            return self._legacy(sku, customer_id, self.settings)
        limit = self.settings.related_limit
        wide = dataclasses.replace(self.settings, related_limit=max(self.settings.rerank_pool, limit))
        candidates = self._legacy(sku, customer_id, wide)
        fallback = candidates[:limit]
        if len(candidates) <= 1:
            return fallback
        try:
            answer = self._ask(self.product(sku), candidates)
        except Exception:  # whatever goes wrong with the model, the page shows the legacy box
            log.exception("re-ranking %s failed; showing the legacy ranking", sku)
            return fallback
        if answer is None:
            return fallback
        by_sku = {c.sku: c for c in candidates}
        picked = [by_sku[s] for s in dict.fromkeys(answer) if s in by_sku]
        picked_skus = {p.sku for p in picked}
        padded = picked + [c for c in candidates if c.sku not in picked_skus]
        return padded[:limit]

    def _ask(self, viewed: Product, candidates: list[Product]) -> list[str] | None:
        payload = {
            "viewing": {"sku": viewed.sku, "name": viewed.name, "description": viewed.description},
            "candidates": [
                {"sku": c.sku, "name": c.name, "description": c.description, "price_eur": c.price_cents / 100}
                for c in candidates
            ],
        }
        completion = self.client.chat.completions.parse(
            model=self.settings.model,
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": json.dumps(payload, indent=1)},
            ],
            response_format=RankedSkus,
            timeout=MODEL_TIMEOUT_S,
        )
        parsed = completion.choices[0].message.parsed
        return None if parsed is None else parsed.skus

    def _legacy(self, sku: str, customer_id: int | None, settings: Settings) -> list[Product]:
        """Legacy ranking: co-purchase counts, minus owned and discontinued products, cut at the limit."""
        self.product(sku)
        owned = self.repo.skus_bought_by(customer_id) if customer_id is not None else set()
        related: list[Product] = []
        for other, together in self.repo.co_purchase_counts(sku):
            if together < settings.min_together or other in owned:
                continue
            product = self.repo.get_product(other)
            if product is None or product.discontinued:
                continue
            related.append(product)
            if len(related) == settings.related_limit:
                break
        return related
