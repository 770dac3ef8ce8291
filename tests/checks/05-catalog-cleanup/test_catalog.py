"""Hidden checks of kata 05, catalog clean-up: normalise the supplier's CSV with pandas, then enrich each
unique product once with structured output and join the answer back onto all of its rows.

The normalisation checks read the kit's copy of the supplier file (`kata_data`) and compare the two
frames `normalise_catalog` returns with what the brief's rules give, line by line. The enrichment checks
hand `enrich_catalog` a products frame built here exactly as the brief documents it, so they do not
depend on the learner's normalisation; one check runs both steps on the supplier's file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from catalog_support import (
    ALL_LINES,
    CSV_NAME,
    DTYPE_RULES,
    ENRICHMENT_COLUMNS,
    EXPECTED_PRODUCTS,
    EXPECTED_REJECTED,
    PRODUCT_COLUMNS,
    REJECTED_ONLY_SKUS,
    SCHEMA_FIELDS,
    VALID_SKUS,
    WRITTEN,
    enrich,
    expect_no_repeats,
    expect_one_sku_each,
    normalise,
    product_frame,
    requests_about,
    rows_by_line,
    same_price,
    same_text,
    shown,
    wrong_dtypes,
)

from kata.checks import check, expect

# --------------------------------------------------------------------------- the model's recorded answers

# sku -> (category, description), as scripted in fixtures/05-catalog-cleanup/standin.toml
COUNTED_ANSWERS = {
    "SKU-2001": "beverages",
    "SKU-2002": "pantry",
    "SKU-2003": "kitchen",
}
JOINED_ANSWERS = {
    "SKU-3001": ("bakery", "A dense rye sourdough loaf with a dark, chewy crust."),
    "SKU-3002": ("dairy", "Thick strained Greek-style yoghurt with 10% fat."),
    "SKU-3003": ("household", "Dishwasher tablets for everyday loads."),
}
FIXTURE_CATEGORIES = {
    "SKU-1001": "breakfast",
    "SKU-1002": "beverages",
    "SKU-1003": "snacks",
    "SKU-1004": "pantry",
    "SKU-1005": "pantry",
    "SKU-1006": "kitchen",
    "SKU-1007": "household",
    "SKU-1008": "pantry",
    "SKU-1009": "pantry",
    "SKU-1010": "kitchen",
}

# (line, sku, name, brand, price, unit): already normalised, duplicates differing in casing and price.
COUNTED_PRODUCTS = [
    (2, "SKU-2001", "Cold Brew Coffee", "Nordic Roast", 3.2, "l"),
    (3, "SKU-2002", "Buckwheat Flour", None, 2.75, "kg"),
    (5, "SKU-2001", "cold brew coffee", "NORDIC ROAST", 3.2, "l"),
    (6, "SKU-2003", "Beeswax Wraps", "Hive & Home", 9.9, "piece"),
    (8, "SKU-2001", "Cold Brew Coffee", "Nordic Roast", 3.19, "l"),
    (9, "SKU-2003", "Beeswax Wraps", "Hive & Home", 9.9, "piece"),
]
JOINED_PRODUCTS = [
    (2, "SKU-3001", "Sourdough Rye Loaf", "Backstube Nord", 4.8, "piece"),
    (3, "SKU-3002", "Greek Yoghurt 10%", "Olympos", 3.1, "kg"),
    (4, "SKU-3001", "SOURDOUGH RYE LOAF", "Backstube Nord", 4.8, "piece"),
    (7, "SKU-3003", "Dishwasher Tablets", None, 6.45, "piece"),
    (9, "SKU-3001", "Sourdough Rye Loaf", "backstube nord", 4.9, "piece"),
    (11, "SKU-3003", "Dishwasher Tablets", None, 6.45, "piece"),
]
CONFIGURED_PRODUCT = [(2, "SKU-4001", "Lavender Hand Soap", "Savonnerie Claire", 4.5, "piece")]
TIMEOUT_PRODUCT = [(2, "SKU-5001", "Linen Tea Towel", "Casa Lino", 7.9, "piece")]
MAX_TIMEOUT_S = 60.0  # the brief's ceiling for one model request
SDK_DEFAULT_TIMEOUT_S = 600.0  # what openai.OpenAI() waits when nobody says otherwise


def _written(line: int) -> str:
    return f"line {line} ({WRITTEN[line]!r})"


# --------------------------------------------------------------------------- normalisation


@check(
    "frame-schema",
    "The products frame has the documented columns and dtypes",
    points=2,
    cassette="frame-schema",
    hint="normalise_catalog(path) returns (products, rejected); cast the products' columns at the end.",
)
def test_frame_schema(learner: Any, kata_data: Path) -> None:
    # The path as a str here (the other checks pass a Path): the brief accepts both.
    products, _ = normalise(learner, str(kata_data / CSV_NAME))
    expect(
        list(products.columns) == PRODUCT_COLUMNS,
        observed=f"the products frame has the columns {list(products.columns)}",
        expected=f"exactly {PRODUCT_COLUMNS}, in this order",
        hint="Select the columns in the documented order, e.g. frame[[...]]; keep helper columns out.",
    )
    wrong = wrong_dtypes(products, PRODUCT_COLUMNS)
    every = ", ".join(f"{c} {products[c].dtype}" for c in PRODUCT_COLUMNS)
    expect(
        not wrong,
        observed=f"dtypes {', '.join(wrong)} (all: {every})",
        expected="; ".join(f"{name}: {DTYPE_RULES[name][1]}" for name in PRODUCT_COLUMNS),
        hint="A column of cleaned text is still text: convert prices with float()/pd.to_numeric and cast with "
        ".astype({...}); keep text in pandas' string dtype, not object.",
    )


@check(
    "text-tidied",
    "SKUs, names and brands are tidied; missing brands are missing values",
    points=2,
    cassette="text-tidied",
    hint="Trim, collapse inner whitespace, upper-case the SKU and unify its separators.",
)
def test_text_tidied(learner: Any, kata_data: Path) -> None:
    products, rejected = normalise(learner, kata_data / CSV_NAME)
    rows = rows_by_line(products, "products")
    reasons = _reasons(rejected)
    for line, (sku, name, brand, _price, _unit) in EXPECTED_PRODUCTS.items():
        if not _present(rows, reasons, line, ("missing_sku", "missing_name")):
            continue
        row = rows[line]
        for column, value, hint in (
            ("sku", sku, "Trim, upper-case, and turn every run of spaces, underscores or hyphens into one hyphen."),
            ("name", name, "Trim and collapse runs of whitespace into one space; keep the casing as written."),
            ("brand", brand, "Trim and collapse whitespace; empty cells and the missing markers (-, n/a, null ...) "
             "become missing values, not text."),
        ):
            expect(
                column in row and same_text(row[column], value),
                observed=f"{_written(line)} has {column} {shown(row.get(column))}",
                expected=f"{column} {shown(value)}",
                hint=hint,
            )


@check(
    "prices-parsed",
    "Prices become numbers: currency marks dropped, decimal commas understood",
    points=2,
    cassette="prices-parsed",
    hint="Drop € and EUR and the spaces, work out the decimal separator, then convert to float.",
)
def test_prices_parsed(learner: Any, kata_data: Path) -> None:
    products, rejected = normalise(learner, kata_data / CSV_NAME)
    rows = rows_by_line(products, "products")
    reasons = _reasons(rejected)
    for line, (_sku, _name, _brand, price, _unit) in EXPECTED_PRODUCTS.items():
        if not _present(rows, reasons, line, ("missing_price", "invalid_price")):
            continue
        value = rows[line].get("price")
        expect(
            same_price(value, price),
            observed=f"{_written(line)} has price {shown(value)}",
            expected=f"the number {price!r}",
            hint="With only a comma, the comma is the decimal separator (12,50 is 12.5); with both . and , the last "
            "one is the decimal separator and the other groups thousands (1.249,00 and 1,049.00).",
        )


@check(
    "units-mapped",
    "Unit spellings are mapped to the shop's five units",
    points=1,
    cassette="units-mapped",
    hint="Look the unit up in the brief's spelling table after trimming, lower-casing and dropping trailing dots.",
)
def test_units_mapped(learner: Any, kata_data: Path) -> None:
    products, rejected = normalise(learner, kata_data / CSV_NAME)
    rows = rows_by_line(products, "products")
    reasons = _reasons(rejected)
    for line, (_sku, _name, _brand, _price, unit) in EXPECTED_PRODUCTS.items():
        if not _present(rows, reasons, line, ("missing_unit", "unknown_unit")):
            continue
        value = rows[line].get("unit")
        expect(
            same_text(value, unit),
            observed=f"{_written(line)} has unit {shown(value)}",
            expected=f"unit {unit!r}",
            hint="Match spellings case-insensitively: L, KGS, EA, Gram and pcs. are all known spellings.",
        )


@check(
    "rejected-rows-reported",
    "Rows missing a required field are rejected with the documented reason",
    points=2,
    cassette="rejected-rows-reported",
    hint="Give each row the reason of the first rule it breaks, in the brief's order, and keep it out of products.",
)
def test_rejected_rows_reported(learner: Any, kata_data: Path) -> None:
    products, rejected = normalise(learner, kata_data / CSV_NAME)
    for column in ("line", "reason"):
        expect(
            column in rejected.columns,
            observed=f"the rejected frame has the columns {list(rejected.columns)}",
            expected="the columns line and reason (more columns are welcome)",
            hint="Build the rejected frame from the line numbers and the reasons of the rejected rows.",
        )
    wrong = wrong_dtypes(rejected, ["line", "reason"])
    expect(
        not wrong,
        observed="in the rejected frame, " + ", ".join(wrong),
        expected=f"line: {DTYPE_RULES['line'][1]}; reason: {DTYPE_RULES['reason'][1]}",
        hint="Cast the rejected frame too, e.g. .astype({'line': 'int64', 'reason': 'str'}).",
    )
    reasons = _reasons(rejected)
    for line, reason in EXPECTED_REJECTED.items():
        got = reasons.get(line)
        expect(
            got == reason,
            observed=f"{_written(line)} " + ("is not in the rejected frame" if got is None else f"has reason {got!r}"),
            expected=f"rejected with reason {reason!r}",
            hint="Reasons, in order: missing_sku, missing_name, missing_price, invalid_price, missing_unit, "
            "unknown_unit. A missing marker such as ' n/a ' (after trimming) makes a field missing, not unknown.",
        )
    extra = sorted(set(reasons) - set(EXPECTED_REJECTED))
    expect(
        not extra,
        observed="also rejected: " + "; ".join(f"{_written(line)} as {reasons[line]!r}" for line in extra),
        expected=f"only lines {sorted(EXPECTED_REJECTED)} are rejected",
        hint="These rows can be normalised: check the brief's rules for the field named by the reason.",
    )
    products_lines = [line for line in rows_by_line(products, "products")]
    both = sorted(set(products_lines) & set(EXPECTED_REJECTED))
    expect(
        not both,
        observed="rejected lines also in the products frame: " + ", ".join(_written(line) for line in both),
        expected="a rejected row is reported and left out of the products frame (so it never reaches the model)",
        hint="products = the rows without a reason; rejected = the rows with one.",
    )
    expect(
        sorted(products_lines) == sorted(EXPECTED_PRODUCTS) and len(set(products_lines)) == len(products_lines),
        observed=f"the products frame holds the lines {sorted(products_lines)}",
        expected=f"every valid line once, duplicates of a product included: {sorted(EXPECTED_PRODUCTS)} "
        f"(the file has the data lines {ALL_LINES[0]}..{ALL_LINES[-1]})",
        hint="Keep every valid row, even when another row has the same SKU: de-duplicate only the model calls.",
    )
    expect(
        products_lines == sorted(products_lines),
        observed=f"the products frame lists the lines in the order {products_lines}",
        expected="the valid rows in file order (lines ascending), as the supplier wrote them",
        hint="Report the file as it is: keep the rows in the order they were read; do not sort or group them.",
    )


def _reasons(rejected: pd.DataFrame) -> dict[int, Any]:
    if "line" not in rejected.columns or "reason" not in rejected.columns:
        return {}
    return {line: row.get("reason") for line, row in rows_by_line(rejected, "rejected").items()}


def _present(rows: dict[int, dict[str, Any]], reasons: dict[int, Any], line: int, own: tuple[str, ...]) -> bool:
    """Whether this check can judge the valid `line`. A valid line rejected for a reason about another
    field is left to that field's check (and to rejected-rows-reported), so one mistake fails one check;
    a line rejected for this check's field, or lost altogether, fails here."""
    if line in rows:
        return True
    reason = reasons.get(line)
    expect(
        reason is not None and reason not in own,
        observed=f"{_written(line)} is not in the products frame"
        + (f" (it was rejected as {reason!r})" if reason is not None else " nor in the rejected frame"),
        expected="the row is valid and kept, normalised",
        hint="Check this row against the brief's rules: every required field is there and can be normalised.",
    )
    return False


