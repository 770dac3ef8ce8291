"""Typed grading results and the files they are written to (JSON, JUnit XML)."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from xml.etree import ElementTree as ET

from pydantic import BaseModel, Field

from kata import __version__


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class Problem(StrEnum):
    """What went wrong with a graded run itself (as opposed to checks that failed)."""

    TIMEOUT = "time-out"  # the kata's time limit ran out
    EXITED = "exited"  # the submission ended the grading process (exit, crash, memory)
    TAMPERED = "tampered"  # forged lines on the results channel
    NOT_STARTED = "not-started"  # the checks could not start (kit or sandbox problem)
    MISSING = "missing"  # the submission has no folder for this kata
    REFUSED = "refused"  # the submission was refused before grading (unsafe archive, too large)


class CheckResult(BaseModel):
    """The outcome of one check."""

    id: str
    title: str
    points: int = Field(description="points earned")
    max_points: int
    status: Status
    message: str = Field(default="", description="learner-facing: observed, expected, hint")
    guard: bool = Field(default=False, description="guards existing behaviour (passes on the starter)")
    cause: str = Field(default="", description="'syntax' or 'import' when the learner's code did not load")
    duration_s: float | None = Field(default=None, description="seconds from the check's start to its result, "
                                                               "on the kit's clock; None: it did not run")


class KataResult(BaseModel):
    """The outcome of grading one kata against one target."""

    id: str
    slug: str
    title: str
    target: str = Field(description="what was graded: exercise, solution, or a folder")
    score: int
    max_score: int
    pass_mark: int = Field(description="percent of max_score needed to pass")
    passed: bool
    status: Status = Field(description="passed: full marks; failed: some check failed; error: grading broke")
    duration_s: float
    message: str = Field(default="", description="kata-level message, e.g. a time-out or a crash")
    problem: Problem | None = Field(default=None, description="what went wrong with the run itself, if anything")
    changed: bool | None = Field(default=None, description="whether the graded folder differs from the kata's "
                                                           "starter (cohort grading; None when not known)")
    hidden_checks: bool = Field(default=True, description="false: an edition without hidden checks ran only the "
                                                          "service's own tests, so this is no grade (never passed)")
    checks: list[CheckResult]
    # For `kata verify`, not for learners: how often each recorded interaction was played.
    cassette_plays: dict[str, list[int]] = Field(default_factory=dict, exclude=True)

    @classmethod
    def build(
        cls, *, id: str, slug: str, title: str, target: str, pass_mark: int, duration_s: float,
        checks: list[CheckResult], message: str = "", crashed: bool = False,
        cassette_plays: dict[str, list[int]] | None = None, problem: Problem | None = None,
        hidden_checks: bool = True,
    ) -> KataResult:
        """Derive score, passed and status from the checks (never passed when the hidden checks did not run)."""
        score = sum(c.points for c in checks)
        max_score = sum(c.max_points for c in checks)
        passed = max_score > 0 and score * 100 >= pass_mark * max_score and not crashed and hidden_checks
        if crashed or not checks:
            status = Status.ERROR
        elif score == max_score:
            status = Status.PASSED
        else:
            status = Status.FAILED
        return cls(
            id=id, slug=slug, title=title, target=target, score=score, max_score=max_score,
            pass_mark=pass_mark, passed=passed, status=status, duration_s=round(duration_s, 3),
            message=message, checks=checks, cassette_plays=cassette_plays or {}, problem=problem,
            hidden_checks=hidden_checks,
        )

    @property
    def full_marks(self) -> bool:
        return self.status == Status.PASSED and self.hidden_checks

    @property
    def broken(self) -> bool:
        """The learner's code did not compile or import, so the checks could not run it."""
        return any(c.cause for c in self.checks)

    @property
    def state(self) -> str:
        """What an instructor reads first: passed, attempted, not attempted, broken, time-out, error, or
        not handed in (the kata's folder is missing), refused."""
        if self.problem in (Problem.MISSING, Problem.REFUSED):
            return "not handed in" if self.problem is Problem.MISSING else "refused"
        if self.changed is False:
            return "not attempted"
        if self.problem is Problem.TIMEOUT:
            return "time-out"
        if self.broken:
            return "broken"
        if self.status is Status.ERROR:
            return "error"
        return "passed" if self.full_marks else "attempted"

    def failed_ids(self) -> set[str]:
        """Ids of the checks that did not pass."""
        return {c.id for c in self.checks if c.status != Status.PASSED}


