"""Grading a whole cohort: find the learners, unpack safely, grade in isolation, write the outputs.

A run is resumable and crash-safe: each (learner, kata) result is written atomically to
`OUT/.state/<learner>/<kata>.json` the moment it is graded, together with fingerprints of the
submission and of the kata's hidden checks and fixtures. Re-running the same command grades only
what is missing or changed; the gradebook, CSVs, per-learner files and the HTML report are rebuilt
from those states at the end of every run.

A run always completes and writes every output, whatever a submission holds: a submission that is
unsafe or unreadable becomes a `refused` row with its reason (see `kata.instructor.unpack`), and any
other exception while unpacking or grading one learner becomes that learner's `error` row with its
reason (an error is never kept: the next run tries again). Points and maxima come from the kit's own
checks (`kit_checks`), never from what a run reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from kata import __version__, scratch, targets
from kata.catalog import Catalog, Kata, KitError
from kata.checks import EXISTING_TESTS
from kata.grader import runner
from kata.grader.options import Stopped
from kata.grader.session import GradingSession, run_all
from kata.host import sandbox
from kata.instructor import unpack as unpacking
from kata.instructor.records import Kind, LearnerRecord, RunSummary, SubmissionStatus
from kata.instructor.unpack import GIT_TIMEOUT, MAX_FILES, MAX_UNPACKED_BYTES, Refused, printable
from kata.learn import learner
from kata.outputs.report import message_lines
from kata.outputs.results import CheckResult, KataResult, Problem, Status

__all__ = ["MAX_FILES", "MAX_UNPACKED_BYTES", "CohortOptions", "Kind", "KitChecks", "LearnerRecord", "Refused",
           "RunSummary", "Submission", "discover", "fingerprint", "grade_cohort", "kit_checks", "learner_id",
           "scored_by_kit", "state_files", "unpack", "write_outputs"]

_UMASK = os.umask(0o022)
os.umask(_UMASK)
# A learner id becomes a file name in every output: keep it to safe characters, and short.
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")
MAX_ID = 64
# Entries of a submissions folder that are tools' files, never a learner.
NOT_LEARNERS = frozenset({".git", ".svn", ".hg", ".DS_Store", "__MACOSX", ".Trash", ".Trashes", ".fseventsd",
                          ".Spotlight-V100", ".ipynb_checkpoints", ".venv", ".idea", ".vscode", "Thumbs.db"})
NO_KATA_FOLDERS = "no kata folders found (expected exercises/NN-slug/ or NN-slug/)"
KIT_DIR = ".kit"  # OUT/.state/.kit/: the kit's checks of each kata, by kata fingerprint (never a learner id)


@dataclass(frozen=True)
class Submission:
    """One learner's submission as found in the submissions folder."""

    learner: str
    source: Path
    kind: Kind


@dataclass(frozen=True)
class CohortOptions:
    """How to grade a cohort."""

    jobs: int | None = None
    regrade: bool = False
    time_limit: float | None = None
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    sandbox: bool = True
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    max_files: int = MAX_FILES
    git_timeout: float = GIT_TIMEOUT

    @property
    def unpack_limits(self) -> unpacking.Limits:
        """The limits one submission is unpacked within (git gets the kata's memory limit too)."""
        return unpacking.Limits(max_bytes=self.max_unpacked_bytes, max_files=self.max_files,
                                git_timeout=self.git_timeout, git_memory=self.limits.memory_bytes)


class _State(BaseModel):
    """The crash-safe record of one graded (learner, kata)."""

    submission: str
    kata: str
    result: KataResult
    status: SubmissionStatus = SubmissionStatus.GRADED
    reason: str = ""
    limits: str = ""  # the unpacking limits a refusal was judged under: other limits judge again


# --- finding and unpacking submissions -----------------------------------------------------------

