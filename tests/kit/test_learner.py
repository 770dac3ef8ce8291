"""The learner loop around grading: next, reset, solution, and errors translated for learners."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_json

from kata.catalog import Catalog
from kata.grader import replay
from kata.learn import learner, loop

ECHO = "01-echo/echo/__init__.py"
STORY = ("The echo service has answered every ping since 2019. Nobody remembers why it whispers. "
         "Operations would like it louder.")
BRIEF = f"""# Kata 01: Echo, louder

**Phase 2. Estimated time: 5 minutes.**

## The story

{STORY}

## Contracts the checks rely on

| what | contract |
|------|----------|
| construction | `greet(client, ref, model=...)` |
| requests | `POST /v1/chat/completions`; `model` is the `model` argument; plain text output |
| user message | holds the record's ref (e.g. `REC-1`); one record per request |
| count | one request per greeting, no retries |
"""


def solve(root: Path, kata: str) -> None:
    shutil.copytree(root / "solutions" / kata, root / "exercises" / kata, dirs_exist_ok=True)
    (root / "exercises" / kata / "SOLUTION.md").unlink()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=k", "-c", "user.email=k@example.org", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return done.stdout


# --------------------------------------------------------------------------- next


def test_next_is_the_first_kata_not_passed_with_its_opening(minikit: Path, kata_cli) -> None:
    (minikit / "exercises" / "01-echo" / "README.md").write_text(BRIEF)
    code, out = kata_cli("--root", minikit, "next")
    assert code == 0
    assert "Next: 01 Echo, louder" in out and "not started" in out and STORY in out
    assert "exercises/01-echo/README.md" in out and "kata watch 01" in out and "kata hint 01" in out
    solve(minikit, "01-echo")
    kata_cli("--root", minikit, "grade", "01")
    code, out = kata_cli("--root", minikit, "next")
    assert "Next: 02 Count words" in out and "kata watch 02" in out
    solve(minikit, "02-count")
    kata_cli("--root", minikit, "grade", "02")
    code, out = kata_cli("--root", minikit, "next")
    assert code == 0 and "Every kata is passed (2 of 2)" in out


# --------------------------------------------------------------------------- reset


def test_reset_outside_git_restores_the_kept_starter_and_backs_up_work(minikit: Path, kata_cli, monkeypatch) -> None:
    kata_cli("--root", minikit, "list")  # the first command keeps a copy of each starter
    assert (minikit / ".kata" / "starters" / "01-echo" / "echo" / "__init__.py").is_file()
    folder = minikit / "exercises" / "01-echo"
    starter = (folder / "echo" / "__init__.py").read_text()
    (folder / "echo" / "__init__.py").write_text("# my work\n")
    (folder / "echo" / "helpers.py").write_text("# a file I added\n")
    (folder / "tests" / "test_misc.py").unlink()
    (folder / "echo" / "__pycache__").mkdir()
    (folder / "echo" / "__pycache__" / "x.pyc").write_bytes(b"cache")  # caches are not the learner's work

    monkeypatch.setattr(loop, "_ask", lambda out, question: False)
    code, out = kata_cli("--root", minikit, "reset", "01")
    assert code == 1 and "Nothing changed." in out
    assert "restore  echo/__init__.py (you changed it)" in out and "restore  tests/test_misc.py (you deleted it)" in out
    assert "remove   echo/helpers.py (a file you added)" in out and "x.pyc" not in out
    assert (folder / "echo" / "helpers.py").exists()

    monkeypatch.setattr(loop, "_ask", lambda out, question: None)  # no terminal
    code, out = kata_cli("--root", minikit, "reset", "01")
    assert code == 1 and "--yes" in out and (folder / "echo" / "helpers.py").exists()

    code, out = kata_cli("--root", minikit, "reset", "01", "--yes")
    assert code == 0 and "Restored 2 file(s) and removed 1 file(s) you added" in out
    assert (folder / "echo" / "__init__.py").read_text() == starter and (folder / "tests" / "test_misc.py").exists()
    assert not (folder / "echo" / "helpers.py").exists()
    (backup,) = (minikit / ".kata" / "backups" / "01-echo").iterdir()
    assert (backup / "echo" / "__init__.py").read_text() == "# my work\n"
    assert (backup / "echo" / "helpers.py").read_text() == "# a file I added\n"
    assert str(backup.relative_to(minikit)) in out
    code, out = kata_cli("--root", minikit, "reset", "01")
    assert code == 0 and "already the starter" in out


def test_reset_forgets_the_last_grade_and_the_prompt_shows_its_choices(minikit: Path, kata_cli, monkeypatch,
                                                                      capsys) -> None:
    kata_cli("--root", minikit, "list")
    (minikit / "exercises" / ECHO).write_text((minikit / "solutions" / ECHO).read_text())
    kata_cli("--root", minikit, "grade", "01")
    kata_cli("--root", minikit, "hint", "01")
    code, listed = kata_cli("--root", minikit, "list")
    assert "passed 5/5" in listed
    kata_cli("--root", minikit, "reset", "01", "--yes")
    code, listed = kata_cli("--root", minikit, "list")
    assert "not started" in listed and "5/5" not in listed and "1/2" in listed  # the hint seen stays

    monkeypatch.setattr(loop.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda: "n")
    assert loop._ask(_console(), "Discard your changes to kata 01?") is False
    assert "Discard your changes to kata 01? [y/N]" in capsys.readouterr().out


def test_reset_in_a_clone_restores_the_kits_version_not_the_learners_commit(tmp_path: Path, minikit: Path,
                                                                          kata_cli) -> None:
    git(minikit, "init", "-q", "-b", "main")
    git(minikit, "add", "-A")
    git(minikit, "commit", "-q", "-m", "kit")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(minikit), str(clone))
    work = clone / "exercises" / ECHO
    work.write_text("# committed work\n")
    git(clone, "commit", "-q", "-am", "my work")
    code, out = kata_cli("--root", clone, "reset", "01", "--yes")
    assert code == 0 and "git origin/main" in out
    assert work.read_text() == (minikit / "exercises" / ECHO).read_text()
    assert not (clone / ".kata" / "starters").exists()  # inside git the kit keeps no copy

    git(minikit, "checkout", "-q", "-b", "solo")  # no upstream: HEAD is the starter
    (minikit / "exercises" / ECHO).write_text("# edited\n")
    pristine = learner.starter(Catalog(minikit).get("01"))
    assert pristine is not None and pristine.source.startswith("git HEAD")
    assert b"A tiny legacy module" in pristine.files["echo/__init__.py"]


def test_reset_brings_back_a_deleted_kata_in_git_and_outside_it(tmp_path: Path, minikit: Path, kata_cli) -> None:
    kata_cli("--root", minikit, "list")  # outside git: the kit keeps the starters
    shutil.rmtree(minikit / "exercises")
    code, out = kata_cli("--root", minikit, "list")
    assert "exercises/ is missing: `kata reset NN` brings a kata's starter back" in out
    code, out = kata_cli("--root", minikit, "reset", "02", "--yes")
    assert code == 0 and "Restored exercises/02-count" in out, out
    assert Catalog(minikit).get("02").spec.title and (minikit / "exercises/02-count/tests/test_wc.py").is_file()

    clone = tmp_path / "clone"
    shutil.copytree(minikit, clone, ignore=shutil.ignore_patterns(".kata"))
    kata_cli("--root", clone, "reset", "01", "--yes")  # without the kept copies, 01 is lost here...
    git(clone, "init", "-q", "-b", "main")
    (clone / ".gitignore").write_text(".kata/\n")
    shutil.copytree(minikit / ".kata" / "starters" / "01-echo", clone / "exercises" / "01-echo")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "kit")
    shutil.rmtree(clone / "exercises" / "01-echo")  # ...and in git a deleted kata comes back from HEAD
    code, out = kata_cli("--root", clone, "reset", "1", "--yes")
    assert code == 0 and "Restored exercises/01-echo" in out and "git HEAD" in out, out
    code, out = kata_cli("--root", clone, "reset", "07", "--yes")
    assert code == 2 and "unknown kata '07'" in out and "Traceback" not in out


def test_a_missing_root_and_a_broken_kata_toml_are_said_plainly(tmp_path: Path, minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", tmp_path / "nowhere", "list")
    assert code == 2 and "not a kit" in out and "Traceback" not in out
    (minikit / "exercises/02-count/kata.toml").write_text("id = 2\n")
    code, out = kata_cli("--root", minikit, "grade")
    assert code == 2 and "kata 02-count is left out; the others go on" in out, out
    assert "01 Echo" in out  # the other kata was graded
    code, out = kata_cli("--root", minikit, "grade", "02")
    assert code == 2 and "02-count/kata.toml" in out


def test_reset_without_any_pristine_copy_says_where_to_get_one(minikit: Path, capsys) -> None:
    kata = Catalog(minikit).get("01")
    assert learner.starter(kata) is None  # no git, and no copy kept yet
    code = loop.cmd_reset(_args(kata="01", yes=True), Catalog(minikit), _console())
    assert code == 1 and "No pristine copy" in capsys.readouterr().out


def _args(**values: object):
    import argparse

    return argparse.Namespace(**values)


def _console():
    from kata.outputs.report import console

    return console()


# --------------------------------------------------------------------------- solution


def test_solution_asks_until_the_kata_is_changed_then_shows_a_diff_and_notes(minikit: Path, kata_cli,
                                                                             monkeypatch) -> None:
    monkeypatch.setattr(loop, "_ask", lambda out, question: None)
    code, out = kata_cli("--root", minikit, "solution", "01")
    assert code == 1 and "You have not changed kata 01 yet" in out and "+++ solution/" not in out
    kata_cli("--root", minikit, "grade", "01")  # grading the starter (as `nox -s grade` does) is not a try
    code, out = kata_cli("--root", minikit, "solution", "01")
    assert code == 1 and "You have not changed kata 01 yet" in out
    monkeypatch.setattr(loop, "_ask", lambda out, question: True)
    code, out = kata_cli("--root", minikit, "solution", "01")
    assert code == 0 and "--- yours/echo/__init__.py" in out and "+++ solution/echo/__init__.py" in out

    monkeypatch.setattr(loop, "_ask", lambda out, question: pytest.fail("asked after a change"))
    (minikit / "exercises" / "01-echo" / "tests" / "test_mine.py").write_text("def test_mine():\n    pass\n")
    code, out = kata_cli("--root", minikit, "solution", "01")
    assert code == 0
    assert "-    return text\n" in out and "+    return text.upper()\n" in out
    assert "only in yours: tests/test_mine.py" in out
    assert "SOLUTION.md" in out and "# Solution: upper() and one chat call." in out
    assert "the starter (the copy the kit kept" in out


def test_solution_of_a_solved_kata_and_of_a_student_edition(minikit: Path, kata_cli) -> None:
    solve(minikit, "02-count")
    code, out = kata_cli("--root", minikit, "solution", "02", "--yes")
    assert code == 0 and "Your files are the reference solution's" in out
    shutil.rmtree(minikit / "solutions")
    code, out = kata_cli("--root", minikit, "solution", "02", "--yes")
    assert code == 1 and "no reference solutions" in out and "student edition" in out


# --------------------------------------------------------------------------- errors, translated


def _grade(kata_cli, minikit: Path, target: Path, tmp_path: Path) -> dict:
    path = tmp_path / "results.json"
    kata_cli("--root", minikit, "grade", "01", "--target", target, "--json", path)
    (kata,) = load_json(path)["katas"]
    return {c["id"]: c for c in kata["checks"]}


def test_load_errors_point_at_the_learners_file_and_line(kata_cli, minikit, submission, tmp_path) -> None:
    broken = "\n\nfrom echo.helpers import louder\n\ndef shout(text):\n    return text.upper()\n"
    checks = _grade(kata_cli, minikit, submission({ECHO: broken}, "imports"), tmp_path)
    legacy = checks["existing-tests"]["message"]
    assert "test_echo.py could not be loaded: your code could not be imported: ModuleNotFoundError" in legacy
    assert "at echo/__init__.py:3" in legacy and "E   " not in legacy and "_pytest" not in legacy
    assert "1 of the existing test files could not be loaded" in legacy
    assert "echo/__init__.py:3" in checks["shouts"]["message"]

    checks = _grade(kata_cli, minikit, submission({ECHO: "def shout(text):\n    return text.upper(\n"}, "syntax"),
                    tmp_path)
    legacy = checks["existing-tests"]["message"]
    assert "your code does not compile" in legacy and "echo/__init__.py:2" in legacy


def test_an_unmatched_request_names_what_differed_and_what_the_brief_says(kata_cli, minikit, submission,
                                                                        tmp_path) -> None:
    wrong_model = ("def shout(text):\n    return text.upper()\n\ndef greet(client, ref, model='gpt-4o-mini'):\n"
                   "    r = client.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', "
                   "'content': f'Hi {ref}'}])\n    return r.choices[0].message.content\n")
    checks = _grade(kata_cli, minikit, submission({ECHO: wrong_model, "01-echo/README.md": BRIEF}, "model"), tmp_path)
    message = checks["greets"]["message"]
    assert "closest differs in model: sent 'gpt-4o', recorded 'gpt-4o-mini'" in message
    assert "expected: what the brief (README.md) says: requests: POST /v1/chat/completions; model is the model " \
           "argument" in message
    no_ref = wrong_model.replace("model='gpt-4o'", "model=model").replace("f'Hi {ref}'", "'Hi there'")
    checks = _grade(kata_cli, minikit, submission({ECHO: no_ref, "01-echo/README.md": BRIEF}, "ref"), tmp_path)
    message = checks["greets"]["message"]
    assert "records in the user message: sent (none), recorded REC-1" in message
    assert "the brief (README.md) says: user message: holds the record's ref" in message
    assert "Be brief." not in message  # never the recorded prompt


def test_brief_rows_are_chosen_by_what_differed() -> None:
    assert replay.brief_says(BRIEF, ["count"]) == "count: one request per greeting, no retries"
    assert replay.brief_says(BRIEF, ["schema fields"]).startswith("requests:")  # type: ignore[union-attr]
    assert replay.brief_says("# A brief without a table\n", ["model"]) is None
    sent = replay.Identity("POST /v1/chat/completions", "m", False, "text", (), (), ("REC-1",))
    assert replay.unmatched_aspects(sent, [], False) == ["no request"]
    assert replay.unmatched_aspects(sent, [sent], True) == ["count"]
    other = replay.Identity("POST /v1/chat/completions", "n", True, "text", (), (), ("REC-2",))
    assert replay.unmatched_aspects(sent, [other], False) == ["model", "streaming", "records"]


def test_a_module_not_written_yet_is_named_without_the_import_machinerys_frames(tmp_path: Path) -> None:
    import importlib
    import json

    from kata.host.errors import describe_error

    (tmp_path / "oncall").mkdir()
    (tmp_path / "oncall" / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError) as caught:
            importlib.import_module("oncall.timeline")  # kata 02's starter: the module the learner adds
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("oncall", None)
    info = describe_error(caught.value, tmp_path)
    assert info["message"] == "No module named 'oncall.timeline'" and info["where"] == ""
    assert "frozen" not in json.dumps(info) and "importlib" not in json.dumps(info)
