"""Supplier catalog clean-up: normalise the supplier's messy CSV with pandas, then enrich each product once.

`normalise_catalog(path)` turns the file into a typed frame of valid rows and a frame of rejected rows
with a reason each; `enrich_catalog(products, client, settings)` asks the model about each unique
product (one request per normalised SKU) and joins the answer back onto every row of that product.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import openai
import pandas as pd

from shop.config import Settings
from shop.enrichment import ProductEnricher
from shop.importer import SUPPLIER_COLUMNS

log = logging.getLogger(__name__)

# The columns of the frames, in their order, with their dtypes ("str" is pandas 3's string dtype).
PRODUCT_DTYPES = {"line": "int64", "sku": "str", "name": "str", "brand": "str", "price": "float64", "unit": "str"}
ENRICHMENT_DTYPES = {"category": "str", "description": "str"}
REJECTED_DTYPES = {"line": "int64", "reason": "str"}

# A field holding one of these (after trimming, in any case) is missing, like an empty one.
MISSING_MARKERS = frozenset({"", "-", "n/a", "na", "null", "none"})

# Every spelling of a unit seen in supplier files so far (lower-case, without trailing dots).
UNIT_SPELLINGS: dict[str, str] = {
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"), "kg"),
    **dict.fromkeys(("g", "gr", "gram", "grams"), "g"),
    **dict.fromkeys(("l", "ltr", "litre", "litres", "liter", "liters"), "l"),
    **dict.fromkeys(("ml", "millilitre", "millilitres", "milliliter", "milliliters"), "ml"),
    **dict.fromkeys(("piece", "pieces", "pc", "pcs", "each", "ea"), "piece"),
}

# Checked in this order; a row gets the reason of the first rule it breaks.
REASONS = ("missing_sku", "missing_name", "missing_price", "invalid_price", "missing_unit", "unknown_unit")

_CURRENCY = re.compile(r"€|eur", re.IGNORECASE)
_AMOUNT = re.compile(r"\d+(\.\d+)?")
FIRST_DATA_LINE = 2  # the header is line 1 of the file


def normalise_catalog(source: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a supplier CSV and return `(products, rejected)`.

    `products`: the valid rows in file order, columns and dtypes as in PRODUCT_DTYPES (duplicates kept:
    several rows may share a SKU). `rejected`: the other rows, as `line` and `reason` (see REASONS).
    """
    # Every field as text, and no NA guessing: what counts as missing is decided below, in one place.
    raw = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")
    absent = [column for column in SUPPLIER_COLUMNS if column not in raw.columns]
    if absent:
        raise ValueError(f"{source}: the supplier file has no column {', '.join(absent)}")

    sku = _text(raw["sku"]).str.upper().str.replace(r"[\s_-]+", "-", regex=True)
    unit_written = _text(raw["unit"])
    price_written = _text(raw["price"])
    frame = pd.DataFrame(
        {
            "line": raw.index + FIRST_DATA_LINE,
            "sku": sku,
            "name": _text(raw["name"]),
            "brand": _text(raw["brand"]),
            "price": price_written.map(parse_price, na_action="ignore"),
            "unit": unit_written.str.lower().str.rstrip(".").map(UNIT_SPELLINGS),
        }
    )

    conditions = [
        frame["sku"].isna(),
        frame["name"].isna(),
        price_written.isna(),
        frame["price"].isna(),
        unit_written.isna(),
        frame["unit"].isna(),
    ]
    reason = pd.Series(np.select(conditions, REASONS, default=""), index=frame.index)
    valid = reason == ""

    products = frame.loc[valid].reset_index(drop=True).astype(PRODUCT_DTYPES)
    rejected = (
        pd.DataFrame({"line": frame.loc[~valid, "line"], "reason": reason[~valid]})
        .reset_index(drop=True)
        .astype(REJECTED_DTYPES)
    )
    for row in rejected.itertuples(index=False):
        log.info("supplier line %d rejected: %s", row.line, row.reason)
    return products, rejected


def enrich_catalog(products: pd.DataFrame, client: openai.OpenAI, settings: Settings | None = None) -> pd.DataFrame:
    """Return a copy of `products` with `category` and `description` from the model.

    One request per unique SKU, about the first row of that SKU; every row of the product gets the
    answer. A product without a usable answer keeps missing values in both columns.
    """
    settings = settings or Settings()
    enricher = ProductEnricher(client, settings.model, settings.model_timeout)
    categories: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    # The same product = the same normalised SKU, whatever else differs between its rows.
    for product in products.drop_duplicates("sku").to_dict("records"):
        answer = enricher.enrich(product)
        if answer is not None:
            categories[product["sku"]] = answer.category
            descriptions[product["sku"]] = answer.description
    enriched = products.copy()
    # Series.map keeps the frame's own index, so duplicates get the answer of their SKU.
    enriched["category"] = products["sku"].map(categories).astype(ENRICHMENT_DTYPES["category"])
    enriched["description"] = products["sku"].map(descriptions).astype(ENRICHMENT_DTYPES["description"])
    return enriched


def parse_price(written: str) -> float | None:
    """A supplier's price as a float, or None when it is not an amount.

    `€` and `EUR` (any case) and all whitespace are dropped. With both `.` and `,` in the amount, the
    last one is the decimal separator and the other groups thousands ("1.249,00" and "1,049.00");
    with only one of them, it is the decimal separator ("12,50").
    """
    amount = re.sub(r"\s+", "", _CURRENCY.sub("", written))
    if "," in amount and "." in amount:
        decimal = "," if amount.rfind(",") > amount.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        amount = amount.replace(thousands, "").replace(decimal, ".")
    else:
        amount = amount.replace(",", ".")
    return float(amount) if _AMOUNT.fullmatch(amount) else None


def _text(values: pd.Series) -> pd.Series:
    """Trimmed text with runs of whitespace collapsed; missing markers become missing values."""
    tidy = values.astype("str").str.strip().str.replace(r"\s+", " ", regex=True)
    return tidy.mask(tidy.str.lower().isin(MISSING_MARKERS))