# --------------------------------------------------------------------------- enrichment


@check(
    "one-request-per-product",
    "One structured-output request per unique product, about that product only",
    points=3,
    cassette="one-request-per-product",
    hint="Ask the model once per unique SKU with chat.completions.parse, through the client you are given.",
)
def test_one_request_per_product(learner: Any, openai_client: Any, sent_requests: list[Any]) -> None:
    products = product_frame(COUNTED_PRODUCTS)
    rows_of = products["sku"].value_counts().to_dict()

    def judge_sent() -> None:
        expect_one_sku_each(sent_requests)
        expect_no_repeats(sent_requests, rows_of)

    enrich(learner, products, openai_client(), when_unmatched=judge_sent)
    judge_sent()
    skus = sorted(COUNTED_ANSWERS)
    about = {sku: len(requests_about(sent_requests, sku)) for sku in skus}
    expect(
        len(sent_requests) == len(skus) and all(n == 1 for n in about.values()),
        observed=f"{len(sent_requests)} requests for {len(products)} rows: "
        + ", ".join(f"{sku} in {n}" for sku, n in about.items()),
        expected=f"exactly one request per unique SKU: {len(skus)} ({', '.join(skus)}), "
        "even though SKU-2001 is on three rows written differently and SKU-2003 on two",
        hint="Ask about every unique SKU of the frame, once.",
    )
    for request in sent_requests:
        sku = request.records[0]
        expect(
            request.method == "POST" and request.path.endswith("/chat/completions"),
            observed=f"the request about {sku} went to {request.method} {request.path}",
            expected="POST /v1/chat/completions (the Chat Completions API)",
            hint="Use client.chat.completions.parse(...).",
        )
        expect(
            request.structured and tuple(request.schema_fields) == SCHEMA_FIELDS,
            observed=f"the request about {sku} asked for "
            + (
                f"a schema with fields {', '.join(request.schema_fields) or '(none)'}"
                if request.structured
                else "plain text, not structured output"
            ),
            expected="structured output whose schema has exactly the fields category and description",
            hint="Pass a pydantic model with the two fields `category` and `description` as response_format.",
        )
        names = {name.lower() for _line, row_sku, name, *_rest in COUNTED_PRODUCTS if row_sku == sku}
        expect(
            any(name in request.user_text.lower() for name in names),
            observed=f"the user message about {sku} does not carry the product's name",
            expected="the user message carries the product's SKU and name (and brand and unit)",
            hint="The model can only describe what it is shown: include the name in the user message.",
        )


