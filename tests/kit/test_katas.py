"""The real kit proves itself: `kata verify` over every kata in exercises/."""

from pathlib import Path

from kata.catalog import Catalog
from kata.instructor import verify

REPO = Path(__file__).resolve().parents[2]


def test_every_kata_is_proven() -> None:
    verdicts = verify.verify(Catalog(REPO).katas)
    report = {v.kata.name: v.problems for v in verdicts if v.problems}
    assert report == {}, "\n".join(f"{name}: {p}" for name, problems in report.items() for p in problems)
    assert len(verdicts) >= 1
