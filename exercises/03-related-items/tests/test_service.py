"""The service as the storefront uses it: the "customers also bought" box and orders."""

from pathlib import Path

import pytest

from shop.config import Settings
from shop.models import Customer, Product
from shop.repository import ShopRepository
from shop.service import ShopService

SKUS = ("SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5", "SKU-6")


@pytest.fixture
def service(tmp_path: Path) -> ShopService:
    settings = Settings(db_path=str(tmp_path / "shop.db"))
    repo = ShopRepository(settings.db_path)
    for sku in SKUS:
        repo.add_product(Product(id=None, sku=sku, name=f"Product {sku}", description="A product.", price_cents=999))
    return ShopService(repo, settings)


def _customer(service: ShopService, name: str) -> int:
    email = name.lower().replace(" ", ".") + "@example.com"
    customer = service.repo.add_customer(Customer(id=None, name=name, email=email, address="1 Main Street"))
    assert customer.id is not None
    return customer.id


def _buy_together(service: ShopService, customer_id: int, *baskets: tuple[str, ...]) -> None:
    for basket in baskets:
        service.place_order(customer_id, dict.fromkeys(basket, 1))


def _skus(products: list[Product]) -> list[str]:
    return [p.sku for p in products]


def test_related_items_most_often_bought_together_first(service: ShopService) -> None:
    ana = _customer(service, "Ana Lima")
    _buy_together(service, ana, ("SKU-1", "SKU-3"), ("SKU-1", "SKU-3", "SKU-2"), ("SKU-1", "SKU-2", "SKU-3"),
                  ("SKU-1", "SKU-5"))
    assert _skus(service.related_items("SKU-1")) == ["SKU-3", "SKU-2", "SKU-5"]


def test_related_items_are_cut_at_the_limit(service: ShopService) -> None:
    ana = _customer(service, "Ana Lima")
    _buy_together(service, ana, SKUS, SKUS[:5], SKUS[:4], SKUS[:3])
    assert _skus(service.related_items("SKU-1")) == ["SKU-2", "SKU-3", "SKU-4", "SKU-5"]


def test_discontinued_products_are_left_out(service: ShopService) -> None:
    ana = _customer(service, "Ana Lima")
    _buy_together(service, ana, ("SKU-1", "SKU-2"), ("SKU-1", "SKU-2", "SKU-3"))
    service.repo.set_discontinued("SKU-2")
    assert _skus(service.related_items("SKU-1")) == ["SKU-3"]


def test_what_the_customer_already_bought_is_left_out(service: ShopService) -> None:
    ana, ben = _customer(service, "Ana Lima"), _customer(service, "Ben Okafor")
    _buy_together(service, ana, ("SKU-1", "SKU-2"), ("SKU-1", "SKU-2", "SKU-3"))
    _buy_together(service, ben, ("SKU-2", "SKU-6"))
    assert _skus(service.related_items("SKU-1", customer_id=ben)) == ["SKU-3"]
    assert _skus(service.related_items("SKU-1", customer_id=ana)) == []
    assert _skus(service.related_items("SKU-1")) == ["SKU-2", "SKU-3"]


def test_product_never_bought_with_anything_has_no_related_items(service: ShopService) -> None:
    assert service.related_items("SKU-6") == []


def test_unknown_product_raises(service: ShopService) -> None:
    with pytest.raises(LookupError):
        service.related_items("SKU-404")


def test_empty_order_is_refused(service: ShopService) -> None:
    ana = _customer(service, "Ana Lima")
    with pytest.raises(ValueError):
        service.place_order(ana, {})
