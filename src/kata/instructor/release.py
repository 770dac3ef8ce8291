"""The student edition of the kit: no solutions, no known-wrong solutions, cassettes without prompts.

`build(catalog, out, with_hidden_checks=...)` copies what a learner needs (the kit, exercises,
fixtures, README, noxfile, pyproject), reduces every recorded request body to what replay
matching reads (endpoint, model, streaming, output mode, schema field names, tool names and the
record ids of the user content), removes echoed `instructions` from responses, adds a GitHub
Actions workflow that grades on push (GitHub Classroom autograding), and then proves the edition:
the reference solutions are graded against the edition's own fixtures and must get full marks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kata import __version__, targets
from kata.catalog import HINTS_FILE, Catalog, Kata, KitError, encode_hints, without_hints
from kata.grader import replay, runner, session
from kata.outputs.results import KataResult

EDITION_FILE = "kata-edition.toml"
# What a learner's copy holds besides exercises/ and fixtures/ (each only when present).
KIT_FILES = ("pyproject.toml", "constraints.txt", "noxfile.py", "README.md", "LICENSE", "src")
# The sections of the kit's README a learner needs; the instructor's and maintainer's stay with the kit.
LEARNER_SECTIONS = ("Quick start", "The learner loop", "The kata catalog", "How grading works", "Results formats",
                    "Licence")
WORKFLOW = ".github/workflows/classroom.yml"
# A passage of a brief or README that only the full kit can act on (e.g. `kata record NN --standin`, which needs the
# stand-in scripts an edition leaves out); Markdown renders the markers as nothing, the edition drops the passage.
KIT_ONLY = re.compile(r"^<!-- kit-only -->\n.*?^<!-- /kit-only -->\n|<!-- kit-only -->.*?<!-- /kit-only -->",
                      re.DOTALL | re.MULTILINE)  # whole lines first, so a marked block leaves no blank lines behind
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info", ".kata")


@dataclass
class ReleaseReport:
    """What `kata release` wrote and how it was proven."""

    out: Path
    with_hidden_checks: bool
    katas: list[str]
    cassettes: int = 0
    bytes_before: int = 0  # cassette bytes in the instructor's kit
    bytes_after: int = 0  # the same cassettes in the edition
    proof: list[KataResult] = field(default_factory=list)
    git: bool = False  # the edition is a git repository with one commit

    @property
    def proven(self) -> bool:
        return bool(self.proof) and all(r.full_marks for r in self.proof)


def minimal_body(body: bytes | str | None, record_pattern: str) -> str:
    """A request body holding only what replay matching reads; the prompt wording is gone."""
    data = replay.parse_body(body)
    identity = replay.identify("POST", "/v1/x", body, record_pattern)
    small: dict[str, Any] = {}
    if identity.model is not None:
        small["model"] = identity.model
    if identity.stream:
        small["stream"] = True
    if identity.output == "structured":
        small["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": {"properties": {name: {} for name in identity.schema_fields}}}}
    elif identity.output == "json":
        small["response_format"] = {"type": "json_object"}
    if identity.tools:
        small["tools"] = [{"type": "function", "function": {"name": name}} for name in identity.tools]
    key = "input" if "input" in data and "messages" not in data else "messages"
    records = " ".join(identity.records)
    small[key] = [{"role": "user", "content": records}]
    return json.dumps(small, separators=(",", ":"))


def _strip_response(text: str) -> str:
    """Remove the prompt a Responses API answer echoes back (`instructions`)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text  # streamed events or plain text: no echoed prompt in chat completion chunks
    if isinstance(data, dict) and data.get("instructions"):
        data["instructions"] = None
        return json.dumps(data)
    return text


def minimize_cassette(text: str, record_pattern: str) -> str:
    """A cassette with minimal request bodies; raises KitError if matching would change."""
    data = yaml.safe_load(text) or {}
    for interaction in data.get("interactions") or []:
        request, response = interaction["request"], interaction["response"]
        before = replay.identify(request["method"], request["uri"], request.get("body"), record_pattern)
        request["body"] = minimal_body(request.get("body"), record_pattern)
        after = replay.identify(request["method"], request["uri"], request["body"], record_pattern)
        if before != after:
            raise KitError(f"reducing a request changed what replay matches: {replay.differences(after, before)}")
        body = response.get("body") or {}
        if isinstance(body.get("string"), str):
            body["string"] = _strip_response(body["string"])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _copy(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, dest, ignore=_IGNORED, dirs_exist_ok=True)
    elif source.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def learner_readme(text: str) -> str:
    """The kit's README cut to what a learner reads: its opening and the learner's `## ` sections."""
    kept, keep, fenced = [], True, False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            keep = line[3:].strip() in LEARNER_SECTIONS
        if keep:
            kept.append(line)
    return "".join(kept)


def without_kit_only(text: str) -> str:
    """`text` without the passages marked for the full kit only."""
    return KIT_ONLY.sub("", text)


