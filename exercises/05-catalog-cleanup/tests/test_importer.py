"""The nightly supplier import, on small CSV files written by each test."""

from pathlib import Path

import pytest

from shop.importer import CatalogImporter
from shop.repository import ProductRepository

HEADER = "sku,name,brand,price,unit\n"


@pytest.fixture
def repo(tmp_path: Path) -> ProductRepository:
    return ProductRepository(tmp_path / "shop.db")


def _csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "supplier.csv"
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_every_line_with_a_sku_is_imported(repo: ProductRepository, tmp_path: Path) -> None:
    path = _csv(tmp_path, "SKU-1001,Rolled Oats,Hafergut,3.49,kg", "SKU-1002,Oat Drink,Oatly,2.49,l")
    report = CatalogImporter(repo).import_file(path)
    assert (report.imported, report.skipped) == (2, 0)
    assert [p.sku for p in repo.list_all()] == ["SKU-1001", "SKU-1002"]


def test_values_are_kept_as_the_supplier_wrote_them(repo: ProductRepository, tmp_path: Path) -> None:
    # The web shop parses prices itself; the import must not change what it receives.
    path = _csv(tmp_path, 'SKU-1003,Dark Chocolate 70%,Cacao Verde,"2,95 €",pcs.')
    CatalogImporter(repo).import_file(path)
    product = repo.get("SKU-1003")
    assert product is not None
    assert (product.name, product.brand, product.price, product.unit) == (
        "Dark Chocolate 70%", "Cacao Verde", "2,95 €", "pcs."
    )


def test_line_without_sku_is_skipped(repo: ProductRepository, tmp_path: Path) -> None:
    path = _csv(tmp_path, ",Rye Crispbread,Nordbrot,2.19,piece", "SKU-1004,Olive Oil,Oliveto,12.50,l")
    report = CatalogImporter(repo).import_file(path)
    assert (report.imported, report.skipped) == (1, 1)
    assert repo.count() == 1


def test_missing_brand_is_stored_empty(repo: ProductRepository, tmp_path: Path) -> None:
    CatalogImporter(repo).import_file(_csv(tmp_path, "SKU-1005,Sea Salt Flakes,,1.89,kg"))
    product = repo.get("SKU-1005")
    assert product is not None and product.brand == ""


def test_non_ascii_names_survive(repo: ProductRepository, tmp_path: Path) -> None:
    CatalogImporter(repo).import_file(_csv(tmp_path, "SKU-1006,Espresso Machine,Caffè Rapido,249.00,piece"))
    product = repo.get("SKU-1006")
    assert product is not None and product.brand == "Caffè Rapido"
