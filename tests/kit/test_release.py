"""`kata release` (student editions) and `kata gradescope` (the autograder bundle)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from kata.catalog import Catalog
from kata.grader import replay
from kata.instructor import release


def _prompts(cassette: Path) -> list[str]:
    """Every system and user text of a cassette's requests, plus echoed instructions."""
    texts = []
    for interaction in yaml.safe_load(cassette.read_text())["interactions"]:
        body = replay.parse_body(interaction["request"]["body"])
        for message in body.get("messages") or body.get("input") or []:
            # The prompt is what the code wrote; an assistant message repeats an answer the cassette holds
            # anyway (kata 10's repair request), a tool message the result of the learner's own function.
            if isinstance(message, dict) and isinstance(message.get("content"), str) \
                    and message.get("role", "user") in ("system", "developer", "user"):
                texts.append(message["content"])
        if isinstance(body.get("instructions"), str):
            texts.append(body["instructions"])
    return [t for t in texts if len(t) > 20]


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, release.ReleaseReport]:
    out = tmp_path_factory.mktemp("release") / "student"
    built = release.build(Catalog(REPO), out, with_hidden_checks=False)
    return out, built


def test_edition_has_no_solutions_and_proves_itself(edition) -> None:
    out, built = edition
    catalog = Catalog(REPO)
    assert built.proven and len(built.proof) == len(catalog.katas)
    assert all(r.score == r.max_score > 1 for r in built.proof)  # hidden checks ran in the proof
    assert not (out / "solutions").exists() and not (out / "tests").exists()
    assert not list(out.rglob("change.patch")) and not list(out.rglob("SOLUTION.md"))
    assert not list(out.rglob("standin.toml"))  # the scripted answers stay with the instructor
    for kata in catalog.katas:  # ... and no brief points at them, or at the command that needs them
        brief = (out / "exercises" / kata.name / "README.md").read_text()
        assert "--standin" not in brief and "standin.toml" not in brief and "kit-only" not in brief, kata.name
        assert "--standin" in (kata.exercise_dir / "README.md").read_text(), kata.name  # the kit's brief says it
    assert {p.name for p in (out / "exercises").iterdir()} == {k.name for k in catalog.katas}
    assert (out / "src" / "kata" / "cli.py").is_file() and (out / "noxfile.py").is_file()
    readme = (out / "README.md").read_text()
    assert "Student edition" in readme and "## The learner loop" in readme and "## Quick start" in readme
    for instructors in ("## The instructor loop", "### Threat model", "## For kit maintainers", "## Layout"):
        assert instructors not in readme  # the instructor's manual stays with the kit
    assert not (out / "docs").exists()  # nor the authoring guide
    assert "hidden_checks = false" in (out / release.EDITION_FILE).read_text()
    # A git repository, as the instructor loop says: one commit holding everything, nothing left over.
    log = subprocess.run(["git", "-C", str(out), "log", "--oneline"], capture_output=True, text=True).stdout
    status = subprocess.run(["git", "-C", str(out), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert log.count("\n") == 1 and "Student edition" in log and status == ""


def test_edition_cassettes_reveal_no_prompt_and_still_match(edition) -> None:
    out, built = edition
    catalog = Catalog(REPO)
    assert built.cassettes > 0 and built.bytes_after < built.bytes_before
    for kata in catalog.katas:
        for original in sorted(kata.cassette_dir.glob("*.yaml")):
            reduced = out / "fixtures" / kata.name / "cassettes" / original.name
            text = reduced.read_text()
            prompts = _prompts(original)
            assert not [p for p in prompts if p in text], f"{reduced} still holds a prompt"
            pattern = kata.spec.replay.record_pattern
            before = [replay.identify(i["request"]["method"], i["request"]["uri"], i["request"]["body"], pattern)
                      for i in yaml.safe_load(original.read_text())["interactions"]]
            after = [replay.identify(i["request"]["method"], i["request"]["uri"], i["request"]["body"], pattern)
                     for i in yaml.safe_load(text)["interactions"]]
            assert before == after


def test_responses_api_answers_lose_their_echoed_instructions() -> None:
    cassette = yaml.safe_dump({"interactions": [{
        "request": {"method": "POST", "uri": "https://api.openai.com/v1/responses", "headers": {},
                    "body": json.dumps({"model": "gpt-4o-mini", "instructions": "SECRET PROMPT",
                                        "input": "Ticket TCK-7"})},
        "response": {"status": {"code": 200, "message": "OK"}, "headers": {},
                     "body": {"string": json.dumps({"object": "response", "instructions": "SECRET PROMPT",
                                                    "output": []})}},
    }]})
    small = release.minimize_cassette(cassette, r"TCK-\d+")
    assert "SECRET PROMPT" not in small and "TCK-7" in small


def test_edition_without_hidden_checks_grades_the_service_tests_and_says_so(edition, kata_cli) -> None:
    out, _ = edition
    classroom = out / ".kata" / "classroom-test.json"
    code, printed = kata_cli("--root", out, "grade", "01", "--classroom", classroom)
    assert "existing-tests" in printed and "instructor grades the rest" in printed
    assert "model-routes-clear-tickets" not in printed
    # The untouched starter is not passed, nor at full marks: nothing here graded the change.
    assert code == 1 and "service tests pass" in printed and "1 katas not graded here" in printed, printed
    assert "at full marks" not in printed and "1/1" not in printed
    result = json.loads(classroom.read_text())
    assert result["status"] == "fail" and result["max_score"] == 0
    assert all(test["score"] == 0 for test in result["tests"])  # no points for what it did not grade
    code, listed = kata_cli("--root", out, "list")
    assert "service tests pass" in listed and "passed" not in listed
    code, shown = kata_cli("--root", out, "next")
    assert "Next: 01" in shown and "Every kata is passed" not in shown


@pytest.mark.parametrize("command", [["verify"], ["record", "01", "--standin"], ["cohort", "x", "--out", "y"]])
def test_instructor_commands_in_an_edition_say_it_is_one(edition, kata_cli, command) -> None:
    out, _ = edition
    code, printed = kata_cli("--root", out, *command)
    assert code == 2 and "this is a student edition" in printed and "Traceback" not in printed


def test_edition_hints_are_revealed_not_read(edition, kata_cli) -> None:
    out, _ = edition
    kata = Catalog(REPO).get("01")
    spec_text = (out / "exercises" / kata.name / "kata.toml").read_text()
    encoded = (out / "exercises" / kata.name / "hints.kata").read_text()
    assert "hints" not in spec_text.replace("kata hint", "")
    for hint in kata.spec.hints:  # no hint's words are readable in the edition's files
        words = hint.split()[:4]
        assert " ".join(words) not in spec_text and " ".join(words) not in encoded
    assert Catalog(out).get("01").spec == kata.spec  # the edition reads the same kata
    code, printed = kata_cli("--root", out, "hint", "01")
    assert code == 0 and "Hint 1/" in printed and "Hint 2/" not in printed, printed


def test_a_kata_toml_whose_hints_cannot_be_taken_out_is_refused() -> None:
    from kata.catalog import KitError, without_hints

    assert "hints" not in without_hints('id = "01"\nhints = [\n  "a",\n  "b",\n]\ntitle = "t"\n')
    assert without_hints('id = "01"\nhints = ["a"]  # on one line\ntitle = "t"\n') == 'id = "01"\ntitle = "t"\n'
    with pytest.raises(KitError):
        without_hints('id = "01"\nhints = [\n  "a",\n  "b"]\ntitle = "t"\n')


def test_edition_workflow_reports_points_to_github_classroom(edition) -> None:
    out, _ = edition
    flow = yaml.safe_load((out / release.WORKFLOW).read_text())
    steps = flow["jobs"]["grade"]["steps"]
    run = next(s["run"] for s in steps if s.get("id") == "katas")
    assert "nox -s grade -- --json kata-results.json --classroom classroom.json" in run
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"] == "katas" and "KATAS_RESULTS" in reporter["env"]


def test_classroom_result_is_the_reporters_format(kata_cli, minikit, tmp_path) -> None:
    out = tmp_path / "classroom.json"
    kata_cli("--root", minikit, "grade", "--solution", "--classroom", out)
    result = json.loads(out.read_text())
    assert result["version"] == 1 and result["status"] == "pass" and result["max_score"] == 7
    assert sum(t["score"] for t in result["tests"]) == 7
    assert {"name", "status", "message", "score"} <= set(result["tests"][0])


def test_self_graded_edition_includes_the_checks_and_grades_like_the_kit(kata_cli, minikit, tmp_path) -> None:
    out = tmp_path / "student"
    code, printed = kata_cli("--root", minikit, "release", out, "--with-hidden-checks", "--zip")
    assert code == 0 and "written and proven" in printed, printed
    assert (out / "tests" / "checks" / "01-echo" / "test_echo.py").is_file()
    assert not (out / "solutions").exists() and not (out / "tests" / "wrong").exists()
    names = zipfile.ZipFile(tmp_path / "student.zip").namelist()
    assert names and all(n.startswith("student/") for n in names)  # one top-level folder, like a download
    assert "student/exercises/01-echo/kata.toml" in names
    code, printed = kata_cli("--root", out, "grade")
    assert "01 Echo, louder  1/5" in printed and "02 Count words  1/2" in printed


def test_release_refuses_a_folder_that_is_not_empty(kata_cli, minikit, tmp_path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, printed = kata_cli("--root", minikit, "release", tmp_path / "full")
    assert code == 2 and "not empty" in printed


def _autograder(tmp_path: Path, bundle: Path, submission: dict[str, str] | None, minikit: Path,
                wrap: str = "") -> dict:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    sub = root / "submission" / wrap if wrap else root / "submission"
    if submission is not None:  # what a learner uploads: their kata folders
        for kata in ("01-echo", "02-count"):
            shutil.copytree(minikit / "exercises" / kata, sub / kata)
        for rel, text in submission.items():
            (sub / rel).write_text(text)
    else:
        sub.mkdir(parents=True)
        (sub / "README.txt").write_text("I uploaded the wrong thing\n")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "KATA_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_gradescope_bundle_grades_a_submission_like_gradescope(kata_cli, minikit, tmp_path) -> None:
    bundle = tmp_path / "autograder.zip"
    code, printed = kata_cli("--root", minikit, "gradescope", bundle, "--visibility", "visible")
    assert code == 0 and bundle.is_file(), printed
    names = set(zipfile.ZipFile(bundle).namelist())
    assert {"setup.sh", "run_autograder", "kata-checks.json", "kit/pyproject.toml",
            "kit/tests/checks/01-echo/test_echo.py"} <= names
    checks = json.loads(zipfile.ZipFile(bundle).read("kata-checks.json"))  # what the finisher holds results to
    assert {k["id"]: sum(c["max_points"] for c in k["checks"]) for k in checks["katas"]} == {"01": 5, "02": 2}
    assert not [n for n in names if n.startswith("kit/solutions") or "/wrong/" in n]

    solved = (minikit / "solutions" / "01-echo" / "echo" / "__init__.py").read_text()
    results = _autograder(tmp_path / "a", bundle, {"01-echo/echo/__init__.py": solved}, minikit)
    assert results["score"] == 6  # echo solved (5), count left as the starter (1 of 2)
    tests = {t["number"]: t for t in results["tests"]}
    assert tests["01.shouts"]["status"] == "passed" and tests["01.shouts"]["score"] == 2
    assert tests["02.counts"]["status"] == "failed" and tests["02.counts"]["max_score"] == 1
    assert "observed: -1" in tests["02.counts"]["output"] and "def test_" not in tests["02.counts"]["output"]
    assert {t["visibility"] for t in results["tests"]} == {"visible"}

    broken = _autograder(tmp_path / "b", bundle, None, minikit)
    assert broken["score"] == 0 and broken["tests"]
    assert all(t["status"] == "failed" for t in broken["tests"])

    # GitHub's "Download ZIP": the kit in a folder of its own, as `kata cohort` accepts it too.
    wrapped = _autograder(tmp_path / "c", bundle, {"01-echo/echo/__init__.py": solved}, minikit,
                          wrap="katas-main/exercises")
    assert wrapped["score"] == 6, wrapped["output"]
