"""A Gradescope autograder bundle: `setup.sh`, `run_autograder` and the kit with its hidden checks.

Gradescope unpacks the bundle into `/autograder/source`, runs `setup.sh` once to build its image,
then `run_autograder` for each submission (uploaded to `/autograder/submission`), which must write
`/autograder/results/results.json`. Ours hands over to `python -m kata.instructor.gradescope`, the
*finisher*, a trusted process (root, on Gradescope) that:

1. grades a copy of the submission with `kata grade --target`, as the `kata-grader` user setup.sh made
   (Gradescope runs everything as root, and its containers usually refuse the user namespaces the
   sandbox needs: this way the submission can neither signal the finisher nor write results/);
2. outlives every process of the run: it is their child subreaper, and once `kata grade` is over it
   kills whatever is left under it and every process of the grading user;
3. checks the grader's report against the kit's checks recorded when the bundle was built
   (`kata-checks.json`: ids and points; a kata that does not match scores 0 and says so);
4. only then writes results.json, one Gradescope test per check with the learner-facing message as
   its output. A daemon the submission left behind, a results.json it wrote itself or a check it made
   up changes nothing.

`AUTOGRADER_ROOT` (default `/autograder`), `KATA_PYTHON` (a python that already has this kit: setup.sh
then installs nothing) and `KATA_GRADER_UID` (the grading user's id) are for the kit's own tests;
Gradescope sets none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata.catalog import Catalog, Kata, KitError
from kata.forking import become_subreaper, children, kill
from kata.instructor import release
from kata.outputs.results import CheckResult, GradeReport, KataResult, Problem, Status, gradescope_json

CHECKS_FILE = "kata-checks.json"  # in the bundle's root: the kit's katas and checks, with their points
SWEEP_SECONDS = 10.0  # to end what the run left behind (each process is sent SIGKILL at once)
GRADING_USER = "kata-grader"  # setup.sh creates it; the submission never runs as root

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
chmod a+x "$ROOT" && chmod -R a+rX "$ROOT/source"   # the grading user reads the kit; only root writes it
if [ -n "${KATA_PYTHON:-}" ]; then
  # The kit's own tests: a python that already has this kit stands in for the venv (no apt, no pip).
  "$KATA_PYTHON" -I -c 'import kata.instructor.gradescope'
  mkdir -p "$ROOT/kata-venv/bin"
  printf '#!/bin/sh\\nexec "%s" "$@"\\n' "$KATA_PYTHON" > "$ROOT/kata-venv/bin/python"
  chmod 755 "$ROOT/kata-venv/bin/python"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PY=python3.11
fi
apt-get install -y -qq git >/dev/null 2>&1 || true   # known-wrong patches are not shipped; git is optional
"$PY" -m venv "$ROOT/kata-venv"
"$ROOT/kata-venv/bin/pip" install --quiet -c kit/constraints.txt ./kit
chmod -R a+rX "$ROOT/kata-venv"
# Submissions run as this user, never as root: they cannot signal the grading, nor write its results.
id -u kata-grader >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin kata-grader
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json behind.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{KATA_PYTHON:-$ROOT/kata-venv/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
# Grades, ends every process of the run, checks the results against kata-checks.json, then writes them.
"$PY" -I -m kata.instructor.gradescope --autograder "$ROOT" --visibility {visibility}
if [ ! -s "$ROOT/results/results.json" ]; then
  echo '{{"score": 0, "output": "The grader could not run. Please tell your instructor.", "tests": []}}' \\
    > "$ROOT/results/results.json"
fi
exit 0
"""


@dataclass(frozen=True)
class Bundle:
    """The zip written, and its size."""

    path: Path
    size: int


def checks_manifest(proof: list[KataResult], katas: list[Kata]) -> dict[str, Any]:
    """What the finisher holds the grader's results against: each kata's checks and points, as the proof
    graded them, and a time budget for the whole run (the katas' limits one after another, and a minute)."""
    return {
        "katas": [{"id": r.id, "slug": r.slug, "title": r.title, "pass_mark": r.pass_mark,
                   "checks": [{"id": c.id, "title": c.title, "max_points": c.max_points, "guard": c.guard}
                              for c in r.checks]} for r in proof],
        "time_budget_s": sum(k.spec.time_limit for k in katas) + 60,
    }


