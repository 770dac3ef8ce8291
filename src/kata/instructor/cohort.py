"""Grading a whole cohort: find the learners, unpack safely, grade in isolation, write the outputs.

A run is resumable and crash-safe: each (learner, kata) result is written atomically to
`OUT/.state/<learner>/<kata>.json` the moment it is graded, together with fingerprints of the
submission and of the kata's hidden checks and fixtures. Re-running the same command grades only
what is missing or changed; the gradebook, CSVs, per-learner files and the HTML report are rebuilt
from those states at the end of every run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from kata import __version__, targets
from kata.catalog import Catalog, Kata, KitError
from kata.grader import runner
from kata.grader.session import GradingSession
from kata.host import sandbox
from kata.instructor.records import Kind, LearnerRecord, RunSummary, SubmissionStatus
from kata.outputs.report import message_lines
from kata.outputs.results import CheckResult, KataResult, Problem, Status

MAX_UNPACKED_BYTES = 50 * 1024**2
MAX_FILES = 5000
_UMASK = os.umask(0o022)
os.umask(_UMASK)
# A learner id becomes a file name in every output: keep it to safe characters.
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True)
class Submission:
    """One learner's submission as found in the submissions folder."""

    learner: str
    source: Path
    kind: Kind


class Refused(Exception):
    """A submission that is not graded, with the reason in learner- and instructor-facing words."""


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


class _State(BaseModel):
    """The crash-safe record of one graded (learner, kata)."""

    submission: str
    kata: str
    result: KataResult


# --- finding and unpacking submissions -----------------------------------------------------------

def discover(folder: Path) -> list[Submission]:
    """Every learner in `folder`: sub-folders, `.zip` files, bare git repositories and git bundles."""
    if not folder.is_dir():
        raise KitError(f"{folder}: no such folder of submissions")
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and (entry / "HEAD").is_file() and (entry / "objects").is_dir():
            kind, name = Kind.GIT, entry.name.removesuffix(".git")
        elif entry.is_dir():
            kind, name = Kind.FOLDER, entry.name
        elif entry.suffix == ".zip":
            kind, name = Kind.ZIP, entry.stem
        elif entry.suffix == ".bundle":
            kind, name = Kind.GIT, entry.stem
        else:
            continue  # stray files (a README, a CSV of names) are not learners
        learner = _UNSAFE_ID.sub("_", name).strip("._") or "learner"
        while learner in found:
            learner += "_"
        found[learner] = Submission(learner, entry, kind)
    return list(found.values())


