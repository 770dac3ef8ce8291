"""`kata verify`: the kit proves every kata (a check that cannot fail is a defect).

For each kata: the legacy tests pass on starter and solution; the starter is below the pass mark
and fails every check that is not a guard; the solution has full marks; each known-wrong solution
fails exactly the checks it declares, and together they fail every check; every alternative correct
solution (written from the brief alone) has full marks too; the solution run plays
every recorded interaction; no cassette holds a secret; the kit's copy of the legacy tests is the
exercise's; every rule of the brief names the checks that grade it (or says it is not graded), and
every check grades a rule.
"""

from __future__ import annotations

import filecmp
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kata import targets
from kata.catalog import Kata, KitError
from kata.checks import EXISTING_TESTS
from kata.grader import replay, session
from kata.instructor import rules
from kata.outputs.results import KataResult, Status

MIN_WRONG = 2


class WrongSpec(BaseModel):
    """`wrong.toml` of a known-wrong solution."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(min_length=3)
    fails: list[str] = Field(min_length=1)


@dataclass
class KataVerdict:
    """What verify found for one kata: the items it proved and the problems it found."""

    kata: Kata
    proved: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def load_wrong(path: Path) -> WrongSpec:
    file = path / "wrong.toml"
    try:
        return WrongSpec.model_validate(tomllib.loads(file.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise KitError(f"{file}: {exc}") from exc


def _same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on one side or different bytes)."""
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")}
    left = files(a) if a.is_dir() else set()
    right = files(b) if b.is_dir() else set()
    differ = sorted(left ^ right)
    differ += sorted(n for n in left & right if not filecmp.cmp(a / n, b / n, shallow=False))
    return differ


def static_problems(kata: Kata) -> list[str]:
    """Problems visible without grading anything."""
    found = []
    for needed in (kata.exercise_dir / "README.md", kata.solution_dir / "SOLUTION.md",
                   kata.fixtures_dir / "standin.toml"):
        if not needed.is_file():
            found.append(f"{needed.relative_to(kata.root)} is missing")
    if not kata.has_hidden_checks:
        found.append(f"{kata.checks_dir.relative_to(kata.root)} has no test_*.py checks")
    if (kata.checks_dir / "conftest.py").exists():
        found.append("hidden checks must not use conftest.py (the grader does not load it)")
    differ = _same_tree(kata.exercise_dir / "tests", kata.service_tests_dir)
    if differ:
        found.append(f"fixtures/{kata.name}/service-tests differs from the exercise's tests: {', '.join(differ)}")
    if len(kata.wrong_solutions()) < MIN_WRONG:
        found.append(f"only {len(kata.wrong_solutions())} known-wrong solutions (at least {MIN_WRONG} needed)")
    for cassette in sorted(kata.cassette_dir.glob("*.yaml")) if kata.cassette_dir.is_dir() else []:
        secrets = replay.find_secrets(cassette.read_text(encoding="utf-8"))
        if secrets:
            found.append(f"cassette {cassette.name} holds {', '.join(secrets)}")
    return found


def judge_starter(result: KataResult) -> list[str]:
    found = []
    if result.passed:
        found.append(f"reaches the pass mark ({result.score}/{result.max_score})")
    for item in result.checks:
        if item.guard and item.status != Status.PASSED:
            what = "the legacy tests fail" if item.id == EXISTING_TESTS else f"guard check {item.id} fails"
            found.append(f"{what}: {item.message.splitlines()[0] if item.message else ''}")
        if not item.guard and item.status == Status.PASSED:
            found.append(f"check {item.id} passes (a check that cannot fail on the starter is a defect)")
    return found


def judge_solution(result: KataResult) -> list[str]:
    if result.full_marks:
        return []
    failing = ", ".join(sorted(result.failed_ids()))
    first = next((c for c in result.checks if c.status != Status.PASSED), None)
    detail = f": {first.message.splitlines()[0]}" if first and first.message else ""
    return [f"scores {result.score}/{result.max_score}; failing: {failing}{detail}"
            + (f" ({result.message})" if result.message else "")]