@check(
    "enrichment-joined-to-duplicates",
    "Every row gets its product's category and description, duplicates included",
    points=2,
    cassette="enrichment-joined-to-duplicates",
    hint="Keep the answers by SKU and map them onto every row: products['sku'].map(...).",
)
def test_enrichment_joined(learner: Any, openai_client: Any, sent_requests: list[Any]) -> None:
    products = product_frame(JOINED_PRODUCTS)
    before = products.copy(deep=True)
    rows_of = products["sku"].value_counts().to_dict()
    enriched = enrich(
        learner, products, openai_client(), when_unmatched=lambda: expect_no_repeats(sent_requests, rows_of)
    )
    expect(
        products.equals(before) and list(products.columns) == PRODUCT_COLUMNS,
        observed="enrich_catalog changed the frame it was given",
        expected="the input frame is left as it was; the result is a new frame",
        hint="Work on products.copy() (or build a new frame with assign/merge).",
    )
    expect(
        list(enriched.columns) == PRODUCT_COLUMNS + ENRICHMENT_COLUMNS,
        observed=f"the enriched frame has the columns {list(enriched.columns)}",
        expected=f"{PRODUCT_COLUMNS + ENRICHMENT_COLUMNS}: the products' columns, then category and description",
        hint="Add exactly the two columns category and description after the existing ones.",
    )
    lines = [int(line) for line in enriched["line"]]
    expect(
        lines == [row[0] for row in JOINED_PRODUCTS],
        observed=f"the enriched frame has the lines {lines}",
        expected=f"the same rows in the same order as the input: lines {[row[0] for row in JOINED_PRODUCTS]}",
        hint="Return every input row, duplicates included, in the input's order.",
    )
    kept = [c for c in PRODUCT_COLUMNS if not DTYPE_RULES[c][0](enriched[c].dtype)]
    expect(
        not kept,
        observed="in the enriched frame, " + ", ".join(f"{c} is {enriched[c].dtype}" for c in kept),
        expected="the products' columns keep their dtypes",
        hint="Add columns to a copy instead of rebuilding the frame from Python objects.",
    )
    wrong = wrong_dtypes(enriched, ENRICHMENT_COLUMNS)
    expect(
        not wrong,
        observed="in the enriched frame, " + ", ".join(wrong),
        expected=f"category and description: {DTYPE_RULES['category'][1]}",
        hint="Cast the new columns, e.g. .astype('str').",
    )
    for record, (line, sku, name, *_rest) in zip(enriched.to_dict("records"), JOINED_PRODUCTS, strict=True):
        category, description = JOINED_ANSWERS[sku]
        expect(
            record["sku"] == sku and record["name"] == name,
            observed=f"the row of line {line} now has sku {shown(record['sku'])} and name {shown(record['name'])}",
            expected=f"sku {sku!r} and name {name!r}, as in the input",
            hint="Leave the products' own values as they were.",
        )
        expect(
            same_text(record["category"], category) and same_text(record["description"], description),
            observed=f"the row of line {line} ({sku}) has category {shown(record['category'])} and description "
            f"{shown(record['description'])}",
            expected=f"the answer recorded for {sku}: category {category!r}, description {description!r}",
            hint="Map the answers onto every row by SKU. Assigning a Series built from the unique rows aligns "
            "on their index and leaves the other rows empty.",
        )


