"""`kata verify` passes on a sound kit and names the failing item when any condition is broken."""

import shutil
from pathlib import Path

import pytest

from kata.catalog import Catalog
from kata.instructor import verify

ECHO_CHECKS = "tests/checks/01-echo/test_echo.py"


def problems(root: Path, kata_id: str = "01") -> list[str]:
    catalog = Catalog(root)
    (verdict,) = verify.verify([catalog.get(kata_id)])
    return verdict.problems


def test_a_sound_kit_is_proven(minikit: Path, kata_cli) -> None:
    code, out = kata_cli("--root", minikit, "verify")
    assert code == 0, out
    assert "verify: all 2 katas proven" in out
    assert "wrong/literal-model: fails model-configurable" in out


def test_a_check_that_passes_on_the_starter_is_a_defect(minikit: Path) -> None:
    starter = minikit / "exercises/01-echo/echo/__init__.py"
    starter.write_text(starter.read_text().replace("return text\n", "return text.upper()\n", 1))
    found = problems(minikit)
    assert any("starter: check shouts passes" in p for p in found), found


def test_a_failing_solution_is_named(minikit: Path) -> None:
    solution = minikit / "solutions/01-echo/echo/__init__.py"
    solution.write_text(solution.read_text().replace("text.upper()", "text.lower()"))
    found = problems(minikit)
    assert any(p.startswith("solution: scores 3/5; failing: shouts") for p in found), found


def test_a_wrong_solution_must_fail_exactly_what_it_declares(minikit: Path) -> None:
    (minikit / "tests/wrong/01-echo/no-shout/wrong.toml").write_text(
        'description = "Forgets to shout"\nfails = ["shouts", "greets"]\n')
    found = problems(minikit)
    assert any("wrong/no-shout: should fail exactly ['greets', 'shouts'] but fails ['shouts']" in p for p in found)


def test_every_check_must_be_failed_by_some_wrong_solution(minikit: Path) -> None:
    shutil.rmtree(minikit / "tests/wrong/01-echo/literal-model")
    breaks = minikit / "tests/wrong/01-echo/breaks-legacy"
    shutil.copy(minikit / "solutions/01-echo/echo/__init__.py", breaks / "echo/__init__.py")
    code = (breaks / "echo/__init__.py").read_text().replace("return text.upper()", "return (text or 'E').upper()")
    (breaks / "echo/__init__.py").write_text(code)
    (breaks / "wrong.toml").write_text('description = "Breaks the empty case"\nfails = ["existing-tests"]\n')
    found = problems(minikit)
    assert "no known-wrong solution fails: greets, model-configurable" in found, found


def test_at_least_two_wrong_solutions(minikit: Path) -> None:
    shutil.rmtree(minikit / "tests/wrong/02-count/off-by-one")
    assert any("only 1 known-wrong solutions" in p for p in problems(minikit, "02"))


def test_unused_cassette_interactions_are_reported(minikit: Path) -> None:
    cassette = minikit / "fixtures/01-echo/cassettes/greets.yaml"
    text = cassette.read_text()
    start = text.index("- request:")
    cassette.write_text(text[:start] + text[start:text.index("version: 1")] * 2 + "version: 1\n")
    (minikit / "fixtures/01-echo/cassettes/orphan.yaml").write_text(text)
    found = problems(minikit)
    assert "solution: cassette greets.yaml: interactions [1] are never played by the solution" in found, found
    assert "solution: cassette orphan.yaml is used by no check" in found


@pytest.mark.parametrize("secret, kind", [
    ("sk-proj-abcdefghijklmnop", "an API key"),
    ("Authorization: Bearer x", "an authorization header"),
    ("openai-organization: org-abcdefghijk", "an organization id"),
    ("set-cookie: __cf_bm=1", "a cookie"),
])
def test_secrets_in_cassettes_are_reported(minikit: Path, secret: str, kind: str) -> None:
    cassette = minikit / "fixtures/01-echo/cassettes/greets.yaml"
    cassette.write_text(cassette.read_text() + f"# {secret}\n")
    assert any(p.startswith("cassette greets.yaml holds") and kind in p for p in verify.static_problems(
        Catalog(minikit).get("01")))


