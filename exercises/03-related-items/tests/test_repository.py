"""Storage round trips through a real SQLite file."""

from pathlib import Path

import pytest

from shop.models import Customer, Product
from shop.repository import ShopRepository


@pytest.fixture
def repo(tmp_path: Path) -> ShopRepository:
    return ShopRepository(tmp_path / "shop.db")


def _product(repo: ShopRepository, sku: str, price_cents: int = 1000, discontinued: bool = False) -> Product:
    return repo.add_product(
        Product(id=None, sku=sku, name=f"Product {sku}", description="A product.", price_cents=price_cents,
                discontinued=discontinued)
    )


def _customer(repo: ShopRepository, name: str = "Ana Lima") -> Customer:
    email = name.lower().replace(" ", ".") + "@example.com"
    return repo.add_customer(Customer(id=None, name=name, email=email, address="1 Main Street"))


def test_customer_numbers_continue_the_old_shop(repo: ShopRepository) -> None:
    first = _customer(repo, "Ana Lima")
    second = _customer(repo, "Ben Okafor")
    assert (first.id, second.id) == (50001, 50002)


def test_stored_product_survives_reopening(repo: ShopRepository, tmp_path: Path) -> None:
    _product(repo, "SKU-1", price_cents=2490)
    again = ShopRepository(tmp_path / "shop.db").get_product("SKU-1")
    assert again is not None
    assert (again.sku, again.price_cents, again.discontinued) == ("SKU-1", 2490, False)


def test_unknown_product_and_customer_are_none(repo: ShopRepository) -> None:
    assert repo.get_product("SKU-404") is None
    assert repo.get_customer(50999) is None


def test_order_is_priced_from_the_catalog(repo: ShopRepository) -> None:
    customer = _customer(repo)
    _product(repo, "SKU-1", price_cents=1500)
    _product(repo, "SKU-2", price_cents=250)
    order = repo.place_order(customer.id, {"SKU-1": 1, "SKU-2": 4})
    assert order.total_cents == 2500
    assert [(line.sku, line.quantity) for line in repo.orders_of(customer.id)[0].lines] == [("SKU-1", 1), ("SKU-2", 4)]


def test_discontinued_products_cannot_be_ordered(repo: ShopRepository) -> None:
    customer = _customer(repo)
    _product(repo, "SKU-1", discontinued=True)
    with pytest.raises(ValueError):
        repo.place_order(customer.id, {"SKU-1": 1})


def test_skus_bought_by_a_customer(repo: ShopRepository) -> None:
    ana, ben = _customer(repo, "Ana Lima"), _customer(repo, "Ben Okafor")
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        _product(repo, sku)
    repo.place_order(ana.id, {"SKU-1": 1, "SKU-2": 1})
    repo.place_order(ben.id, {"SKU-3": 1})
    assert repo.skus_bought_by(ana.id) == {"SKU-1", "SKU-2"}


def test_co_purchase_counts_most_first_then_older_product(repo: ShopRepository) -> None:
    customer = _customer(repo)
    for sku in ("SKU-1", "SKU-2", "SKU-3", "SKU-4"):
        _product(repo, sku)
    repo.place_order(customer.id, {"SKU-1": 1, "SKU-4": 1})
    repo.place_order(customer.id, {"SKU-1": 1, "SKU-4": 2, "SKU-3": 1})
    repo.place_order(customer.id, {"SKU-1": 1, "SKU-2": 1})
    repo.place_order(customer.id, {"SKU-2": 1, "SKU-3": 1})  # no SKU-1: does not count for it
    # Orders are counted, not quantities; SKU-2 and SKU-3 tie and the older product (SKU-2) comes first.
    assert repo.co_purchase_counts("SKU-1") == [("SKU-4", 2), ("SKU-2", 1), ("SKU-3", 1)]
