"""Helpers of kata 05's checks: calling the learner's two functions, reading frames, the expected data.

Everything here observes behaviour only: what `normalise_catalog` and `enrich_catalog` (in
`shop.cleanup`, as the brief fixes) return, and the requests that reach the (replayed) model.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kata.checks import RemoteError, expect

DEFAULT_MODEL = "gpt-4o-mini"
CSV_NAME = "supplier_catalog.csv"
PRODUCT_COLUMNS = ["line", "sku", "name", "brand", "price", "unit"]
ENRICHMENT_COLUMNS = ["category", "description"]
SCHEMA_FIELDS = ("category", "description")  # sorted, as SentRequest.schema_fields lists them
MISSING = None  # an expected missing value (NaN or pd.NA both count)

# --------------------------------------------------------------------------- the supplier's file

# line -> (sku, name, brand, price, unit): the valid rows of fixtures/05-catalog-cleanup/data/supplier_catalog.csv
# after normalisation, as the brief's rules give them.
EXPECTED_PRODUCTS: dict[int, tuple[str, str, str | None, float, str]] = {
    2: ("SKU-1001", "Organic Rolled Oats", "Hafergut", 3.49, "kg"),
    3: ("SKU-1002", "Oat Drink Barista", "Oatly", 2.49, "l"),
    4: ("SKU-1003", "Dark Chocolate 70%", "Cacao Verde", 2.95, "piece"),
    5: ("SKU-1004", "Extra Virgin Olive Oil", "Oliveto", 12.5, "l"),
    7: ("SKU-1002", "oat drink barista", "OATLY", 2.49, "l"),
    8: ("SKU-1005", "Sea Salt Flakes", MISSING, 8.9, "kg"),
    10: ("SKU-1006", "Espresso Machine Classic", "Caffè Rapido", 1249.0, "piece"),
    12: ("SKU-1007", "Paper Towels 2-ply", MISSING, 2.15, "piece"),
    13: ("SKU-1001", "Organic Rolled Oats", "Hafergut", 3.49, "kg"),
    16: ("SKU-1008", "Vanilla Extract", "Bourbon & Co", 0.45, "ml"),
    18: ("SKU-1008", "Vanilla Extract", "Bourbon & Co", 0.45, "ml"),
    20: ("SKU-1009", "Saffron Threads", "Oro Rosso", 6.8, "g"),
    21: ("SKU-1010", "Stand Mixer Pro", "KitchenCraft", 1049.0, "piece"),
    22: ("SKU-1005", "Sea Salt Flakes", MISSING, 8.9, "kg"),
    25: ("SKU-1003", "DARK CHOCOLATE 70%", "cacao verde", 2.95, "piece"),
    26: ("SKU-1010", "Stand Mixer Pro", "KitchenCraft", 1049.0, "piece"),
}

# What each line was written as in the file, so a message can show the learner what went in.
WRITTEN = {
    2: 'SKU-1001,Organic Rolled Oats,Hafergut,"3,49 €",kg',
    3: " sku-1002 ,  Oat Drink   Barista ,Oatly,€2.49,L",
    4: "SKU-1003,Dark Chocolate 70%,Cacao Verde,EUR 2.95,pcs.",
    5: 'SKU 1004,Extra Virgin Olive Oil,Oliveto,"12,50",litre',
    6: ",Rye Crispbread,Nordbrot,2.19,piece",
    7: 'Sku_1002,oat drink barista,OATLY,"2,49",ltr',
    8: 'SKU-1005,Sea Salt Flakes,n/a,"8,90 EUR",Kilo',
    9: "SKU-1011,   ,Hafergut,1.99,kg",
    10: 'SKU-1006,Espresso Machine Classic,Caffè Rapido,"1.249,00 €",EA',
    11: "SKU-1012,Chickpeas,Bio Vita,,kg",
    12: 'SKU-1007,Paper Towels   2-ply,-,"2,15",pieces',
    13: "SKU-1001,Organic Rolled Oats,Hafergut,3.49,KGS",
    14: "SKU-1013,Truffle Oil,Oliveto,on request,ml",
    15: "SKU-1014,Basmati Rice,Tilda,4.20, n/a ",
    16: "SKU-1008,Vanilla Extract,Bourbon & Co,€ 0.45,ML",
    17: 'SKU-1015,Mineral Water,Fonte Alta,"0,65",crate',
    18: "SKU-1008,Vanilla Extract,Bourbon & Co,€ 0.45,ML",
    19: "SKU-1004,Extra Virgin Olive Oil,Oliveto,N/A,l",
    20: 'SKU-1009,Saffron Threads,Oro Rosso,"€ 6,80",Gram',
    21: 'SKU-1010,Stand Mixer Pro,KitchenCraft,"1,049.00 EUR",piece',
    22: "sku-1005,Sea Salt Flakes ,null,8.9,kilogram",
    23: ",,,,",
    24: "SKU-1016,Almond Butter,,,jar",
    25: "SKU-1003,DARK CHOCOLATE 70%,cacao verde,2.95€,piece",
    26: "sku - 1010,Stand Mixer Pro,KitchenCraft,EUR 1049,pc",
    27: "SKU-1017,Acacia Honey,Bee Garden,12.50.1,kg",
    28: "SKU-1018,Green Tea Sencha,Kyoto Leaf,-3,piece",
}

EXPECTED_REJECTED: dict[int, str] = {
    6: "missing_sku",
    9: "missing_name",
    11: "missing_price",
    14: "invalid_price",
    15: "missing_unit",
    17: "unknown_unit",
    19: "missing_price",
    23: "missing_sku",
    24: "missing_price",
    27: "invalid_price",
    28: "invalid_price",
}

ALL_LINES = sorted(EXPECTED_PRODUCTS.keys() | EXPECTED_REJECTED.keys())
VALID_SKUS = sorted({row[0] for row in EXPECTED_PRODUCTS.values()})
# SKUs written only on rejected lines: the model must never hear of them.
REJECTED_ONLY_SKUS = ["SKU-1011", "SKU-1012", "SKU-1013", "SKU-1014", "SKU-1016", "SKU-1017", "SKU-1018"]


# --------------------------------------------------------------------------- calling the learner's code


def _function(learner: Any, name: str) -> Callable[..., Any]:
    try:
        module = learner.load("shop.cleanup")
    except RemoteError as err:  # the import failed in the learner's process
        if not (err.is_a("ModuleNotFoundError") and ("'shop.cleanup'" in err.text or "'shop'" in err.text)):
            raise
        expect(
            False,
            observed="there is no module shop.cleanup",
            expected="shop/cleanup.py with normalise_catalog(path) and enrich_catalog(products, client, settings=None)",
            hint="Create shop/cleanup.py; the two functions may call code you put in other modules.",
        )
    function = getattr(module, name, None)
    expect(
        callable(function),
        observed=f"shop.cleanup has no function {name}",
        expected=f"shop.cleanup.{name}, as the brief describes it",
        hint="Define it in shop/cleanup.py, or import it there from the module where you wrote it.",
    )
    return function  # type: ignore[return-value]


def normalise(learner: Any, path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`normalise_catalog(path)`, with a clear message when it does not return two frames."""
    result = _function(learner, "normalise_catalog")(path)
    expect(
        isinstance(result, tuple) and len(result) == 2,
        observed=f"normalise_catalog returned {type(result).__name__}",
        expected="a pair (products, rejected) of pandas DataFrames",
        hint="return products, rejected",
    )
    products, rejected = result
    for label, frame in (("products", products), ("rejected", rejected)):
        expect(
            isinstance(frame, pd.DataFrame),
            observed=f"the {label} part of the result is a {type(frame).__name__}",
            expected=f"{label} is a pandas DataFrame",
            hint="Return two DataFrames: the valid rows, and the rejected rows with their reasons.",
        )
    return products, rejected


