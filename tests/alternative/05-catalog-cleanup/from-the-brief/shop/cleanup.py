"""Catalog clean-up: validate the supplier's rows one by one, then describe each product once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pandas as pd
from pydantic import BaseModel

from shop.config import Settings
from shop.models import CATEGORIES

UNITS = {
    "kg": ["kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"],
    "g": ["g", "gr", "gram", "grams"],
    "l": ["l", "ltr", "litre", "litres", "liter", "liters"],
    "ml": ["ml", "millilitre", "millilitres", "milliliter", "milliliters"],
    "piece": ["piece", "pieces", "pc", "pcs", "each", "ea"],
}
SPELLING_TO_UNIT = {spelling: unit for unit, spellings in UNITS.items() for spelling in spellings}
MARKERS = ("-", "n/a", "na", "null", "none")
COLUMNS = ["line", "sku", "name", "brand", "price", "unit"]
REQUEST_TIMEOUT_S = 20.0  # a caller's openai.OpenAI() would wait 600 s for one product
TYPES = {"line": "Int64", "sku": "string", "name": "string", "brand": "string", "price": "Float64",
         "unit": "string"}


class Rejected(Exception):
    """A row that cannot be used; the message is the reason."""


@dataclass
class Fields:
    sku: str | None
    name: str | None
    brand: str | None
    price: str | None
    unit: str | None


def _cell(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = " ".join(str(value).split())
    return None if text == "" or text.lower() in MARKERS else text


def _price(text: str) -> float:
    cleaned = re.sub(r"(?i)eur|€|\s", "", text)
    dots, commas = cleaned.count("."), cleaned.count(",")
    if dots and commas:
        last = max(cleaned.rfind("."), cleaned.rfind(","))
        decimal_sep = cleaned[last]
        other = "," if decimal_sep == "." else "."
        cleaned = cleaned.replace(other, "").replace(decimal_sep, ".")
    elif commas:
        cleaned = cleaned.replace(",", ".")
    if not re.match(r"^[0-9]+(?:\.[0-9]+)?$", cleaned):
        raise Rejected("invalid_price")
    return float(cleaned)


def _row(line: int, fields: Fields) -> dict[str, Any]:
    if fields.sku is None:
        raise Rejected("missing_sku")
    if fields.name is None:
        raise Rejected("missing_name")
    if fields.price is None:
        raise Rejected("missing_price")
    price = _price(fields.price)
    if fields.unit is None:
        raise Rejected("missing_unit")
    unit = SPELLING_TO_UNIT.get(fields.unit.lower().rstrip("."))
    if unit is None:
        raise Rejected("unknown_unit")
    sku = re.sub(r"[ _\-\t]+", "-", fields.sku.upper())
    return {"line": line, "sku": sku, "name": fields.name, "brand": fields.brand, "price": price, "unit": unit}


def normalise_catalog(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The supplier's file as (products, rejected)."""
    # pandas' own NA guesses are fine for "", "n/a", "N/A", "null"; _cell handles the rest of the markers.
    raw = pd.read_csv(path, dtype=object)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for position, record in enumerate(raw.to_dict("records")):
        line = position + 2
        fields = Fields(*(_cell(record.get(c)) for c in ("sku", "name", "brand", "price", "unit")))
        try:
            good.append(_row(line, fields))
        except Rejected as why:
            bad.append({"line": line, "reason": str(why)})
    products = pd.DataFrame(good, columns=COLUMNS).astype(TYPES)
    rejected = pd.DataFrame(bad, columns=["line", "reason"]).astype({"line": "Int64", "reason": "string"})
    return products, rejected


class Answer(BaseModel):
    category: str
    description: str


def _ask(client: openai.OpenAI, model: str, product: dict[str, Any]) -> Answer | None:
    facts = {k: (None if pd.isna(v) else v) for k, v in product.items() if k in ("sku", "name", "brand", "unit")}
    completion = client.chat.completions.parse(
        model=model,
        messages=[
            {"role": "system", "content": "Categorise shop products into one of: " + ", ".join(CATEGORIES)
             + ". Also write a short, factual product description (max two sentences)."},
            {"role": "user", "content": json.dumps(facts, ensure_ascii=False)},
        ],
        response_format=Answer,
        timeout=REQUEST_TIMEOUT_S,
    )
    message = completion.choices[0].message
    return message.parsed if message.parsed is not None and not message.refusal else None


def enrich_catalog(products: pd.DataFrame, client: openai.OpenAI, settings: Settings | None = None) -> pd.DataFrame:
    """products plus category and description, asked once per SKU."""
    model = (settings or Settings()).model
    answers = []
    seen: set[str] = set()
    for product in products.to_dict("records"):
        if product["sku"] in seen:
            continue
        seen.add(product["sku"])
        answer = _ask(client, model, product)
        answers.append({"sku": product["sku"], "category": answer.category if answer else None,
                        "description": answer.description if answer else None})
    table = pd.DataFrame(answers, columns=["sku", "category", "description"])
    table = table.astype({"sku": products["sku"].dtype, "category": "string", "description": "string"})
    joined = products.merge(table, on="sku", how="left", validate="many_to_one")
    return joined.set_index(products.index)
