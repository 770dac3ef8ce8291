"""The cohort's report.html, loaded in headless Chromium: what it renders, offline, scripts included."""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

from kata.catalog import Catalog
from kata.instructor import cohort
from kata.outputs.results import CheckResult, KataResult, Problem, Status

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
# CI installs Chromium (.ci/run) and sets this, so the test can never be skipped there by accident.
REQUIRED = os.environ.get("KATA_REQUIRE_CHROMIUM") == "1"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1200,2000"]


def _kata(kata_id: str, slug: str, scores: dict[str, tuple[int, int]], problem: Problem | None = None) -> KataResult:
    checks = [CheckResult(id=cid, title=f"Check {cid}", points=got, max_points=top,
                          status=Status.PASSED if got == top else Status.FAILED,
                          message="" if got == top else "observed: x\nexpected: y\nhint: z")
              for cid, (got, top) in scores.items()]
    return KataResult.build(id=kata_id, slug=slug, title=slug, target="t", pass_mark=100, duration_s=1.0,
                            checks=checks, problem=problem, message="late" if problem else "")


def _cohort(out: Path) -> list[cohort.LearnerRecord]:
    catalog = Catalog(REPO)
    katas = [catalog.get("01"), catalog.get("09")]
    learners = []
    for i in range(12):  # learner i passes the hard check only when i % 4 == 0
        hard = (2, 2) if i % 4 == 0 else (0, 2)
        results = [_kata("01", "ticket-triage", {"easy": (1, 1), "hard": hard}),
                   _kata("09", "degraded-mode", {"retry": (3, 3) if i % 2 else (0, 3)},
                         problem=Problem.TIMEOUT if i == 5 else None)]
        if i == 3:  # the untouched starter: not attempted, left out of the pass rates
            results[0] = results[0].model_copy(update={"changed": False})
        if i == 7:  # a syntax error: broken, and said under Problems
            checks = [c.model_copy(update={"cause": "syntax", "message": "observed: your code does not compile: "
                                           "invalid syntax at helpdesk/service.py:3"}) if c.id == "hard" else c
                      for c in results[0].checks]
            results[0] = results[0].model_copy(update={"checks": checks, "changed": True})
        learners.append(cohort.LearnerRecord(learner=f"learner{i:02d}", source=f"learner{i:02d}", kind="folder",
                                             status="graded", score=sum(r.score for r in results), max_score=6,
                                             katas=results))
    learners.append(cohort.LearnerRecord(
        learner="mallory<script>", source="m.zip", kind="zip", status="refused", reason="a link pointing outside",
        score=0, max_score=6, katas=[]))
    summary = cohort.RunSummary(learners=learners, graded=24, reused=0, isolation="sandbox")
    cohort.write_outputs(out, learners, katas, summary)
    return learners