class GradeReport(BaseModel):
    """Everything one `kata grade` run produced; the schema of `--json`."""

    kit_version: str = __version__
    graded_at: str = Field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    katas: list[KataResult]

    @property
    def all_full_marks(self) -> bool:
        return all(k.full_marks for k in self.katas)


def write_json(report: GradeReport, path: Path) -> None:
    """Write the report as JSON (schema: GradeReport)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def write_junit(report: GradeReport, path: Path) -> None:
    """Write the report as JUnit XML: a testsuite per kata, a testcase per check."""
    suites = ET.Element("testsuites", name="kata grade")
    for kata in report.katas:
        failures = sum(1 for c in kata.checks if c.status == Status.FAILED)
        errors = sum(1 for c in kata.checks if c.status == Status.ERROR)
        suite = ET.SubElement(
            suites, "testsuite", name=f"{kata.id}-{kata.slug}", tests=str(len(kata.checks)),
            failures=str(failures), errors=str(errors), time=f"{kata.duration_s:.3f}",
        )
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="score",
                      value=f"{kata.score}/{kata.max_score}")
        if kata.message:
            ET.SubElement(suite, "system-out").text = kata.message
        for item in kata.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{kata.id}-{kata.slug}", name=item.id)
            case.set("title", item.title)
            case.set("points", f"{item.points}/{item.max_points}")
            if item.duration_s is not None:
                case.set("time", f"{item.duration_s:.3f}")
            if item.status != Status.PASSED:
                tag = "failure" if item.status == Status.FAILED else "error"
                ET.SubElement(case, tag, message=item.title).text = item.message
    ET.indent(suites)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _check_output(kata: KataResult, item: CheckResult) -> str:
    text = item.message if item.status != Status.PASSED else ""
    if kata.message and item.status != Status.PASSED:
        text = f"{kata.message}\n{text}".strip()
    return text


def gradescope_json(report: GradeReport, visibility: str = "visible") -> dict[str, object]:
    """Gradescope's autograder results.json: one test per check, with learner-facing output."""
    tests = []
    for kata in report.katas:
        for item in kata.checks:
            tests.append({
                "name": f"{kata.id} {kata.title}: {item.title}",
                "number": f"{kata.id}.{item.id}",
                "score": item.points, "max_score": item.max_points,
                "status": "passed" if item.status == Status.PASSED else "failed",
                "output": _check_output(kata, item), "visibility": visibility,
                "tags": [f"kata-{kata.id}"],
            })
    lines = [f"{k.id} {k.title}: {k.score}/{k.max_score}" + (f" ({k.message})" if k.message else "")
             for k in report.katas]
    return {"score": sum(k.score for k in report.katas), "output": "\n".join(lines), "visibility": visibility,
            "stdout_visibility": "hidden", "tests": tests}


def classroom_json(report: GradeReport) -> dict[str, object]:
    """A GitHub Classroom runner result (read by classroom-resources/autograding-grading-reporter)."""
    # A kata whose hidden checks did not run is not graded: it carries no points, earned or possible.
    tests = [{"name": f"{kata.id} {item.title}", "status": "pass" if item.status == Status.PASSED else "fail",
              "message": _check_output(kata, item), "score": item.points if kata.hidden_checks else 0,
              "line_no": 0, "execution_time": f"{kata.duration_s:.1f}s"}
             for kata in report.katas for item in kata.checks]
    return {"version": 1, "status": "pass" if report.all_full_marks else "fail",
            "max_score": sum(k.max_score for k in report.katas if k.hidden_checks), "tests": tests}


def write_gradescope(report: GradeReport, path: Path, visibility: str = "visible") -> None:
    """Write Gradescope's results.json."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_json(report, visibility), indent=2) + "\n", encoding="utf-8")


def write_classroom(report: GradeReport, path: Path) -> None:
    """Write the GitHub Classroom runner result as JSON (the workflow base64-encodes it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(classroom_json(report)) + "\n", encoding="utf-8")
