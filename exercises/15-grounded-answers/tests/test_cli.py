"""The team's command line, run in-process."""

import io
from pathlib import Path

from helpdesk.cli import main


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_import_then_search_and_show(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "KB-107.md").write_text("# Gift cards\n\nGift cards are valid for three years.\n", encoding="utf-8")
    db = str(tmp_path / "help.db")
    assert _run("--db", db, "import", str(folder)) == (0, "imported 1 articles\n")
    assert _run("--db", db, "search", "gift", "card") == (0, "KB-107  Gift cards\n")
    code, shown = _run("--db", db, "show", "KB-107")
    assert code == 0 and "valid for three years" in shown


def test_unknown_article_is_an_error(tmp_path: Path) -> None:
    assert _run("--db", str(tmp_path / "help.db"), "show", "KB-999") == (1, "no article KB-999\n")