def learner_id(name: str, entry_name: str, taken: set[str]) -> str:
    """A learner id for the submission `entry_name` (`name` without its .zip/.bundle/.git): the name itself
    when it is a safe file name of at most 64 characters, else its safe ASCII form cut to fit and followed by
    a digest of the entry's name, so two names that clean up alike stay two learners. `taken` holds the
    case-folded ids given so far (a case-insensitive disk must not merge `Ann` and `ann` either)."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    clean = _UNSAFE_ID.sub("_", plain).strip("._-")
    if clean != name or len(clean) > MAX_ID:
        digest = hashlib.sha256(os.fsencode(entry_name)).hexdigest()[:6]
        clean = f"{clean[:MAX_ID - 7].rstrip('._-') or 'learner'}-{digest}"
    learner, number = clean, 2
    while learner.casefold() in taken:
        learner = f"{clean[:MAX_ID - 4]}-{number}"
        number += 1
    taken.add(learner.casefold())
    return learner


def _kind(entry: Path) -> tuple[Kind, str] | None:
    """What a submissions folder entry is, never reading it: (kind, name without suffix), None if no learner."""
    if entry.name in NOT_LEARNERS:
        return None
    if entry.is_symlink():  # a learner all the same; unpacking refuses it
        for suffix, kind in ((".zip", Kind.ZIP), (".bundle", Kind.GIT), (".git", Kind.GIT)):
            if entry.name.endswith(suffix):
                return kind, entry.name.removesuffix(suffix)
        return (Kind.FOLDER, entry.name) if entry.is_dir() else None
    if entry.is_dir():
        if (entry / "HEAD").is_file() and (entry / "objects").is_dir():
            return Kind.GIT, entry.name.removesuffix(".git")
        return Kind.FOLDER, entry.name
    if entry.suffix == ".zip":
        return Kind.ZIP, entry.stem
    if entry.suffix == ".bundle":
        return Kind.GIT, entry.stem
    return None  # stray files (a README, a CSV of names) are not learners


def discover(folder: Path, exclude: Iterable[Path] = ()) -> list[Submission]:
    """Every learner in `folder`: sub-folders, `.zip` files, bare git repositories and git bundles.

    `exclude`: folders that are not learners even when inside `folder` (the outputs of the run)."""
    if not folder.is_dir():
        raise KitError(f"{folder}: no such folder of submissions")
    skip = {os.path.realpath(p) for p in exclude}
    found: list[Submission] = []
    taken: set[str] = set()
    for entry in sorted(folder.iterdir()):
        if os.path.realpath(entry) in skip and not entry.is_symlink():
            continue
        kind = _kind(entry)
        if kind is not None:
            found.append(Submission(learner_id(kind[1], entry.name, taken), entry, kind[0]))
    return found


def fingerprint(sub: Submission, options: CohortOptions | None = None) -> str:
    """A digest of the submission's content: a changed submission is graded again."""
    return unpacking.fingerprint(sub.kind, sub.source, (options or CohortOptions()).unpack_limits)


def unpack(sub: Submission, workspace: Path, options: CohortOptions) -> Path:
    """The submission as a fresh folder of plain files to grade from; raises Refused for unsafe or
    unreadable ones (the rules are in `kata.instructor.unpack`)."""
    dest = workspace / "unpacked" / sub.learner
    unpacking.unpack(sub.kind, sub.source, dest, options.unpack_limits)
    return dest