def fingerprint(sub: Submission) -> str:
    """A digest of the submission's content: a changed submission is graded again."""
    digest = hashlib.sha256(sub.kind.value.encode())
    if sub.source.is_file():
        digest.update(sub.source.read_bytes())
    else:
        for path in sorted(sub.source.rglob("*")):
            rel = path.relative_to(sub.source)
            if any(part in {".git", "__pycache__", ".venv", ".nox", ".kata"} for part in rel.parts[:-1]):
                continue
            digest.update(str(rel).encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _check_zip(archive: zipfile.ZipFile, limit: int, max_files: int) -> None:
    members = archive.infolist()
    if len(members) > max_files:
        raise Refused(f"the archive holds {len(members)} files, more than the limit of {max_files}")
    total = 0
    for info in members:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", info.filename):
            raise Refused(f"the archive entry {info.filename!r} would be written outside the submission")
        if stat.S_ISLNK(info.external_attr >> 16):
            link = PurePosixPath(archive.read(info).decode("utf-8", "replace"))
            if link.is_absolute() or ".." in link.parts:
                raise Refused(f"the archive entry {info.filename!r} is a link pointing outside the submission "
                              f"({link})")
        total += info.file_size
        if total > limit:
            raise Refused(f"the archive unpacks to more than the limit of {limit // 1024**2} MB")


def _extract_zip(source: Path, dest: Path, limit: int, max_files: int) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            _check_zip(archive, limit, max_files)
            written = 0
            for info in archive.infolist():
                if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
                    continue  # in-tree links are dropped: a submission's code needs none
                target = dest / PurePosixPath(info.filename.replace("\\", "/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                # Count what really comes out: the sizes an archive declares can lie (zip bombs).
                with archive.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        written += len(chunk)
                        if written > limit:
                            raise Refused(f"the archive unpacks to more than the limit of {limit // 1024**2} MB")
                        out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise Refused(f"the file is not a readable zip archive ({exc})") from None


def _check_tree(root: Path, limit: int, max_files: int) -> None:
    """Refuse a folder with links pointing outside it, too many files, or too many bytes."""
    base = root.resolve()
    total, count = 0, 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in {".git", ".venv", ".nox", "__pycache__", "node_modules"}]
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            if path.is_symlink():
                try:
                    path.resolve().relative_to(base)
                except (ValueError, OSError):
                    rel = path.relative_to(root)
                    raise Refused(f"{rel} is a link pointing outside the submission ({os.readlink(path)})") from None
        for name in filenames:
            count += 1
            total += (Path(dirpath) / name).lstat().st_size
        if count > max_files:
            raise Refused(f"the submission holds more than the limit of {max_files} files")
        if total > limit:
            raise Refused(f"the submission is larger than the limit of {limit // 1024**2} MB")


def unpack(sub: Submission, workspace: Path, options: CohortOptions) -> Path:
    """The submission as a folder to grade from; raises Refused for unsafe or unreadable ones."""
    dest = workspace / "unpacked" / sub.learner
    shutil.rmtree(dest, ignore_errors=True)
    if sub.kind is Kind.ZIP:
        dest.mkdir(parents=True)
        _extract_zip(sub.source, dest, options.max_unpacked_bytes, options.max_files)
    elif sub.kind is Kind.GIT:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A local clone runs none of the source's hooks or configuration; no submodules are fetched.
        done = subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(sub.source), str(dest)],
                              capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        if done.returncode != 0:
            raise Refused(f"the git repository could not be cloned ({done.stderr.strip()[-200:]})")
    else:
        _check_tree(sub.source, options.max_unpacked_bytes, options.max_files)
        return sub.source
    _check_tree(dest, options.max_unpacked_bytes, options.max_files)
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are shared like any written file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def grade_cohort(
    catalog: Catalog, submissions: Path, out: Path, options: CohortOptions,
    katas: list[Kata] | None = None,
    on_progress: Callable[[str, KataResult | None, int, int], None] | None = None,
) -> RunSummary:
    """Grade every learner of `submissions` into `out`; see the module docstring for resuming."""
    katas = katas or catalog.katas
    subs = discover(submissions)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".state/**/.*.part"):  # left by a run killed mid-write: never read
        stale.unlink(missing_ok=True)
    kata_fps = {k.id: kata_fingerprint(k) for k in katas}
    workspace = Path(tempfile.mkdtemp(prefix="kata-cohort-"))
    problem = sandbox.probe() if options.sandbox else "turned off (--no-sandbox)"
    isolation = sandbox.Isolation(limits=options.limits, sandbox=options.sandbox,
                                  hidden=hidden_paths(catalog, submissions, out, workspace))
    run_options = runner.RunOptions(time_limit=options.time_limit, isolation=isolation,
                                    tmp_root=workspace / "grading")
    (workspace / "grading").mkdir()
    refused: dict[str, tuple[SubmissionStatus, str]] = {}
    tasks: list[tuple[Submission, Kata, targets.Target, str]] = []
    reused = 0
    try:
        for sub in subs:
            sub_fp = fingerprint(sub)
            todo = []
            for kata in katas:
                state = _load_state(_state_path(out, sub.learner, kata))
                if (not options.regrade and state is not None and state.submission == sub_fp
                        and state.kata == kata_fps[kata.id]):
                    reused += 1
                else:
                    todo.append(kata)
            if not todo:
                continue
            try:
                folder = unpack(sub, workspace, options)
                root = submission_root(folder, katas)
                if root is None:
                    raise Refused("no kata folders found (expected exercises/NN-slug/ or NN-slug/)")
            except Refused as exc:
                status = SubmissionStatus.EMPTY if "no kata folders" in str(exc) else SubmissionStatus.REFUSED
                refused[sub.learner] = (status, str(exc))
                for kata in todo:
                    result = _not_graded(kata, sub.learner, Problem.REFUSED if status == "refused" else Problem.MISSING,
                                         f"Not graded: {exc}.")
                    _save(out, sub, kata, sub_fp, kata_fps[kata.id], result)
                continue
            for kata in todo:
                target = targets.folder(kata, root)
                if all(layer.is_dir() for layer in target.layers):
                    tasks.append((sub, kata, target, sub_fp))
                else:  # a learner may hand in only some katas: no process for the others
                    _save(out, sub, kata, sub_fp, kata_fps[kata.id], _not_graded(
                        kata, sub.learner, Problem.MISSING, f"Not graded: the submission has no {kata.name} folder."))
        graded = _grade_tasks(tasks, out, kata_fps, run_options, options.jobs, on_progress)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    learners = [_learner_record(out, sub, katas, refused.get(sub.learner)) for sub in subs]
    maxima = kata_maxima(learners, katas)
    learners = [r.model_copy(update={"max_score": sum(maxima.values())}) for r in learners]
    summary = RunSummary(learners=learners, graded=graded, reused=reused,
                         isolation=_describe(options, problem))
    write_outputs(out, learners, katas, summary)
    return summary


def _describe(options: CohortOptions, problem: str | None) -> str:
    limits = options.limits
    text = (f"limits per kata: {limits.cpu_seconds} s CPU, {limits.memory_bytes // 1024**2} MB memory, "
            f"{limits.file_bytes // 1024**2} MB per file")
    if problem is None:
        return "sandbox (no network, read-only file system, private folders hidden); " + text
    return f"no sandbox ({problem}); network blocked in-process only; " + text