@check(
    "supplier-file-end-to-end",
    "On the supplier's file: one request per valid product, none for rejected rows, answers on every row",
    points=2,
    cassette="supplier-file-end-to-end",
    hint="Normalise first, then enrich the products frame: one request per unique normalised SKU.",
)
def test_supplier_file_end_to_end(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path
) -> None:
    products, _ = normalise(learner, kata_data / CSV_NAME)
    rows_of = products["sku"].value_counts().to_dict() if "sku" in products.columns else {}

    def judge_sent() -> None:
        leaked = sorted({sku for sku in REJECTED_ONLY_SKUS if requests_about(sent_requests, sku)})
        expect(
            not leaked,
            observed=f"requests about {', '.join(leaked)}, which appear only on rejected rows",
            expected="no request about a rejected row",
            hint="Rejected rows are reported, not sent to the model: enrich only the products frame.",
        )
        expect_one_sku_each(sent_requests)
        expect_no_repeats(sent_requests, rows_of)

    enriched = enrich(learner, products, openai_client(), when_unmatched=judge_sent)
    judge_sent()
    counts = {sku: len(requests_about(sent_requests, sku)) for sku in VALID_SKUS}
    off = {sku: n for sku, n in counts.items() if n != 1}
    expect(
        len(sent_requests) == len(VALID_SKUS) and not off,
        observed=f"{len(sent_requests)} requests for the file's {len(VALID_SKUS)} valid products"
        + (": " + ", ".join(f"{sku} in {n}" for sku, n in off.items()) if off else ""),
        expected=f"exactly one request per unique normalised SKU: {len(VALID_SKUS)} "
        f"({VALID_SKUS[0]}..{VALID_SKUS[-1]}); ' sku-1002 ' and 'Sku_1002' are one product, SKU-1002",
        hint="Normalise the SKU (trim, upper-case, unify separators) before you de-duplicate on it.",
    )
    rows = rows_by_line(enriched, "enriched")
    missing = []
    for line, (sku, *_rest) in EXPECTED_PRODUCTS.items():
        row = rows.get(line)
        if row is None or not same_text(row.get("category"), FIXTURE_CATEGORIES[sku]):
            missing.append(f"line {line} ({sku}): " + ("no row" if row is None else shown(row.get("category"))))
    expect(
        not missing,
        observed="categories not as answered: " + "; ".join(missing),
        expected="every valid row, duplicates included, carries the category the model gave its SKU",
        hint="Join the answers back by SKU onto all the rows of the products frame.",
    )