def submission_root(folder: Path, katas: Iterable[Kata]) -> Path | None:
    """Where the kata folders are: the folder itself, `exercises/`, or one wrapping folder down."""
    names = {k.name for k in katas}
    candidate = folder
    for _ in range(3):
        if (candidate / "exercises").is_dir() or any((candidate / n).is_dir() for n in names):
            return candidate
        if candidate.name in names:
            return candidate.parent
        inner = [p for p in candidate.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
        if len(inner) != 1:
            return None
        candidate = inner[0]  # e.g. the `repo-main/` folder of a downloaded archive
    return None


# --- the kit's checks: where points and maxima come from ------------------------------------------

@dataclass(frozen=True)
class KitChecks:
    """The graded checks of one kata as the kit defines them: check id -> points, in the grader's order."""

    points: dict[str, int]

    @property
    def total(self) -> int:
        """The kata's maximum score."""
        return sum(self.points.values())


# Collects a kata's hidden checks the way the grader does (its ini, rootdir, import mode, no conftest, the
# same `kata_check` markers) and writes [[id, points], ...]; the kit's own code only, in a process of its own.
_COLLECT = """import json, sys
import pytest

class Collect:
    def __init__(self):
        self.checks, self.errors = [], []

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr).strip().splitlines()[-1][:300])

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("kata_check")
            if marker is None:
                self.errors.append(item.nodeid + " is not marked as a check")
            else:
                self.checks.append([marker.args[0].id, marker.args[0].points])

ini, root, checks, out = sys.argv[1:5]
plugin = Collect()
code = pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", "--noconftest", "--import-mode=importlib",
                    "-W", "ignore::pytest.PytestUnknownMarkWarning", "-c", ini, "--rootdir", root, checks],
                   plugins=[plugin])
with open(out, "w") as handle:
    json.dump({"code": int(code), "checks": plugin.checks, "errors": plugin.errors}, handle)
"""


def _collect_checks(kata: Kata) -> KitChecks:
    points: dict[str, int] = {}
    if kata.service_tests_dir.is_dir():  # the grader then runs the service's own tests as one more check
        points[EXISTING_TESTS] = kata.spec.existing_tests_points
    if not kata.has_hidden_checks:
        return KitChecks(points)
    with tempfile.TemporaryDirectory(prefix="kata-collect-") as tmp:
        ini, out = Path(tmp) / "pytest.ini", Path(tmp) / "collected.json"
        ini.write_text(runner.PYTEST_INI + f"pythonpath = {kata.checks_dir}\n")
        try:
            done = subprocess.run([sys.executable, "-I", "-B", "-c", _COLLECT, str(ini), tmp,
                                   str(kata.checks_dir), str(out)], cwd=tmp, capture_output=True, text=True,
                                  timeout=300)
        except subprocess.TimeoutExpired:
            raise KitError(f"kata {kata.name}: collecting its hidden checks took more than 300 s; run "
                           f"`kata verify {kata.id}` to see why") from None
        found = json.loads(out.read_text()) if out.is_file() else {"code": done.returncode, "checks": [],
                                                                    "errors": [done.stderr.strip()[-300:]]}
    ids = [check_id for check_id, _ in found["checks"]]
    problems = found["errors"] + [f"two checks share the id {i!r}" for i in sorted({i for i in ids
                                                                                     if ids.count(i) > 1})]
    if problems or found["code"] not in (0, 5):  # 5: no tests collected
        raise KitError(f"kata {kata.name}: its hidden checks could not be collected ({'; '.join(problems) or found})"
                       f"; run `kata verify {kata.id}` to see why")
    points.update({check_id: int(value) for check_id, value in found["checks"]})
    return KitChecks(points)


def kit_checks(katas: list[Kata], cache: Path | None = None,
               fingerprints: dict[str, str] | None = None) -> dict[str, KitChecks]:
    """Each kata's checks and their points, from the kit itself: the hidden checks collected as the grader
    collects them (plus the service's own tests when the kata has them), in a process of their own.

    Why from the kit: a kata's maximum read off learners' results (the old way) is whatever those results
    say, so one forged or damaged result claiming a check worth 1,000 points would change every learner's
    percentage, and a kata nobody could start would be worth the 1 point of its error. Collection imports
    only the kit's check modules (never a submission) and costs about a second per kata, so it is done once
    per kata fingerprint and kept in `cache` (OUT/.state/.kit/). Raises KitError when the checks cannot be
    collected: no learner could be graded on them either. `fingerprints`: kata id -> `kata_fingerprint`,
    when already known."""
    found: dict[str, KitChecks] = {}
    todo = []
    for kata in katas:
        fp = (fingerprints or {}).get(kata.id) or kata_fingerprint(kata)
        path = cache / f"{kata.name}.json" if cache is not None else None
        try:
            kept = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        except (OSError, ValueError):
            kept = None
        if isinstance(kept, dict) and kept.get("kata") == fp and isinstance(kept.get("points"), dict):
            found[kata.id] = KitChecks({str(k): int(v) for k, v in kept["points"].items()})
        else:
            todo.append((kata, fp, path))
    with ThreadPoolExecutor(max_workers=max(1, min(len(todo), os.cpu_count() or 1))) as pool:
        for (kata, fp, path), checks in zip(todo, pool.map(lambda item: _collect_checks(item[0]), todo),
                                            strict=True):
            found[kata.id] = checks
            if path is not None:
                write_atomic(path, json.dumps({"kata": fp, "points": checks.points}))
    return found


def scored_by_kit(result: KataResult, kit: KitChecks) -> KataResult:
    """`result` with its points and maximum set by the kit: a passed check the kit defines earns the kit's
    points for it, once; any other check (one the kit does not define, a second copy, the placeholder of a
    kata that did not run) earns 0 of 0; the kata's maximum is the kit's. A result that disagrees with the
    kit is never trusted for points or maxima; when it claimed more than the kit gives, its message says so."""
    checks, seen, claimed_more = [], set(), result.score > 0 and result.max_score > kit.total
    for item in result.checks:
        if item.id in kit.points and item.id not in seen:
            seen.add(item.id)
            top = kit.points[item.id]
            got = top if item.status is Status.PASSED else 0
            claimed_more = claimed_more or item.points > got or item.max_points > top
            checks.append(item.model_copy(update={"points": got, "max_points": top}))
        else:  # the placeholder check of a kata that did not run claims 0 points: nothing to say about it
            claimed_more = claimed_more or item.points > 0
            checks.append(item.model_copy(update={"points": 0, "max_points": 0}))
    score, top = sum(c.points for c in checks), kit.total
    if result.status is Status.ERROR:
        status = Status.ERROR
    else:
        status = Status.PASSED if top > 0 and score == top else Status.FAILED
    message = result.message
    if claimed_more or result.score > score:
        note = (f"Scored by the kit's checks ({top} points): the result's own points or maximum "
                f"({result.score}/{result.max_score}) were not used.")
        message = f"{message} {note}".strip() if note not in message else message
    return result.model_copy(update={
        "checks": checks, "score": score, "max_score": top, "status": status, "message": message,
        "passed": top > 0 and score * 100 >= result.pass_mark * top and status is not Status.ERROR})


# --- grading ---------------------------------------------------------------------------------------

def kata_fingerprint(kata: Kata) -> str:
    """A digest of what grading a kata depends on: a changed check or cassette means regrading."""
    digest = hashlib.sha256(__version__.encode())
    for folder in (kata.checks_dir, kata.fixtures_dir):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    digest.update((kata.exercise_dir / "kata.toml").read_bytes())
    return digest.hexdigest()[:16]


def _not_graded(kata: Kata, label: str, problem: Problem, text: str) -> KataResult:
    spec = kata.spec
    return KataResult.build(
        id=spec.id, slug=spec.slug, title=spec.title, target=label, pass_mark=spec.pass_mark, duration_s=0,
        crashed=True, problem=problem, message=text,
        checks=[CheckResult(id="submission", title="Submission", points=0, max_points=0, status=Status.ERROR,
                            message=text)],
    )


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a killed run never leaves half a file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".part")
    try:
        # backslashreplace: an undecodable byte of a file name quoted in a message is written as \xNN
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are shared like any written file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _printable_data(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable_data(v) for v in value]
    if isinstance(value, dict):
        return {k: _printable_data(v) for k, v in value.items()}
    return value


