"""Reading the team's Markdown files."""

from pathlib import Path

import pytest

from helpdesk.importer import read_article, read_folder


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_title_and_body_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "KB-104.md", "# Returns and refunds\n\nFirst paragraph.\n\nSecond one.\n")
    article = read_article(path)
    assert (article.id, article.title) == ("KB-104", "Returns and refunds")
    assert article.body == "First paragraph.\n\nSecond one."


def test_file_name_must_be_an_id(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        read_article(_write(tmp_path, "returns.md", "# Returns\n\nText."))


def test_folder_skips_bad_files_and_keeps_id_order(tmp_path: Path) -> None:
    _write(tmp_path, "KB-102.md", "# Second\n\nB.")
    _write(tmp_path, "KB-101.md", "# First\n\nA.")
    _write(tmp_path, "KB-103.md", "no title line")
    _write(tmp_path, "notes.txt", "# Not an article")
    assert [a.id for a in read_folder(tmp_path)] == ["KB-101", "KB-102"]