@check(
    "model-is-configuration",
    "The model name comes from Settings",
    points=1,
    cassette="model-is-configuration",
    hint="Pass settings.model as the model of the request.",
)
def test_model_is_configuration(learner: Any, openai_client: Any, sent_requests: list[Any]) -> None:
    enriched = enrich(learner, product_frame(CONFIGURED_PRODUCT), openai_client(), model="gpt-4.1-mini")
    models = [r.model for r in sent_requests]
    expect(
        models == ["gpt-4.1-mini"],
        observed=f"requests sent with model(s) {models} while Settings(model='gpt-4.1-mini')",
        expected="one request with model 'gpt-4.1-mini'",
        hint="Use settings.model for the request; 'gpt-4o-mini' is only the default.",
    )
    category = enriched["category"].iloc[0] if "category" in enriched.columns and len(enriched) else None
    expect(
        same_text(category, "personal-care"),
        observed=f"SKU-4001 has category {shown(category)}",
        expected="'personal-care', the answer of 'gpt-4.1-mini'",
        hint="Use the configured model's answer like any other.",
    )


@check(
    "requests-have-a-timeout",
    "Model calls have a time-out shorter than the SDK's default",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Give every model request a read time-out of at most 60 seconds, whatever client the caller passes.",
)
def test_requests_have_a_timeout(learner: Any, openai_client: Any, sent_requests: list[Any]) -> None:
    # The client a caller builds with openai.OpenAI(): the SDK's own 600 s time-out, unless the call sets one.
    enrich(learner, product_frame(TIMEOUT_PRODUCT), openai_client(sdk_defaults=True))
    expect(
        len(sent_requests) > 0,
        observed="enrich_catalog sent no request about SKU-5001",
        expected="one request about SKU-5001, with a read time-out of at most 60 s",
        hint="Ask the model about every unique SKU of the frame, through the client you are given.",
    )
    for request in sent_requests:
        timeout = request.timeout
        expect(
            timeout is not None and 0 < timeout <= MAX_TIMEOUT_S,
            observed="the request about " + (", ".join(request.records) or "no SKU") + " was sent with "
            + _timeout_shown(timeout) + ", from a client built like openai.OpenAI()",
            expected=f"a read time-out of at most {MAX_TIMEOUT_S:g} s on every model request",
            hint="A client made with openai.OpenAI() waits up to 600 s for an answer: a stuck call would hold the "
            "nightly clean-up for ten minutes. Set a shorter time-out on the request yourself; where its value "
            "comes from is your choice.",
        )


def _timeout_shown(timeout: float | None) -> str:
    if timeout is None:
        return "no time-out at all"
    if timeout == SDK_DEFAULT_TIMEOUT_S:
        return f"a {timeout:g} s time-out (the SDK's default)"
    return f"a {timeout:g} s time-out"