def to_json(model: BaseModel, indent: int | None = None) -> str:
    """The model as JSON; a string holding undecodable bytes (lone surrogates) is written with \\x escapes."""
    try:
        return model.model_dump_json(indent=indent)
    except PydanticSerializationError:
        data = _printable_data(model.model_dump())
        return type(model).model_validate(data).model_dump_json(indent=indent)


def _state_path(out: Path, learner: str, kata: Kata) -> Path:
    return out / ".state" / learner / f"{kata.name}.json"


def _load_state(path: Path) -> _State | None:
    try:
        return _State.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def hidden_paths(catalog: Catalog, submissions: Path, out: Path, workspace: Path) -> tuple[str, ...]:
    """Folders graded code must not see: the kit's private parts, other submissions, the outputs."""
    return sandbox.private_folders(catalog.root, submissions, out, workspace)


def _limits_tag(options: CohortOptions) -> str:
    limits = options.unpack_limits
    return f"{limits.max_bytes}:{limits.max_files}:{limits.git_timeout:g}"


def _unexpected(doing: str, exc: BaseException) -> str:
    """An error's reason in the instructor's words: where, what was observed, and what to do."""
    text = printable(str(exc)).strip().replace("\n", " ")[:300]
    return (f"the kit failed while {doing} ({type(exc).__name__}: {text}); expected a verdict on the submission; "
            "re-run `kata cohort` to try again (errors are never kept) and report it if it stays")