def _commit(out: Path) -> bool:
    """Make the edition the git repository the instructor hands out (one commit; `kata reset` reads it)."""
    if shutil.which("git") is None:
        return False
    who = ["-c", "user.name=AI Engineering Katas", "-c", "user.email=katas@invalid", "-c", "init.defaultBranch=main",
           "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "Student edition"]):
        if subprocess.run(["git", *who, *args], cwd=out, capture_output=True).returncode != 0:
            shutil.rmtree(out / ".git", ignore_errors=True)
            return False
    return True


def _banner(with_hidden_checks: bool) -> str:
    grading = ("The hidden checks are included: `nox -s grade` gives your score." if with_hidden_checks else
               "The hidden checks are not included: `nox -s grade` runs each service's own tests, and your "
               "instructor grades the rest.")
    return (f"> **Student edition** (built {dt.datetime.now(dt.UTC).date().isoformat()}). There are no reference "
            f"solutions in it, and the recorded model traffic carries no prompts (the stand-in scripts that produced "
            f"it stay with the instructor). {grading}\n\n")


def workflow_text(katas: list[Kata]) -> str:
    """A GitHub Actions workflow grading the learner's exercises on push; GitHub Classroom reads its points."""
    return f"""# Grades your exercises on every push, offline, from the recorded model traffic (no API key).
# GitHub Classroom: the reporter step gives the assignment its points (Points N/M in the check run).
name: Grade katas
on: [push, workflow_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Grade {len(katas)} kata(s)
        id: katas
        run: |
          python -m pip install --quiet nox
          nox -s grade -- --json kata-results.json --classroom classroom.json || true
          test -s classroom.json
          echo "result=$(base64 -w0 classroom.json)" >> "$GITHUB_OUTPUT"
      - name: Results as a file
        uses: actions/upload-artifact@v4
        with:
          name: kata-results
          path: kata-results.json
      - name: Report points to GitHub Classroom
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          KATAS_RESULTS: "${{{{ steps.katas.outputs.result }}}}"
        with:
          runners: katas
"""


def build(catalog: Catalog, out: Path, *, with_hidden_checks: bool, katas: list[Kata] | None = None,
          prove: bool = True, jobs: int | None = None) -> ReleaseReport:
    """Write the student edition to `out` (which must not exist or be empty) and prove it."""
    katas = katas or catalog.katas
    if out.exists() and any(out.iterdir()):
        raise KitError(f"{out}: not empty; give a new folder for the student edition")
    root = catalog.root
    if out.resolve() == root or root in out.resolve().parents:
        raise KitError(f"{out}: inside the kit; give a folder outside it")
    out.mkdir(parents=True, exist_ok=True)
    report = ReleaseReport(out=out, with_hidden_checks=with_hidden_checks, katas=[k.name for k in katas])
    for name in KIT_FILES:
        _copy(root / name, out / name)
    if (out / "README.md").is_file():
        text = without_kit_only(learner_readme((out / "README.md").read_text(encoding="utf-8")))
        (out / "README.md").write_text(_banner(with_hidden_checks) + text, encoding="utf-8")
    (out / ".gitignore").write_text(".venv/\n.nox/\n.kata/\n__pycache__/\n*.pyc\n", encoding="utf-8")
    for kata in katas:
        _copy(kata.exercise_dir, out / "exercises" / kata.name)
        brief = out / "exercises" / kata.name / "README.md"
        if brief.is_file():
            brief.write_text(without_kit_only(brief.read_text(encoding="utf-8")), encoding="utf-8")
        spec_file = out / "exercises" / kata.name / "kata.toml"
        spec_file.write_text(without_hints(spec_file.read_text(encoding="utf-8")), encoding="utf-8")
        (spec_file.parent / HINTS_FILE).write_text(encode_hints(kata.spec.hints), encoding="utf-8")
        fixtures = out / "fixtures" / kata.name
        for sub in ("service-tests", "data", "recorded.toml"):  # recorded.toml: where real recordings came from
            _copy(kata.fixtures_dir / sub, fixtures / sub)
        for cassette in sorted(kata.cassette_dir.glob("*.yaml")) if kata.cassette_dir.is_dir() else []:
            text = cassette.read_text(encoding="utf-8")
            small = minimize_cassette(text, kata.spec.replay.record_pattern)
            (fixtures / "cassettes").mkdir(parents=True, exist_ok=True)
            (fixtures / "cassettes" / cassette.name).write_text(small, encoding="utf-8")
            report.cassettes += 1
            report.bytes_before += len(text.encode())
            report.bytes_after += len(small.encode())
        if with_hidden_checks and kata.has_hidden_checks:
            _copy(kata.checks_dir, out / "tests" / "checks" / kata.name)
    (out / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (out / WORKFLOW).write_text(workflow_text(katas), encoding="utf-8")
    (out / EDITION_FILE).write_text(
        f'edition = "student"\nhidden_checks = {str(with_hidden_checks).lower()}\nkit_version = "{__version__}"\n'
        f'built = "{dt.datetime.now(dt.UTC).date().isoformat()}"\n', encoding="utf-8")
    if prove:
        report.proof = prove_edition(catalog, out, katas, jobs=jobs)
    report.git = _commit(out)
    return report


def prove_edition(catalog: Catalog, edition: Path, katas: list[Kata], jobs: int | None = None) -> list[KataResult]:
    """Grade each reference solution against the edition's fixtures (and the instructor's hidden checks)."""
    with tempfile.TemporaryDirectory(prefix="kata-release-proof-") as tmp:
        proof_root = Path(tmp)
        (proof_root / "exercises").symlink_to((edition / "exercises").resolve())
        (proof_root / "fixtures").symlink_to((edition / "fixtures").resolve())
        (proof_root / "tests").mkdir()
        (proof_root / "tests" / "checks").symlink_to(catalog.root.joinpath("tests", "checks").resolve())
        shutil.copy2(catalog.root / "pyproject.toml", proof_root / "pyproject.toml")
        edition_catalog = Catalog(proof_root)
        jobs_list = []
        for kata in katas:
            theirs = edition_catalog.get(kata.id)
            jobs_list.append((theirs, targets.Target("solution", (theirs.exercise_dir, kata.solution_dir))))
        return session.grade_many(jobs_list, runner.RunOptions(), workers=jobs)
