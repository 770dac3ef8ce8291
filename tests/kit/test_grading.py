"""Grading end to end on the mini kit: scores, outputs, exit codes, progress."""

from pathlib import Path
from xml.etree import ElementTree as ET

from conftest import load_json

from kata.outputs.results import GradeReport


def test_fresh_exercises_are_graded_unsolved(minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", minikit, "grade")
    assert code == 1
    assert "01 Echo, louder  1/5" in out and "02 Count words  1/2" in out
    assert "✘ Text comes back upper-cased" in out
    assert "observed: 'hi there'\n" in out and "expected: 'HI THERE'" in out and "hint: Upper-case the text." in out
    assert "✔ The service's existing tests still pass" in out


def test_solutions_get_full_marks_and_exit_0(minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", minikit, "grade", "--solution")
    assert code == 0, out
    assert "2 of 2 katas at full marks, 7/7 points" in out


def test_json_results_follow_the_schema(minikit: Path, kata_cli, tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.json"
    kata_cli("--root", minikit, "grade", "01", "--json", path)
    report = GradeReport.model_validate(load_json(path))
    (kata,) = report.katas
    assert (kata.id, kata.score, kata.max_score, kata.passed, kata.status) == ("01", 1, 5, False, "failed")
    checks = {c.id: c for c in kata.checks}
    assert list(checks) == ["existing-tests", "shouts", "greets", "model-configurable"]
    assert checks["shouts"].status == "failed" and checks["shouts"].max_points == 2
    assert checks["existing-tests"].guard and checks["existing-tests"].points == 1
    assert "cassette_plays" not in load_json(path)["katas"][0]
    # every check ran, so each has its own time, within the kata's
    assert all(c.duration_s is not None and 0 <= c.duration_s <= kata.duration_s for c in kata.checks), kata.checks


def test_junit_has_a_case_per_check(minikit: Path, kata_cli, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    kata_cli("--root", minikit, "grade", "--junit", path)
    suites = ET.parse(path).getroot()
    cases = {c.get("name"): c for c in suites.iter("testcase")}
    assert set(cases) == {"existing-tests", "shouts", "greets", "model-configurable", "counts"}
    assert cases["shouts"].find("failure") is not None
    assert cases["existing-tests"].find("failure") is None
    assert all(float(case.get("time")) >= 0 for case in cases.values())  # CI dashboards show a time per case


def test_progress_is_remembered_and_listed(minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", minikit, "list")
    assert code == 0 and out.count("not started") == 2
    kata_cli("--root", minikit, "grade", "01")
    code, out = kata_cli("--root", minikit, "list")
    assert "in progress 1/5" in out and "not started" in out
    assert (minikit / ".kata" / "progress.json").is_file()


def test_solution_grading_does_not_touch_progress(minikit: Path, kata_cli) -> None:
    kata_cli("--root", minikit, "grade", "--solution")
    assert not (minikit / ".kata" / "progress.json").exists()


def test_hints_are_revealed_one_at_a_time(minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", minikit, "hint", "01")
    assert code == 0 and "Hint 1/2 Make it louder." in out and "Hint 2/2" not in out
    code, out = kata_cli("--root", minikit, "hint", "01")
    assert "Hint 2/2" in out and "last hint" in out
    code, out = kata_cli("--root", minikit, "list")
    assert "2/2" in out


def test_check_runs_the_learners_own_tests(minikit: Path, kata_cli) -> None:
    code, _ = kata_cli("--root", minikit, "check", "01")
    assert code == 0
    (minikit / "exercises" / "01-echo" / "tests" / "test_echo.py").write_text("def test_x():\n    assert 1 == 2\n")
    code, _ = kata_cli("--root", minikit, "check", "01")
    assert code == 1