class _Run:
    """What grading one cohort needs at hand: where states go, fingerprints, options."""

    def __init__(self, out: Path, katas: list[Kata], options: CohortOptions) -> None:
        self.out, self.katas, self.options = out, katas, options
        self.kata_fps = {k.id: kata_fingerprint(k) for k in katas}
        self.limits = _limits_tag(options)
        self._starters: dict[str, dict[str, bytes]] = {}

    def starter(self, kata: Kata) -> dict[str, bytes]:
        """The kit's starter files of a kata (what "not attempted" is measured against), read once."""
        if kata.id not in self._starters:
            self._starters[kata.id] = learner.read_tree(kata.exercise_dir)
        return self._starters[kata.id]

    def reusable(self, state: _State | None, sub_fp: str, kata: Kata) -> bool:
        return (not self.options.regrade and state is not None and state.submission == sub_fp
                and state.kata == self.kata_fps[kata.id] and state.status is not SubmissionStatus.ERROR
                and (state.status is not SubmissionStatus.REFUSED or state.limits == self.limits))

    def save(self, sub: Submission, kata: Kata, sub_fp: str, result: KataResult,
             status: SubmissionStatus = SubmissionStatus.GRADED, reason: str = "") -> None:
        state = _State(submission=sub_fp, kata=self.kata_fps[kata.id], result=result, status=status,
                       reason=printable(reason), limits=self.limits if status is SubmissionStatus.REFUSED else "")
        write_atomic(_state_path(self.out, sub.learner, kata), to_json(state))

    def not_graded(self, sub: Submission, katas: list[Kata], sub_fp: str, status: SubmissionStatus,
                   reason: str) -> None:
        problem = {SubmissionStatus.REFUSED: Problem.REFUSED, SubmissionStatus.EMPTY: Problem.MISSING}.get(
            status, Problem.NOT_STARTED)
        for kata in katas:
            self.save(sub, kata, sub_fp, _not_graded(kata, sub.learner, problem, f"Not graded: {printable(reason)}."),
                      status, reason)


def changed_from_starter(folder: Path, starter: dict[str, bytes]) -> bool:
    """Whether a learner's kata folder differs from the kit's starter (a link counts as a change and is never
    followed; the folder was unpacked within the size caps)."""
    seen = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        ignored = targets.IGNORED(dirpath, [*dirnames, *filenames])
        dirnames[:] = [d for d in dirnames if d not in ignored]
        for name in filenames:
            if name in ignored or learner.is_litter(name):
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file() or rel not in starter:
                return True
            if path.stat().st_size != len(starter[rel]) or path.read_bytes() != starter[rel]:
                return True
            seen.add(rel)
    return seen != set(starter)


def _prepare(run: _Run, sub: Submission, todo: list[Kata], sub_fp: str,
             workspace: Path) -> list[tuple[Submission, Kata, targets.Target, str]]:
    """Unpack one learner and list what to grade; a refusal is saved as that learner's states."""
    try:
        folder = unpack(sub, workspace, run.options)
        root = submission_root(folder, run.katas)
        if root is None:
            run.not_graded(sub, todo, sub_fp, SubmissionStatus.EMPTY, NO_KATA_FOLDERS)
            return []
    except Refused as exc:
        run.not_graded(sub, todo, sub_fp, SubmissionStatus.REFUSED, str(exc))
        return []
    tasks = []
    for kata in todo:
        target = targets.folder(kata, root)
        if all(layer.is_dir() for layer in target.layers):
            tasks.append((sub, kata, target, sub_fp))
        else:  # a learner may hand in only some katas: no process for the others
            run.save(sub, kata, sub_fp, _not_graded(
                kata, sub.learner, Problem.MISSING, f"Not graded: the submission has no {kata.name} folder."))
    return tasks