def build_bundle(catalog: Catalog, out: Path, *, katas: list[Kata] | None = None,
                 visibility: str = "after_published") -> Bundle:
    """Write the Gradescope autograder zip to `out`: the kit is a proven edition with hidden checks."""
    katas = katas or catalog.katas
    if out.suffix != ".zip":
        raise KitError(f"{out}: the Gradescope bundle is a .zip file")
    with tempfile.TemporaryDirectory(prefix="kata-gradescope-") as tmp:
        stage = Path(tmp) / "bundle"
        built = release.build(catalog, stage / "kit", with_hidden_checks=True, katas=katas)
        if not built.proven:
            failed = [r.id for r in built.proof if not r.full_marks]
            raise KitError(f"the reference solutions of {', '.join(failed)} do not pass against the bundle")
        shutil.rmtree(stage / "kit" / ".github", ignore_errors=True)  # Gradescope grades; no workflow needed
        (stage / CHECKS_FILE).write_text(json.dumps(checks_manifest(built.proof, katas), indent=2) + "\n",
                                         encoding="utf-8")
        (stage / "setup.sh").write_text(SETUP_SH, encoding="utf-8")
        (stage / "run_autograder").write_text(RUN_AUTOGRADER.format(visibility=visibility), encoding="utf-8")
        for script in ("setup.sh", "run_autograder"):
            (stage / script).chmod(0o755)
        out.parent.mkdir(parents=True, exist_ok=True)
        archive = shutil.make_archive(str(out.with_suffix("")), "zip", root_dir=stage)
    path = Path(archive)
    return Bundle(path=path, size=path.stat().st_size)


# --- the finisher: run_autograder's trusted process --------------------------------------------------

def _processes_of(uid: int) -> list[int]:
    """Live processes (not zombies) with `uid` among their user ids, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines())
            if fields["State"].split()[0] != "Z" and str(uid) in fields["Uid"].split():
                found.append(int(entry))
    return found


def end_the_run(uid: int | None = None, seconds: float = SWEEP_SECONDS) -> list[int]:
    """SIGKILL and reap every process under this one, and every process of `uid` (the grading user), until
    none is left; returns those still there at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        found = children() + (_processes_of(uid) if uid is not None else [])
        if not found or time.monotonic() > deadline:
            return found
        for pid in found:
            kill(pid)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        time.sleep(0.01)  # the kernel re-parents the orphans of what was just killed