class _Dom(html.parser.HTMLParser):
    """Chromium's rendered DOM: table rows under the nearest element with an id, text by id, SVG bands."""

    VOID = {"input", "meta", "br", "img", "link", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str]] = []  # (tag, id or "")
        self.text: dict[str, str] = {}
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.bands: list[int] = []

    def _owner(self) -> str:
        return next((ident for _, ident in reversed(self.open) if ident), "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "tr":
            self.rows.setdefault(self._owner(), []).append(found)
        if tag == "rect" and "data-count" in found:
            self.bands.append(int(found["data-count"]))
        if tag not in self.VOID:
            self.open.append((tag, found.get("id", "")))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        owner = self._owner()
        if owner:
            self.text[owner] = self.text.get(owner, "") + data


@pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason="Chromium is not installed (CI installs it)")
def test_report_renders_in_chromium(tmp_path) -> None:
    assert CHROMIUM, "Chromium is required here (KATA_REQUIRE_CHROMIUM=1) but not installed"
    learners = _cohort(tmp_path)
    page = (tmp_path / "report.html").resolve()
    profile = tmp_path / "profile"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    dom = done.stdout
    assert "<table id=\"learners\"" in dom or "id=\"learners\"" in dom, done.stderr[-2000:]
    parsed = _Dom()
    parsed.feed(dom)

    # The inline script ran: it counted the learner rows into #shown.
    assert parsed.text.get("shown") == str(len(learners))
    # Histogram: one band per 10 points, the graded learners spread over them.
    assert len(parsed.bands) == 10 and sum(parsed.bands) == 12
    # Checks, per kata, hardest first, over the learners who attempted the kata: in 01 "hard" (3 of 11
    # passed; learner03 did not attempt it) above "easy" (11 of 11); in 09 "retry" (6 of 12).
    checks = [row["data-check"] for row in parsed.rows.get("checks", []) if "data-check" in row]
    assert checks == ["hard", "easy", "retry"]
    rates = [float(row["data-rate"]) for row in parsed.rows["checks"] if "data-rate" in row]
    assert rates == [27.3, 100.0, 50.0]
    # The katas table tells not attempted and broken apart from failed.
    assert "3/11" in parsed.text["katas"]  # kata 01: passed by 3 of the 11 who attempted it
    # The learner-by-kata grid: a state per cell, and each learner's feedback one click away.
    cells = {(r["data-learner"]): r for r in parsed.rows["learners"] if "data-learner" in r}
    assert len(cells) == 13
    assert "learner03" in dom and "state-not-attempted" in dom and "state-broken" in dom and "state-time-out" in dom
    assert "href=\"feedback/learner07.md\"" in dom
    # Every learner has a row; the refused one is listed among the problems with its reason.
    assert len([r for r in parsed.rows.get("learners", []) if "data-learner" in r]) == 13
    problems = [r.split("</li>")[0] for r in dom.split("<li") if "class=\"problem\"" in r]
    assert any("refused" in p and "link pointing outside" in p for p in problems)
    assert any("learner05" in p and "time-out" in p for p in problems)
    assert any("learner07" in p and "broken" in p and "does not compile" in p for p in problems)
    assert not any("learner03" in p for p in problems)  # not attempting is not a problem of the run
    # A learner id is text, never markup: the page's one script element is the report's own.
    assert dom.count("<script>") == 1 and "mallory&lt;script&gt;" in dom

    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_gradebook_and_checks_tell_not_attempted_and_broken_from_failed(tmp_path) -> None:
    import pandas as pd

    _cohort(tmp_path)
    book = pd.read_csv(tmp_path / "gradebook.csv").set_index("learner")
    assert book.loc["learner03", "notes"] == "01 not attempted"
    assert book.loc["learner07", "notes"] == "01 broken"
    assert book.loc["learner05", "notes"] == "09 time-out"
    assert pd.isna(book.loc["learner01", "notes"])  # attempted, some checks failed: the scores say it
    checks = pd.read_csv(tmp_path / "checks.csv")
    states = checks.groupby(["learner", "kata"])["kata_state"].first()
    assert states[("learner03", "01-ticket-triage")] == "not attempted"
    assert states[("learner00", "01-ticket-triage")] == "passed"
    assert states[("learner01", "01-ticket-triage")] == "attempted"
    feedback = (tmp_path / "feedback" / "learner07.md").read_text()
    assert "## 01 ticket-triage: 1/3 (broken)" in feedback


def test_report_fetches_nothing(tmp_path) -> None:
    _cohort(tmp_path)
    page = (tmp_path / "report.html").read_text()
    for marker in ("src=\"http", "href=\"http", "src='http", "href='http", "@import", "url(http"):
        assert marker not in page
    assert "<link " not in page  # styles are inline


def test_feedback_markdown_keeps_observed_expected_and_hint_apart() -> None:
    from markdown_it import MarkdownIt

    from kata.instructor.records import Kind, LearnerRecord, SubmissionStatus

    kata = _kata("01", "ticket-triage", {"a": (0, 2), "b": (0, 1), "c": (1, 1)})
    record = LearnerRecord(learner="ada", source="ada/", kind=Kind.FOLDER, status=SubmissionStatus.GRADED,
                           score=kata.score, max_score=kata.max_score, katas=[kata])
    rendered = MarkdownIt("commonmark").render(cohort.feedback_markdown(record))
    items = [line for line in rendered.splitlines() if line.startswith("<li>")]
    # Each line of a failed check's message is an item of its own, not one run-on paragraph.
    assert "<li><strong>observed:</strong> x</li>" in items and "<li><strong>hint:</strong> z</li>" in items
    assert "<li><strong>expected:</strong> y</li>" in items
    # The second check failed the same way: said once, in the one folding form.
    assert "<li><strong>observed:</strong> the same as the check above</li>" in items
    assert rendered.count("<strong>hint:</strong> z") == 1