def grade_cohort(
    catalog: Catalog, submissions: Path, out: Path, options: CohortOptions,
    katas: list[Kata] | None = None,
    on_progress: Callable[[str, KataResult | None, int, int], None] | None = None,
) -> RunSummary:
    """Grade every learner of `submissions` into `out`; see the module docstring for resuming."""
    katas = katas or catalog.katas
    subs = discover(submissions, exclude=(out,))
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".state/**/.*.part"):  # left by a run killed mid-write: never read
        stale.unlink(missing_ok=True)
    run = _Run(out, katas, options)
    kit = kit_checks(katas, out / ".state" / KIT_DIR, run.kata_fps)
    workspace = Path(tempfile.mkdtemp(prefix="kata-cohort-"))  # the unpacked submissions, on disk
    grading = Path(tempfile.mkdtemp(prefix="kata-cohort-grading-", dir=scratch.root()))  # the runs, in RAM
    problem = sandbox.probe() if options.sandbox else "turned off (--no-sandbox)"
    isolation = sandbox.Isolation(limits=options.limits, sandbox=options.sandbox,
                                  hidden=(*hidden_paths(catalog, submissions, out, workspace), str(grading)))
    run_options = runner.RunOptions(time_limit=options.time_limit, isolation=isolation, tmp_root=grading)
    tasks: list[tuple[Submission, Kata, targets.Target, str]] = []
    reused = 0
    try:
        for sub in subs:
            sub_fp, todo = "", list(katas)
            try:
                sub_fp = fingerprint(sub, options)
                todo = [k for k in katas if not run.reusable(_load_state(_state_path(out, sub.learner, k)), sub_fp, k)]
                reused += len(katas) - len(todo)
                if todo:
                    tasks += _prepare(run, sub, todo, sub_fp, workspace)
            except Exception as exc:  # a bug or a machine problem: this learner's row says so, the run goes on
                run.not_graded(sub, todo, sub_fp, SubmissionStatus.ERROR, _unexpected("unpacking the submission", exc))
        graded, interrupted = _grade_tasks(run, tasks, kit, run_options, on_progress)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
        shutil.rmtree(grading, ignore_errors=True)
    learners = [_learner_record(out, sub, katas, kit) for sub in subs]
    summary = RunSummary(learners=learners, graded=graded, reused=reused,
                         isolation=_describe(options, problem), interrupted=interrupted, planned=len(tasks))
    write_outputs(out, learners, katas, summary, {k.id: kit[k.id].total for k in katas})
    return summary


def _describe(options: CohortOptions, problem: str | None) -> str:
    limits = options.limits
    text = (f"limits per kata: {limits.cpu_seconds} s CPU, {limits.memory_bytes // 1024**2} MB memory, "
            f"{limits.file_bytes // 1024**2} MB per file")
    if problem is None:
        return "sandbox (no network, read-only file system, private folders hidden); " + text
    return f"no sandbox ({problem}); network blocked in-process only; " + text


def _grade_tasks(run: _Run, tasks: list[tuple[Submission, Kata, targets.Target, str]], kit: dict[str, KitChecks],
                 options: runner.RunOptions,
                 on_progress: Callable[[str, KataResult | None, int, int], None] | None) -> tuple[int, bool]:
    workers = max(1, run.options.jobs or os.cpu_count() or 1)
    done = 0

    def one(task: tuple[Submission, Kata, targets.Target, str]) -> tuple[Submission, KataResult]:
        sub, kata, target, sub_fp = task
        try:
            changed = changed_from_starter(target.layers[0], run.starter(kata))
            result = warm.grade(kata, target).model_copy(update={"target": sub.learner, "changed": changed})
            run.save(sub, kata, sub_fp, result)  # as soon as it is known
        except Stopped:
            raise  # Ctrl-C: nothing is saved for this pair, so the next run grades it
        except Exception as exc:  # the grader promises never to raise; if it does, only this pair is lost
            reason = _unexpected(f"grading {kata.name}", exc)
            result = _not_graded(kata, sub.learner, Problem.NOT_STARTED, f"Not graded: {reason}.")
            run.save(sub, kata, sub_fp, result, SubmissionStatus.ERROR, reason)
        return sub, scored_by_kit(result, kit[kata.id])

    if on_progress is not None:
        on_progress("", None, 0, len(tasks))
    # One host launcher and a warm grader per worker for the whole cohort: no run imports pytest, the SDK
    # or pandas afresh, and each run's learner hosts get a control group of their own.
    with GradingSession(options, workers) as warm:
        try:
            for sub, result in run_all(warm, workers, tasks, one, ordered=False):
                done += 1
                if on_progress is not None:
                    on_progress(sub.learner, result, done, len(tasks))
        except KeyboardInterrupt:
            return done, True  # the caller writes the outputs of what was graded, and says the run was cut short
    return done, False