def grading_user() -> tuple[int, int] | None:
    """(uid, gid) the grade runs as when this process is root: `KATA_GRADER_UID` (the kit's tests), else the
    `kata-grader` user setup.sh creates; None when not root, or when there is no such user."""
    if os.geteuid() != 0:
        return None
    if uid := os.environ.get("KATA_GRADER_UID", "").strip():
        return int(uid), int(uid)
    try:
        entry = pwd.getpwnam(GRADING_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _stage(root: Path, private: Path, user: tuple[int, int]) -> tuple[Path, dict[str, str]]:
    """A folder of the grading user's own (home, temporary files, a copy of the submission) inside one only
    root can list; returns the submission's copy and the environment."""
    private.chmod(0o711)
    own = private / "run"
    for folder in (own, own / "home", own / "tmp"):
        folder.mkdir(mode=0o700)
    submission = own / "submission"
    try:
        shutil.copytree(root / "submission", submission, symlinks=True)  # links stay links, never followed
    except OSError:
        submission.mkdir(exist_ok=True)  # nothing readable was uploaded: every kata says its folder is missing
    for path in (own, *own.rglob("*")):
        os.lchown(path, *user)
    return submission, {**os.environ, "HOME": str(own / "home"), "TMPDIR": str(own / "tmp")}


def _expected(observed: str) -> str:
    return (f"observed: {observed}\nexpected: one result per check of this kata, as the grader decided it\n"
            "hint: tell your instructor, who can see the run's log and regrade your submission.")


def _zero(kata: dict[str, Any], problem: Problem, text: str, message: str) -> KataResult:
    """A kata scored 0 on every one of its checks, each saying `text`."""
    checks = [CheckResult(id=c["id"], title=c["title"], points=0, max_points=c["max_points"], status=Status.ERROR,
                          message=text, guard=c.get("guard", False)) for c in kata["checks"]]
    return KataResult.build(id=kata["id"], slug=kata["slug"], title=kata["title"], target="submission",
                            pass_mark=kata["pass_mark"], duration_s=0.0, checks=checks, message=message,
                            crashed=True, problem=problem)


def _mismatch(got: KataResult, kata: dict[str, Any]) -> str | None:
    """How the grader's result of a kata differs from the kit's checks; None when it is consistent."""
    expected = {c["id"]: c["max_points"] for c in kata["checks"]}
    found = {c.id: c.max_points for c in got.checks}
    if found != expected:
        extra = sorted(set(found) - set(expected))
        missing = sorted(set(expected) - set(found))
        changed = sorted(i for i in set(found) & set(expected) if found[i] != expected[i])
        parts = [f"{label} {', '.join(ids)}" for label, ids in
                 (("checks the kit does not have:", extra), ("no result for", missing),
                  ("other points for", changed)) if ids]
        return "; ".join(parts)
    for check in got.checks:
        if check.points != (check.max_points if check.status == Status.PASSED else 0):
            return f"{check.points} points for {check.id} ({check.status.value})"
    if got.score != sum(c.points for c in got.checks) or got.max_score != sum(expected.values()):
        return f"a score of {got.score}/{got.max_score} that is not the sum of its checks"
    return None


def verified(report: GradeReport | None, manifest: dict[str, Any], why_none: str) -> GradeReport:
    """The grader's report, kata by kata, where it matches the kit's checks; a zero result, saying why, for a
    kata it does not match or did not grade. Titles are the kit's."""
    graded = {k.id: k for k in report.katas} if report is not None else {}
    katas = []
    for kata in manifest["katas"]:
        got = graded.get(kata["id"])
        if got is None:
            katas.append(_zero(kata, Problem.NOT_STARTED, _expected(why_none), "This kata could not be graded."))
            continue
        wrong = _mismatch(got, kata)
        if wrong is None:
            titles = {c["id"]: c["title"] for c in kata["checks"]}
            checks = [c.model_copy(update={"title": titles[c.id]}) for c in got.checks]
            katas.append(got.model_copy(update={"title": kata["title"], "checks": checks}))
        elif got.score == 0 and got.problem is not None:
            # The grader's own error result (no folder for the kata, a time-out while loading): its words.
            text = got.checks[0].message if got.checks else _expected(got.message)
            katas.append(_zero(kata, got.problem, text, got.message))
        else:
            katas.append(_zero(kata, Problem.TAMPERED, _expected(f"results that do not match the kit's checks "
                                                                 f"({wrong})"),
                               "The results of this kata did not match the kit's checks, so it scores 0."))
    return GradeReport(katas=katas)


def _read_report(path: Path) -> GradeReport | None:
    try:
        return GradeReport.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_last(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON to `path` atomically, replacing whatever the run left there (a file, a folder
    or a link in its place)."""
    if path.parent.is_symlink():
        path.parent.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def run_autograder(root: Path, visibility: str = "after_published", python: str = sys.executable) -> GradeReport:
    """Grade `root/submission` with the kit in `root/source` (as the grading user when this is root), end
    every process of the run, verify the results against the kit's checks, and write
    `root/results/results.json` last. Returns what was written."""
    # Orphans of the run (a daemon whose parents were killed) become our children: the sweep finds them all.
    become_subreaper()
    started = time.monotonic()
    manifest = json.loads((root / "source" / CHECKS_FILE).read_text(encoding="utf-8"))
    budget = float(manifest["time_budget_s"])
    user = grading_user()
    if user is None and os.geteuid() == 0:
        print(f"kata autograder: no '{GRADING_USER}' user (setup.sh creates it): the submission runs as root",
              flush=True)
    with tempfile.TemporaryDirectory(prefix="kata-autograder-") as tmp:
        submission, env = (root / "submission", dict(os.environ)) if user is None else _stage(root, Path(tmp), user)
        report_file = (Path(tmp) / "report.json") if user is None else submission.parent / "report.json"
        command = [python, "-I", "-m", "kata", "--root", str(root / "source" / "kit"), "grade",
                   *(k["id"] for k in manifest["katas"]), "--target", str(submission), "--json", str(report_file)]
        why = "the grader wrote no results"
        extra: dict[str, Any] = {} if user is None else {"user": user[0], "group": user[1], "extra_groups": []}
        child = subprocess.Popen(command, cwd=submission.parent, env=env, stdin=subprocess.DEVNULL, **extra)
        try:
            child.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            why = f"the grader did not finish within {budget:g} s"
        left = end_the_run(None if user is None else user[0])
        with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
            child.wait(timeout=1)
        report = _read_report(report_file) if not left else None  # read once no process of the run is left
        if left:
            why = f"{len(left)} process(es) of the run could not be ended"
    final = verified(report, manifest, why)
    write_last(root / "results" / "results.json", gradescope_json(final, visibility))
    total = f"{sum(k.score for k in final.katas)}/{sum(k.max_score for k in final.katas)}"
    after = f"{why} (scored 0)" if left else "after the run's processes were gone"
    print(f"kata autograder: {total} written {after} ({time.monotonic() - started:.1f} s)", flush=True)
    return final


def main(argv: list[str] | None = None) -> int:
    """`python -m kata.instructor.gradescope`: what the bundle's run_autograder runs."""
    parser = argparse.ArgumentParser(prog="python -m kata.instructor.gradescope",
                                     description="Grade one Gradescope submission (run_autograder calls this).")
    parser.add_argument("--autograder", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder"),
                        help="Gradescope's folder holding source/, submission/ and results/")
    parser.add_argument("--visibility", default="after_published")
    args = parser.parse_args(argv)
    run_autograder(args.autograder.resolve(), args.visibility)
    return 0


if __name__ == "__main__":
    sys.exit(main())
