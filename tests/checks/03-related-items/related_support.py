"""Shared helpers of kata 03's checks: a small outdoor-gear catalog, shops built per check, the service.

Every check builds its own SQLite file in `tmp_path` through the legacy repository's own API
(`ShopRepository`, `add_product`, `add_customer`, `place_order`, `set_discontinued`), so product ids
follow the catalog order below and customer numbers start at 50001.

A scenario gives a viewed product and the products bought together with it, in the legacy ranking's
order: the first is bought together with it in the most orders, each next one in one order fewer, so
the legacy order is fixed by the counts alone (no ties).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kata.checks import expect

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_LIMIT = 4
DEFAULT_POOL = 8
SCHEMA_FIELDS = ("skus",)

# sku -> (name, description, price in cents). Plain ASCII, no quotes: however a learner lays out the
# user message (plain text, JSON, a table), each description appears in it as written here.
CATALOG: dict[str, tuple[str, str, int]] = {
    "SKU-1001": ("Ridgeline 2 tent", "Two-person backpacking tent, 1.9 kg, two doors, two vestibules and "
                 "aluminium poles.", 34900),
    "SKU-1002": ("Ridgeline 2 footprint", "Groundsheet cut to the floor of the Ridgeline 2; keeps rocks and "
                 "wet ground off the tent floor.", 3990),
    "SKU-1003": ("Titanium tent stakes, set of 8", "Y-section stakes that hold in hard ground; 12 g each.",
                 2490),
    "SKU-1004": ("Pocket gas stove", "Folding canister stove, 75 g, boils a litre of water in four minutes.",
                 3490),
    "SKU-1005": ("Gas canister 230 g", "Isobutane and propane mix for canister stoves; the thread fits most "
                 "stoves.", 690),
    "SKU-1006": ("Titanium pot 900 ml", "Cooking pot with a lid that doubles as a pan; a small stove and a "
                 "230 g canister nest inside.", 4490),
    "SKU-1007": ("Insulated sleeping pad", "Inflatable pad with an R-value of 4.2 that packs to the size of a "
                 "water bottle.", 11900),
    "SKU-1008": ("Down sleeping bag, comfort minus 5", "Mummy bag with 800 fill power down, comfortable down "
                 "to minus five degrees; 1.1 kg.", 29900),
    "SKU-1009": ("Headlamp 400", "Rechargeable headlamp, 400 lumens, with a red night mode and USB-C "
                 "charging.", 4990),
    "SKU-1010": ("AAA batteries, pack of 12", "Alkaline batteries for headlamps, GPS units and avalanche "
                 "transceivers.", 890),
    "SKU-1011": ("Merino hiking socks", "Midweight socks with a cushioned heel and toe; merino wool blend.",
                 1990),
    "SKU-1012": ("Trekking poles, pair", "Collapsible aluminium poles with cork grips and flick locks.", 7990),
    "SKU-1013": ("Squeeze water filter", "Hollow-fibre filter that screws onto bottles and soft flasks; "
                 "removes bacteria and protozoa.", 3490),
    "SKU-1014": ("Storm shell jacket", "Three-layer waterproof shell with pit zips and a helmet-sized hood.",
                 21900),
    "SKU-1015": ("First aid kit, two people", "Dressings, blister plasters, tweezers and a foil blanket for "
                 "two people on a three-day trip.", 2990),
    "SKU-1016": ("Double-wall camp mug", "Stainless steel mug, 350 ml, with a sip lid; keeps tea hot for an "
                 "hour.", 1790),
    "SKU-1017": ("Dry bag 20 l", "Roll-top bag of coated nylon that keeps a sleeping bag dry in a "
                 "downpour.", 1590),
    "SKU-1018": ("Waterproof map case", "Clear map pocket with a neck cord; fits a folded 1:25k sheet.", 1290),
    "SKU-1019": ("Enamel camp mug", "Classic enamel mug, 300 ml.", 990),
    "SKU-1020": ("Folding trowel", "Aluminium trowel for digging a cat hole; 40 g.", 1190),
}

@dataclass(frozen=True)
class Shopper:
    """A customer of the checks' shops; the parts of the address are kept apart to look for leaks."""

    name: str
    email: str
    street: str
    postcode: str
    town: str

    @property
    def address(self) -> str:
        return f"{self.street}, {self.town} {self.postcode}"


# Customers who place the orders behind the co-purchase counts. Customer numbers: 50001, 50002, 50003.
SHOPPERS: list[Shopper] = [
    Shopper("Tomasz Wierzbicki", "t.wierzbicki@example.net", "88 Harbour Street", "YO21 3PN", "Whitby"),
    Shopper("Maren Holtby", "maren.holtby@example.org", "14 Quarry Lane", "CA12 5DS", "Keswick"),
    Shopper("Ines Carvalhal", "ines.carvalhal@example.com", "Rua das Flores 27", "4050-262", "Porto"),
]
BUYERS = (0, 2)  # the shoppers whose orders make the counts; Maren (index 1) orders only her history


@dataclass(frozen=True)
class Scenario:
    """A viewed product and what was bought with it, in the legacy ranking's order (most first)."""

    viewed: str
    together: tuple[str, ...]
    discontinued: frozenset[str] = field(default_factory=frozenset)

    def legacy(self, owned: Iterable[str] = ()) -> list[str]:
        """The legacy ranking, uncut: discontinued products and `owned` ones left out."""
        skip = set(self.discontinued) | set(owned)
        return [sku for sku in self.together if sku not in skip]


@dataclass
class Shop:
    """A shop built for one check: its repository and its customers (id, name, email, address)."""

    repo: Any
    customers: list[Any]


def scenario(viewed: str, *together: str, discontinued: Iterable[str] = ()) -> Scenario:
    return Scenario(viewed, tuple(together), frozenset(discontinued))