def _learner_record(out: Path, sub: Submission, katas: list[Kata], kit: dict[str, KitChecks]) -> LearnerRecord:
    states = [_load_state(_state_path(out, sub.learner, kata)) for kata in katas]
    results = [scored_by_kit(state.result if state else _not_graded(kata, sub.learner, Problem.MISSING,
                                                                    "Not graded yet."), kit[kata.id])
               for kata, state in zip(katas, states, strict=True)]
    loaded = [s for s in states if s is not None]
    errors = [s.reason for s in loaded if s.status is SubmissionStatus.ERROR]
    verdicts = [s for s in loaded if s.status in (SubmissionStatus.REFUSED, SubmissionStatus.EMPTY)]
    problems = {r.problem for r in results}
    if errors:
        status, reason = SubmissionStatus.ERROR, errors[0]
    elif verdicts:
        status, reason = verdicts[0].status, verdicts[0].reason
    elif problems == {Problem.REFUSED}:  # a state written before states kept their verdict
        status, reason = SubmissionStatus.REFUSED, results[0].message.removeprefix("Not graded: ").rstrip(".")
    elif problems == {Problem.MISSING}:
        status, reason = SubmissionStatus.EMPTY, "no kata folders found"
    else:
        status, reason = SubmissionStatus.GRADED, ""
    return LearnerRecord(learner=sub.learner, source=printable(sub.source.name), kind=sub.kind, status=status,
                         reason=reason, score=sum(r.score for r in results),
                         max_score=sum(kit[k.id].total for k in katas), katas=results)


def write_outputs(out: Path, learners: list[LearnerRecord], katas: list[Kata], summary: RunSummary,
                  maxima: dict[str, int] | None = None) -> None:
    """gradebook.csv, checks.csv, results/, feedback/ and report.html, each written atomically.

    `maxima` (kata id -> maximum score) comes from the kit's checks (`kit_checks`) when not given."""
    from kata.outputs import cohort_report  # the HTML report and CSVs use pandas: imported only when writing

    if maxima is None:
        found = kit_checks(katas, out / ".state" / KIT_DIR)
        maxima = {k.id: found[k.id].total for k in katas}
    for record in learners:
        write_atomic(out / "results" / f"{record.learner}.json", to_json(record, indent=2) + "\n")
        write_atomic(out / "feedback" / f"{record.learner}.md", feedback_markdown(record))
    write_atomic(out / "gradebook.csv", cohort_report.gradebook_csv(learners, katas, maxima))
    write_atomic(out / "checks.csv", cohort_report.checks_csv(learners))
    write_atomic(out / "report.html", cohort_report.render_html(learners, katas, maxima, summary))


def _labelled(line: str) -> str:
    """A message line for Markdown: its label (`observed:`, `expected:`, `hint:`) in bold, markup escaped."""
    label, sep, rest = line.partition(": ")
    text = line.replace("<", "&lt;")
    if sep and label in ("observed", "expected", "hint"):
        return f"**{label}:** {rest.replace('<', '&lt;')}"
    return text


def feedback_markdown(record: LearnerRecord) -> str:
    """The learner-facing feedback of one learner: scores, failed checks with what was observed and hints."""
    lines = [f"# Feedback for {record.learner}", ""]
    if record.status is SubmissionStatus.ERROR:
        lines += [f"**Your submission could not be graded completely (error):** {record.reason}.", "",
                  "This is a problem on the grading side, not a verdict on your work: your instructor grades "
                  "it again.", ""]
        if all(kata.checks and kata.checks[0].id == "submission" for kata in record.katas):
            return "\n".join(lines)  # nothing of it ran
    elif record.status is not SubmissionStatus.GRADED:
        lines += [f"**Your submission was not graded ({record.status.value}):** {record.reason}.", "",
                  "Send it again as a folder or a .zip holding `exercises/NN-slug/` folders.", ""]
        return "\n".join(lines)
    lines += [f"Total: **{record.score}/{record.max_score}** points.", ""]
    for kata in record.katas:
        mark = kata.state
        lines += [f"## {kata.id} {kata.title}: {kata.score}/{kata.max_score} ({mark})", ""]
        if kata.message:
            lines += [f"> {kata.message}", ""]
        previous = ""
        for item in kata.checks:
            if item.status is Status.PASSED:
                lines.append(f"- [x] {item.title}")
                continue
            lines.append(f"- [ ] {item.title} ({item.points}/{item.max_points})")
            # One nested item per line: Markdown would join plain lines into one paragraph.
            lines += [f"  - {_labelled(line)}" for line in message_lines(item.message, previous) if line.strip()]
            previous = item.message
        lines.append("")
    return "\n".join(lines)


def state_files(out: Path) -> list[Path]:
    """The per-(learner, kata) state files of a run (tests and resuming)."""
    return sorted(p for p in (out / ".state").glob("*/*.json") if p.parent.name != KIT_DIR)
