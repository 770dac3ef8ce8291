"""The support console's commands."""

from pathlib import Path

import pytest

from shop.cli import main
from shop.models import OrderLine, OrderStatus
from shop.repository import OrderRepository


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "shop.db"
    monkeypatch.setenv("SHOP_DB_PATH", str(path))
    repo = OrderRepository(path)
    repo.add_order("CUS-2001", [OrderLine("LAMP-3", "Desk lamp", 1, 49.0)], status=OrderStatus.DELIVERED,
                   note="Please leave it with the neighbours")
    repo.close()
    return path


def test_order_shows_lines_and_note(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["order", "ORD-1001"]) == 0
    out = capsys.readouterr().out
    assert "[delivered]" in out and "Desk lamp" in out and "neighbours" in out


def test_refund_then_return(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refund", "ORD-1001", "--amount", "10", "--reason", "Scratched base"]) == 0
    assert main(["return", "ORD-1001", "--reason", "Changed my mind"]) == 0
    assert capsys.readouterr().out.splitlines() == ["RF-1001 issued", "RT-5001 started"]


def test_errors_are_reported_not_raised(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refund", "ORD-1001", "--amount", "60", "--reason", "Too much"]) == 1
    assert "left to refund" in capsys.readouterr().err