def build_shop(
    learner: Any,
    db_path: Path,
    scenarios: Sequence[Scenario],
    history: Sequence[dict[str, int]] = (),
) -> Shop:
    """The catalog, three customers, the orders behind each scenario's counts, and Maren's own orders
    (`history`); products are discontinued after the orders, as happens in a real shop."""
    viewed = [s.viewed for s in scenarios]
    for one in scenarios:
        # A viewed product appears only in its own scenario's orders, or another scenario would change its counts.
        assert all(v not in one.together for v in viewed), f"scenario {one.viewed} mentions a viewed product"
    models = learner.load("shop.models")
    repo = learner.load("shop.repository").ShopRepository(db_path)
    for sku, (name, description, price) in CATALOG.items():
        repo.add_product(models.Product(id=None, sku=sku, name=name, description=description, price_cents=price))
    customers = [
        repo.add_customer(models.Customer(id=None, name=who.name, email=who.email, address=who.address))
        for who in SHOPPERS
    ]
    turn = 0
    for one in scenarios:
        count = len(one.together)
        for n in range(count):
            # Order n holds the viewed product and the first count - n products: the k-th product is
            # bought together with the viewed one in count - k + 1 orders.
            lines = dict.fromkeys((one.viewed, *one.together[: count - n]), 1)
            repo.place_order(customers[BUYERS[turn % len(BUYERS)]].id, lines)
            turn += 1
    for lines in history:
        repo.place_order(customers[1].id, lines)
    for one in scenarios:
        for sku in one.discontinued:
            repo.set_discontinued(sku)
    return Shop(repo=repo, customers=customers)


def make_service(
    learner: Any,
    repo: Any,
    client: Any,
    *,
    model: str = DEFAULT_MODEL,
    related_limit: int = DEFAULT_LIMIT,
    rerank_pool: int = DEFAULT_POOL,
) -> Any:
    """ShopService(repo, settings=Settings(...), client=client), with a clear message when the brief's
    signatures are missing (as in the starter)."""
    settings_cls = learner.load("shop.config").Settings
    service_cls = learner.load("shop.service").ShopService
    fields = {"db_path": repo.db_path, "model": model, "related_limit": related_limit, "rerank_pool": rerank_pool}
    try:
        inspect.signature(settings_cls).bind(**fields)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(db_path=..., model={model!r}, related_limit={related_limit}, "
            f"rerank_pool={rerank_pool}) is refused ({err})",
            expected="Settings has the new fields model (default 'gpt-4o-mini') and rerank_pool (default 8)",
            hint="Add both fields to the Settings dataclass in shop/config.py.",
        )
    settings = settings_cls(**fields)
    try:
        inspect.signature(service_cls).bind(repo, settings=settings, client=client)
    except TypeError as err:
        expect(
            False,
            observed=f"ShopService(repo, settings=..., client=...) is refused ({err})",
            expected="ShopService(repo, settings=None, client=None), client being an openai.OpenAI",
            hint="Add a `client` parameter (default None) to ShopService and keep it for the model calls.",
        )
    return service_cls(repo, settings=settings, client=client)


def box(service: Any, sku: str, customer_id: int | None = None) -> list[str]:
    """The SKUs of `service.related_items(sku, customer_id=...)`, in order."""
    result = service.related_items(sku, customer_id=customer_id)
    expect(
        isinstance(result, list | tuple),
        observed=f"related_items({sku!r}) returned {type(result).__name__}",
        expected="a list of Product objects, best first, as before",
        hint="Return a list of the Product objects to show, like the legacy related_items does.",
    )
    skus = []
    for item in result:
        sku_of = getattr(item, "sku", None)
        expect(
            isinstance(sku_of, str),
            observed=f"related_items({sku!r}) returned an item {item!r} without a string `sku`",
            expected="Product objects (with .sku, .name, ...) as the legacy related_items returns",
            hint="Map the SKUs you keep back to the candidates' Product objects.",
        )
        skus.append(sku_of)
    return skus


def show(skus: Sequence[str]) -> str:
    return "[" + ", ".join(skus) + "]" if skus else "[] (an empty box)"


def body_text(request: Any) -> str:
    """Every key and value of a sent request's JSON body (messages, user, metadata, ...), one per line.

    Walked rather than dumped as JSON, where a newline becomes the two characters \\n and would hide a
    word at the start of a line from a whole-word search.
    """
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                found.append(str(key))
                walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner)
        elif value is not None:
            found.append(str(value))

    walk(request.body)
    return "\n".join(found)


def mentions(text: str, needle: str) -> bool:
    """`needle` appears in `text` as a whole word or phrase, ignoring case ("Ines" is not in "lines")."""
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, re.IGNORECASE) is not None


def customer_leaks(customers: Sequence[Any]) -> list[tuple[str, str]]:
    """(text, what it is) for every piece of customer data the checks' shops hold."""
    leaks: list[tuple[str, str]] = []
    for customer, who in zip(customers, SHOPPERS, strict=True):
        first, last = who.name.split(" ", 1)
        leaks += [
            (who.name, f"the name of customer {customer.id}"),
            (first, f"the first name of customer {customer.id}"),
            (last, f"the surname of customer {customer.id}"),
            (who.email, f"the e-mail address of customer {customer.id}"),
            (who.email.split("@")[0], f"the e-mail address of customer {customer.id}"),
            (who.street, f"the street address of customer {customer.id}"),
            (who.postcode, f"the postcode of customer {customer.id}"),
        ]
        if isinstance(customer.id, int) and customer.id >= 10000:  # too short a number would be found anywhere
            leaks.append((str(customer.id), f"the customer number {customer.id}"))
    return leaks