def test_drift_between_exercise_tests_and_the_kit_copy_is_reported(minikit: Path) -> None:
    (minikit / "exercises/01-echo/tests/test_more.py").write_text("def test_more():\n    pass\n")
    found = verify.static_problems(Catalog(minikit).get("01"))
    assert any("service-tests differs from the exercise's tests: test_more.py" in p for p in found)


def test_legacy_tests_failing_on_the_starter_are_reported(minikit: Path) -> None:
    test = minikit / "exercises/02-count/tests/test_wc.py"
    test.write_text(test.read_text() + "\n\ndef test_one():\n    assert count('a') == 1\n")
    shutil.copy(test, minikit / "fixtures/02-count/service-tests/test_wc.py")
    found = problems(minikit, "02")
    assert any("starter: the legacy tests fail" in p for p in found), found


def test_verify_exit_code_is_1_with_problems(minikit: Path, kata_cli) -> None:
    shutil.rmtree(minikit / "tests/wrong/02-count/off-by-one")
    code, out = kata_cli("--root", minikit, "verify", "02")
    assert code == 1 and "✘ only 1 known-wrong solutions" in out


def test_an_alternative_correct_solution_must_pass_too(minikit: Path) -> None:
    other = minikit / "tests/alternative/01-echo/other/echo/__init__.py"
    other.write_text(other.read_text().replace("model=model", "model='gpt-4o-mini'"))
    found = problems(minikit)
    assert any(p.startswith("alternative/other: scores 4/5; failing: model-configurable") for p in found), found


def test_a_wrong_solution_patch_that_does_not_apply_is_named(minikit: Path) -> None:
    patch = minikit / "tests/wrong/01-echo/literal-model/change.patch"
    patch.write_text(patch.read_text().replace("model=model, messages", "model=mode, messages"))
    found = problems(minikit)
    assert any(p.startswith("wrong/literal-model: ") and "change.patch does not apply" in p for p in found), found


# --------------------------------------------------------------------------- rules and checks

def _brief(minikit: Path) -> Path:
    return minikit / "exercises/01-echo/README.md"


def test_a_rule_that_names_no_check_and_is_not_marked_fails(minikit: Path) -> None:
    brief = _brief(minikit)
    brief.write_text(brief.read_text() + "- Greetings are in English.\n")
    found = problems(minikit)
    assert any("README.md rules: line" in p and "names no check and is not marked 'Not graded: why'" in p
               and "Greetings are in English" in p for p in found), found


def test_a_rule_that_names_a_check_the_kata_lacks_fails(minikit: Path) -> None:
    brief = _brief(minikit)
    brief.write_text(brief.read_text().replace("Checks: `shouts`.", "Checks: `shouts`, `whispers`."))
    found = problems(minikit)
    assert any("names checks the kata does not have: whispers" in p for p in found), found


def test_a_check_no_rule_names_fails(minikit: Path) -> None:
    brief = _brief(minikit)
    brief.write_text(brief.read_text().replace(" Checks: `shouts`.", " Not graded: dropped."))
    found = problems(minikit)
    assert "README.md rules: checks no rule names (say which rule each grades): shouts" in found, found


def test_a_brief_without_rules_fails(minikit: Path) -> None:
    _brief(minikit).write_text("# Echo\n\nShout and greet.\n")
    found = problems(minikit)
    assert "README.md rules: the brief has no '## Rules and checks' section listing its rules" in found, found


def test_rules_are_read_with_their_checks_and_marks() -> None:
    from kata.instructor import rules

    parsed = rules.parse("# K\n\n## Rules and checks\n\nSome prose.\n\n"
                         "- One. Checks: `a`, `b` and `c`.\n"
                         "- Two,\n  on two lines. Not graded: nothing observes it.\n\n"
                         "Prose after the list.\n\n## Next\n\n- not a rule\n")
    assert parsed.problems == ()
    assert [(r.text, r.checks, r.not_graded) for r in parsed.rules] == [
        ("One.", ("a", "b", "c"), ""), ("Two, on two lines.", (), "nothing observes it.")]
