"""Storage round trips through a real SQLite file."""

from pathlib import Path

from helpdesk.models import Article
from helpdesk.repository import ArticleRepository


def _article(article_id: str = "KB-101", body: str = "Open the sign-in page.") -> Article:
    return Article(id=article_id, title="Reset your password", body=body)


def test_stored_article_survives_reopening(tmp_path: Path) -> None:
    ArticleRepository(tmp_path / "help.db").upsert(_article())
    again = ArticleRepository(tmp_path / "help.db").get("KB-101")
    assert again is not None
    assert (again.title, again.body) == ("Reset your password", "Open the sign-in page.")
    assert again.updated_at is not None


def test_upsert_replaces_a_changed_article(tmp_path: Path) -> None:
    repo = ArticleRepository(tmp_path / "help.db")
    repo.upsert(_article())
    repo.upsert(_article(body="Choose Forgot password."))
    assert [a.body for a in repo.all()] == ["Choose Forgot password."]


def test_unchanged_article_keeps_its_date(tmp_path: Path) -> None:
    repo = ArticleRepository(tmp_path / "help.db")
    first = repo.upsert(_article())
    assert repo.upsert(_article()).updated_at == first.updated_at


def test_get_unknown_id_returns_none(tmp_path: Path) -> None:
    assert ArticleRepository(tmp_path / "help.db").get("KB-999") is None
