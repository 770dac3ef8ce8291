"""Domain objects shared by the importer, the repository and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The category slugs of the web shop's navigation. Products without a category are only found by search.
CATEGORIES: tuple[str, ...] = (
    "bakery",
    "beverages",
    "breakfast",
    "dairy",
    "pantry",
    "snacks",
    "household",
    "kitchen",
    "personal-care",
)


@dataclass
class Product:
    """A catalog product as the supplier's file describes it. `id` is None until it is stored."""

    id: int | None
    sku: str
    name: str
    brand: str
    # Kept as the supplier wrote it ("3,49 €", "EUR 2.95"): the web shop parses it when it renders a page.
    price: str
    unit: str
    category: str | None = None  # set by hand in the back office; imported products have none
    description: str = ""
    imported_at: datetime | None = None