def settings_with(learner: Any, model: str | None) -> Any:
    """`Settings()` or `Settings(model=...)`, with a clear message when the field is missing."""
    settings_cls = learner.load("shop.config").Settings
    if model is None:
        return settings_cls()
    try:
        inspect.signature(settings_cls).bind(model=model)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(model={model!r}) is refused ({err})",
            expected="Settings has a field model (default 'gpt-4o-mini')",
            hint="Add `model: str = \"gpt-4o-mini\"` to the Settings dataclass in shop/config.py.",
        )
    return settings_cls(model=model)


def enrich(
    learner: Any,
    products: pd.DataFrame,
    client: Any,
    *,
    model: str | None = None,
    when_unmatched: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """`enrich_catalog(products, client=client, settings=Settings(...))`; the result must be a frame.

    When a request finds no recording, `when_unmatched` runs first: it may fail the check with a message
    about the requests sent so far (e.g. a second request about one SKU) before the replay error is raised.
    """
    function = _function(learner, "enrich_catalog")
    settings = settings_with(learner, model)
    try:
        inspect.signature(function).bind(products, client=client, settings=settings)
    except TypeError as err:
        expect(
            False,
            observed=f"enrich_catalog(products, client=..., settings=...) is refused ({err})",
            expected="enrich_catalog(products, client, settings=None)",
            hint="Give enrich_catalog the parameters products, client and settings (default None).",
        )
    try:
        result = function(products, client=client, settings=settings)
    except RemoteError as err:
        if not err.is_a("NoRecordingMatched"):
            raise
        if when_unmatched is not None:
            when_unmatched()
        raise
    expect(
        isinstance(result, pd.DataFrame),
        observed=f"enrich_catalog returned {type(result).__name__}",
        expected="a pandas DataFrame: the products with category and description added",
        hint="Return the enriched frame (a copy of products with two more columns).",
    )
    return result


# --------------------------------------------------------------------------- reading frames


def rows_by_line(frame: pd.DataFrame, label: str) -> dict[int, dict[str, Any]]:
    """The frame's rows keyed by their `line`, failing clearly without a usable `line` column."""
    expect(
        "line" in frame.columns,
        observed=f"the {label} frame has the columns {list(frame.columns)}",
        expected=f"a `line` column in the {label} frame: the row's line number in the file",
        hint="The header is line 1, so the first data row is line 2 (the read_csv index + 2).",
    )
    rows: dict[int, dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        line = record["line"]
        expect(
            is_number(line) and float(line).is_integer(),
            observed=f"the {label} frame has line={line!r}",
            expected="whole line numbers",
            hint="line = the read_csv index + 2, as integers.",
        )
        rows[int(line)] = record
    return rows


def is_missing(value: Any) -> bool:
    """NaN, None and pd.NA are all missing values."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def is_number(value: Any) -> bool:
    """A real number (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def same_text(value: Any, expected: str | None) -> bool:
    """Equal text, or both missing. Only real strings count as text (not Enum members, not numbers)."""
    if expected is None:
        return is_missing(value)
    return isinstance(value, str) and str(value) == expected


def same_price(value: Any, expected: float) -> bool:
    """A number equal to `expected` (to a millionth of a cent); text such as "3.49" is not a price."""
    if isinstance(value, str) or is_missing(value) or not is_number(value):
        return False
    return math.isclose(float(value), expected, abs_tol=1e-6)


def shown(value: Any) -> str:
    """A value as a learner would recognise it in a message, with its Python type when that matters."""
    if is_missing(value):
        return "a missing value"
    if isinstance(value, str):
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


def is_text_dtype(dtype: Any) -> bool:
    """pandas' string dtypes: `str` (pandas 3's default) and `string`; not `object`, not `category`."""
    return isinstance(dtype, pd.StringDtype)


def is_int_dtype(dtype: Any) -> bool:
    return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def is_float_dtype(dtype: Any) -> bool:
    return pd.api.types.is_float_dtype(dtype)


DTYPE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "line": (is_int_dtype, "an integer dtype (int64)"),
    "sku": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
    "name": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
    "brand": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
    "price": (is_float_dtype, "a float dtype (float64)"),
    "unit": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
    "category": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
    "description": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
    "reason": (is_text_dtype, "a string dtype (pandas 3's default `str`, or `string`)"),
}


def wrong_dtypes(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """`price is object` for every listed column whose dtype breaks the brief's rule."""
    return [f"{name} is {frame[name].dtype}" for name in columns if not DTYPE_RULES[name][0](frame[name].dtype)]


def requests_about(sent_requests: list[Any], sku: str) -> list[Any]:
    return [r for r in sent_requests if sku in r.records]


# --------------------------------------------------------------------------- frames the checks build


def product_frame(rows: list[tuple[int, str, str, str | None, float, str]]) -> pd.DataFrame:
    """A products frame exactly as the brief documents it (pandas 3's `str` dtype, missing brand as NaN)."""
    frame = pd.DataFrame(rows, columns=PRODUCT_COLUMNS)
    return frame.astype({"line": "int64", "sku": "str", "name": "str", "brand": "str", "price": "float64",
                         "unit": "str"})


# --------------------------------------------------------------------------- judging requests


def expect_one_sku_each(sent_requests: list[Any]) -> None:
    """Every request is about exactly one normalised SKU."""
    for request in sent_requests:
        expect(
            len(request.records) == 1,
            observed="a request whose user message mentions "
            + (", ".join(request.records) if request.records else "no normalised SKU (SKU- and digits)"),
            expected="one product per request, its normalised SKU (e.g. SKU-1002) in the user message",
            hint="Build the user message from one product only and put its normalised SKU in it.",
        )


def expect_no_repeats(sent_requests: list[Any], rows_of: dict[str, int]) -> None:
    """No SKU is asked about twice. `rows_of` gives how many rows each SKU has in the frame."""
    asked: dict[str, int] = {}
    for request in sent_requests:
        for sku in request.records:
            asked[sku] = asked.get(sku, 0) + 1
    repeated = {sku: n for sku, n in asked.items() if n > 1}
    expect(
        not repeated,
        observed=", ".join(f"{n} requests about {sku} (on {rows_of.get(sku, '?')} rows)"
                           for sku, n in repeated.items()),
        expected="one request per unique SKU, however many rows it has and however they differ",
        hint="The same product means the same normalised SKU: de-duplicate on the sku column alone, "
        "not per row and not on whole rows.",
    )