def judge_plays(kata: Kata, result: KataResult) -> list[str]:
    """Every cassette file is used and every interaction in it is played by the solution run."""
    found = []
    files = sorted(p.stem for p in kata.cassette_dir.glob("*.yaml")) if kata.cassette_dir.is_dir() else []
    for name in files:
        counts = result.cassette_plays.get(name)
        if counts is None:
            found.append(f"cassette {name}.yaml is used by no check")
        elif unplayed := [i for i, n in enumerate(counts) if n == 0]:
            found.append(f"cassette {name}.yaml: interactions {unplayed} are never played by the solution")
    return found


def verify(katas: list[Kata], workers: int | None = None) -> list[KataVerdict]:
    """Prove every kata; grading runs in parallel across `workers` processes."""
    verdicts = {k.id: KataVerdict(k) for k in katas}
    jobs: list[tuple[Kata, targets.Target]] = []
    labels: list[tuple[str, str, WrongSpec | None]] = []
    for kata in katas:
        verdict = verdicts[kata.id]
        verdict.problems += static_problems(kata)
        jobs.append((kata, targets.exercise(kata)))
        labels.append((kata.id, "starter", None))
        if kata.solution_dir.is_dir():
            jobs.append((kata, targets.solution(kata)))
            labels.append((kata.id, "solution", None))
        for overlay in kata.alternative_solutions():
            jobs.append((kata, targets.alternative(kata, overlay)))
            labels.append((kata.id, f"alternative/{overlay.name}", None))
        for overlay in kata.wrong_solutions():
            try:
                spec = load_wrong(overlay)
            except KitError as exc:
                verdict.problems.append(str(exc))
                continue
            jobs.append((kata, targets.wrong(kata, overlay)))
            labels.append((kata.id, f"wrong/{overlay.name}", spec))
    results = session.grade_many(jobs, workers=workers)
    killed: dict[str, set[str]] = {k.id: set() for k in katas}
    check_sets: dict[str, dict[str, set[str]]] = {k.id: {} for k in katas}
    for (kata_id, label, wrong), result in zip(labels, results, strict=True):
        verdict = verdicts[kata_id]
        ids = {c.id for c in result.checks}
        check_sets[kata_id][label] = ids
        if label == "starter":
            found = judge_starter(result)
            verdict.proved.append(f"starter: {result.score}/{result.max_score}, below the pass mark")
        elif label == "solution":
            found = judge_solution(result) + judge_plays(verdict.kata, result)
            verdict.proved.append(f"solution: {result.score}/{result.max_score}")
        elif label.startswith("alternative/"):
            # Behaviour, not implementation: a differently written correct solution passes too.
            found = judge_solution(result)
            verdict.proved.append(f"{label}: {result.score}/{result.max_score}")
        else:
            assert wrong is not None
            failed = result.failed_ids()
            killed[kata_id] |= failed
            found = []
            unknown = set(wrong.fails) - ids
            if unknown:
                found.append(f"declares unknown checks: {', '.join(sorted(unknown))}")
            if failed != set(wrong.fails):
                found.append(f"should fail exactly {sorted(wrong.fails)} but fails {sorted(failed)}")
            verdict.proved.append(f"{label}: fails {', '.join(sorted(failed))}")
        if result.status == Status.ERROR and result.message and label != "starter":
            found.append(result.message)
        verdict.problems += [f"{label}: {p}" for p in found]
    for kata in katas:
        verdict = verdicts[kata.id]
        sets = check_sets[kata.id]
        if len({frozenset(s) for s in sets.values()}) > 1:
            verdict.problems.append(f"the set of checks differs between runs: {sorted(sets)}")
        all_ids = set().union(*sets.values()) if sets else set()
        unkilled = sorted(all_ids - killed[kata.id])
        if unkilled:
            verdict.problems.append(f"no known-wrong solution fails: {', '.join(unkilled)}")
        brief = kata.exercise_dir / "README.md"
        if brief.is_file() and all_ids:
            verdict.problems += [f"README.md rules: {p}" for p in rules.against(rules.read(brief), all_ids)]
            verdict.proved.append(f"rules: {len(rules.read(brief).rules)} in the brief, each graded or marked")
    return [verdicts[k.id] for k in katas]