def _save(out: Path, sub: Submission, kata: Kata, sub_fp: str, kata_fp: str, result: KataResult) -> None:
    state = _State(submission=sub_fp, kata=kata_fp, result=result)
    write_atomic(_state_path(out, sub.learner, kata), state.model_dump_json())


def _grade_tasks(tasks: list[tuple[Submission, Kata, targets.Target, str]], out: Path, kata_fps: dict[str, str],
                 options: runner.RunOptions, jobs: int | None,
                 on_progress: Callable[[str, KataResult | None, int, int], None] | None) -> int:
    workers = max(1, jobs or os.cpu_count() or 1)
    done = 0

    def one(task: tuple[Submission, Kata, targets.Target, str]) -> tuple[Submission, KataResult]:
        sub, kata, target, sub_fp = task
        result = warm.grade(kata, target).model_copy(update={"target": sub.learner})
        _save(out, sub, kata, sub_fp, kata_fps[kata.id], result)  # as soon as it is known
        return sub, result

    if on_progress is not None:
        on_progress("", None, 0, len(tasks))
    # One host launcher and a warm grader per worker for the whole cohort: no run imports pytest, the SDK
    # or pandas afresh, and each run's learner hosts get a control group of their own.
    with GradingSession(options, workers) as warm, ThreadPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(one, task) for task in tasks]):
            sub, result = future.result()
            done += 1
            if on_progress is not None:
                on_progress(sub.learner, result, done, len(tasks))
    return done


def _learner_record(out: Path, sub: Submission, katas: list[Kata],
                    refused: tuple[SubmissionStatus, str] | None) -> LearnerRecord:
    results = []
    for kata in katas:
        state = _load_state(_state_path(out, sub.learner, kata))
        results.append(state.result if state else _not_graded(kata, sub.learner, Problem.MISSING, "Not graded yet."))
    problems = {r.problem for r in results}
    if refused is not None:
        status, reason = refused
    elif problems == {Problem.REFUSED}:
        status, reason = SubmissionStatus.REFUSED, results[0].message.removeprefix("Not graded: ").rstrip(".")
    elif problems == {Problem.MISSING}:
        status, reason = SubmissionStatus.EMPTY, "no kata folders found"
    else:
        status, reason = SubmissionStatus.GRADED, ""
    return LearnerRecord(learner=sub.learner, source=sub.source.name, kind=sub.kind, status=status, reason=reason,
                         score=sum(r.score for r in results), max_score=0, katas=results)


def kata_maxima(learners: list[LearnerRecord], katas: list[Kata]) -> dict[str, int]:
    """The maximum score of each kata, read off any learner whose kata ran (0 when none did)."""
    maxima = {k.id: 0 for k in katas}
    for record in learners:
        for result in record.katas:
            maxima[result.id] = max(maxima.get(result.id, 0), result.max_score)
    return maxima


def write_outputs(out: Path, learners: list[LearnerRecord], katas: list[Kata], summary: RunSummary) -> None:
    """gradebook.csv, checks.csv, results/, feedback/ and report.html, each written atomically."""
    from kata.outputs import cohort_report  # the HTML report and CSVs use pandas: imported only when writing

    maxima = kata_maxima(learners, katas)
    for record in learners:
        write_atomic(out / "results" / f"{record.learner}.json", record.model_dump_json(indent=2) + "\n")
        write_atomic(out / "feedback" / f"{record.learner}.md", feedback_markdown(record))
    write_atomic(out / "gradebook.csv", cohort_report.gradebook_csv(learners, katas, maxima))
    write_atomic(out / "checks.csv", cohort_report.checks_csv(learners))
    write_atomic(out / "report.html", cohort_report.render_html(learners, katas, maxima, summary))


def feedback_markdown(record: LearnerRecord) -> str:
    """The learner-facing feedback of one learner: scores, failed checks with what was observed and hints."""
    lines = [f"# Feedback for {record.learner}", ""]
    if record.status is not SubmissionStatus.GRADED:
        lines += [f"**Your submission was not graded ({record.status.value}):** {record.reason}.", "",
                  "Send it again as a folder or a .zip holding `exercises/NN-slug/` folders.", ""]
        return "\n".join(lines)
    lines += [f"Total: **{record.score}/{record.max_score}** points.", ""]
    for kata in record.katas:
        mark = "passed" if kata.full_marks else kata.status.value
        lines += [f"## {kata.id} {kata.title}: {kata.score}/{kata.max_score} ({mark})", ""]
        if kata.message:
            lines += [f"> {kata.message}", ""]
        previous = ""
        for item in kata.checks:
            if item.status is Status.PASSED:
                lines.append(f"- [x] {item.title}")
                continue
            lines.append(f"- [ ] {item.title} ({item.points}/{item.max_points})")
            lines += [f"    {line}" for line in message_lines(item.message, previous) if line.strip()]
            previous = item.message
        lines.append("")
    return "\n".join(lines)


def state_files(out: Path) -> list[Path]:
    """The per-(learner, kata) state files of a run (tests and resuming)."""
    return sorted((out / ".state").glob("*/*.json"))
