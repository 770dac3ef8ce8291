"""Storage round trips through a real SQLite file."""

from pathlib import Path

import pytest

from shop.models import Product
from shop.repository import ProductRepository


@pytest.fixture
def repo(tmp_path: Path) -> ProductRepository:
    return ProductRepository(tmp_path / "shop.db")


def _product(sku: str, name: str = "Rolled Oats", price: str = "3.49") -> Product:
    return Product(id=None, sku=sku, name=name, brand="Hafergut", price=price, unit="kg")


def test_add_assigns_ids(repo: ProductRepository) -> None:
    first = repo.add(_product("SKU-1001"))
    second = repo.add(_product("SKU-1002"))
    assert (first.id, second.id) == (1, 2)


def test_stored_product_survives_reopening(repo: ProductRepository, tmp_path: Path) -> None:
    repo.add(_product("SKU-1001", price="3,49 €"))
    again = ProductRepository(tmp_path / "shop.db").get("SKU-1001")
    assert again is not None
    assert (again.name, again.price, again.unit, again.category) == ("Rolled Oats", "3,49 €", "kg", None)


def test_get_unknown_sku_returns_none(repo: ProductRepository) -> None:
    assert repo.get("SKU-9999") is None


def test_duplicate_skus_are_kept_and_the_oldest_wins(repo: ProductRepository) -> None:
    repo.add(_product("SKU-1001", price="3.49"))
    repo.add(_product("SKU-1001", price="3.59"))
    assert repo.count() == 2
    found = repo.get("SKU-1001")
    assert found is not None and found.price == "3.49"


def test_search_ignores_case(repo: ProductRepository) -> None:
    repo.add(_product("SKU-1001", name="Rolled Oats"))
    repo.add(_product("SKU-1002", name="Oat Drink Barista"))
    repo.add(_product("SKU-1003", name="Dark Chocolate"))
    assert [p.sku for p in repo.search("OAT")] == ["SKU-1001", "SKU-1002"]
