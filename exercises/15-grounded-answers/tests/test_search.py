"""The search box: keyword matching with SQL LIKE."""

from pathlib import Path

import pytest

from helpdesk.config import Settings
from helpdesk.models import Article
from helpdesk.repository import ArticleRepository
from helpdesk.search import search_terms
from helpdesk.service import HelpCentre

ARTICLES = [
    Article("KB-101", "Reset your password", "Choose Forgot password on the sign-in page."),
    Article("KB-104", "Returns and refunds", "Start a return under Orders. We refund within 5 days."),
    Article("KB-105", "Delivery times", "Standard delivery takes 2 to 4 days. Returns are free."),
]


@pytest.fixture
def centre(tmp_path: Path) -> HelpCentre:
    repo = ArticleRepository(tmp_path / "help.db")
    for article in ARTICLES:
        repo.upsert(article)
    return HelpCentre(repo, Settings(db_path=repo.db_path))


def test_terms_drop_short_and_common_words() -> None:
    assert search_terms("How can I reset MY password? password!") == ["reset", "password"]


def test_article_with_more_terms_comes_first(centre: HelpCentre) -> None:
    assert [a.id for a in centre.search("refund for my return")] == ["KB-104", "KB-105"]


def test_title_match_breaks_ties(centre: HelpCentre) -> None:
    assert [a.id for a in centre.search("returns")] == ["KB-104", "KB-105"]


def test_no_match_finds_nothing(centre: HelpCentre) -> None:
    assert centre.search("bicycle") == []


def test_results_are_capped(centre: HelpCentre) -> None:
    capped = HelpCentre(centre.repo, Settings(db_path=centre.repo.db_path, max_results=1))
    assert len(capped.search("days")) == 1


def test_article_lookup(centre: HelpCentre) -> None:
    assert centre.article(" kb-105 ").title == "Delivery times"
    with pytest.raises(LookupError):
        centre.article("KB-999")
