"""The `kata` command (also `python -m kata`)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from kata import __version__, targets
from kata.catalog import Catalog, Kata, KitError, find_root, is_kit
from kata.grader import runner, session
from kata.host import sandbox
from kata.instructor import cohort, gradescope, record, release, verify
from kata.learn import learner, loop
from kata.learn.progress import Progress
from kata.outputs import report
from kata.outputs.results import GradeReport, write_classroom, write_gradescope, write_json, write_junit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kata", description="AI Engineering Katas: graded katas, offline.")
    parser.add_argument("--version", action="version", version=f"kata {__version__}")
    parser.add_argument("--root", type=Path, help="the kit's folder (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="every kata with its phase, time and your status")

    hint = sub.add_parser("hint", help="reveal the next hint of a kata (they are remembered)")
    hint.add_argument("kata")

    check = sub.add_parser("check", help="run the legacy service's own tests in your exercise folder")
    check.add_argument("kata")

    grade = sub.add_parser("grade", help="grade katas with the hidden checks (all katas by default)")
    grade.add_argument("katas", nargs="*", metavar="KATA")
    which = grade.add_mutually_exclusive_group()
    which.add_argument("--solution", action="store_true", help="grade the reference solutions")
    which.add_argument("--target", type=Path, help="grade this folder instead of exercises/")
    grade.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    grade.add_argument("--junit", type=Path, metavar="PATH", help="also write the results as JUnit XML")
    grade.add_argument("--gradescope", type=Path, metavar="PATH", help="also write Gradescope's results.json")
    grade.add_argument("--gradescope-visibility", default="visible", help=argparse.SUPPRESS)
    grade.add_argument("--classroom", type=Path, metavar="PATH",
                       help="also write a GitHub Classroom runner result (the release's workflow uses it)")
    grade.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit per kata (default 60)")
    grade.add_argument("--jobs", type=int, default=None, help="katas graded in parallel (default: cores)")
    grade.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)

    ver = sub.add_parser("verify", help="prove the kit: starters fail, solutions pass, wrong ones fail")
    ver.add_argument("katas", nargs="*", metavar="KATA")
    ver.add_argument("--jobs", type=int, default=None)

    rel = sub.add_parser("release", help="write a student edition: no solutions, cassettes without prompts")
    rel.add_argument("out", type=Path, metavar="OUT", help="a new folder for the edition")
    rel.add_argument("--with-hidden-checks", action="store_true",
                     help="include the hidden checks, so learners grade themselves (self-graded workshops)")
    rel.add_argument("--kata", action="append", default=[], metavar="KATA", help="only these katas")
    rel.add_argument("--zip", action="store_true", help="also write OUT.zip")

    gs = sub.add_parser("gradescope", help="build a Gradescope autograder bundle (setup.sh, run_autograder)")
    gs.add_argument("out", type=Path, metavar="OUT.zip")
    gs.add_argument("--kata", action="append", default=[], metavar="KATA", help="only these katas")
    gs.add_argument("--visibility", default="after_published",
                    choices=["hidden", "after_due_date", "after_published", "visible"],
                    help="when learners see each check's result (Gradescope's visibility; default after_published)")

    coh = sub.add_parser("cohort", help="grade every learner of a folder of submissions (instructors)")
    coh.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                     help="a folder holding one folder, .zip, bare git repository or .bundle per learner")
    coh.add_argument("--out", type=Path, required=True, metavar="DIR", help="where the gradebook and reports go")
    coh.add_argument("--kata", action="append", default=[], metavar="KATA", help="grade only these katas")
    coh.add_argument("--jobs", type=int, default=None, help="gradings in parallel (default: cores)")
    coh.add_argument("--regrade", action="store_true", help="grade again what an earlier run already graded")
    coh.add_argument("--timeout", type=float, metavar="SECONDS", help="wall time per kata (default: the kata's)")
    coh.add_argument("--cpu", type=int, default=120, metavar="SECONDS", help="CPU time per kata (default 120)")
    coh.add_argument("--memory", type=int, default=4096, metavar="MB", help="memory per kata (default 4096)")
    coh.add_argument("--max-size", type=int, default=50, metavar="MB", help="largest unpacked submission (50)")
    coh.add_argument("--no-sandbox", action="store_true",
                     help="limits only, without the Linux namespace sandbox (not for untrusted code)")

    rec = sub.add_parser("record", help="re-record a kata's cassettes (kit maintainers)")
    rec.add_argument("kata")
    rec.add_argument("--standin", action="store_true",
                     help="record against the kata's scripted stand-in (fixtures/NN-*/standin.toml); without "
                          "it, against the real endpoint OPENAI_API_KEY / OPENAI_BASE_URL name")
    rec.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    rec.add_argument("--model", help="real endpoint: ask this model instead of the one the solution names")
    rec.add_argument("--out", type=Path, metavar="DIR", help="real endpoint: write the cassettes here instead")
    loop.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 all good, 1 not all full marks, 2 usage or kit error)."""
    args = _parser().parse_args(argv)
    out = report.console()
    try:
        root = args.root.resolve() if args.root else find_root()
        if args.root and not is_kit(root):
            raise KitError(f"--root {args.root}: not a kit (no pyproject.toml beside exercises/ there)")
        if args.command in INSTRUCTOR_COMMANDS and (root / release.EDITION_FILE).is_file():
            raise KitError(f"this is a student edition: `kata {args.command}` is an instructor's command and needs "
                           "the full kit (reference solutions, stand-in scripts, known-wrong solutions); run it in "
                           "the kit this edition was made from")
        catalog = Catalog(root)
        _say_what_is_missing(catalog, out)
        if loop.keeps_starters(args):
            learner.keep_starters(catalog)  # outside git only: `kata reset` needs the pristine starter
        code = COMMANDS[args.command](args, catalog, out)
        # The other katas were served; a broken kata.toml still makes the run a kit error.
        return 2 if catalog.broken else code
    except KitError as exc:
        out.print(f"[red]kata: {escape(str(exc))}[/]")
        return 2
    except KeyboardInterrupt:
        # The grades that were running have ended and their temporary folders are gone (session.run_all).
        out.print("[yellow]Interrupted: nothing more was graded, and nothing of this run was recorded.[/]")
        return 130


INSTRUCTOR_COMMANDS = ("verify", "record", "release", "gradescope", "cohort")


def _say_what_is_missing(catalog: Catalog, out: report.Console) -> None:
    """A missing exercises/ folder or a broken kata.toml is said once, and the rest goes on."""
    if not (catalog.root / "exercises").is_dir():
        out.print("[yellow]exercises/ is missing: `kata reset NN` brings a kata's starter back.[/]")
        return
    catalog.katas  # noqa: B018 (reading the catalog finds the broken kata.toml files)
    for name, problem in catalog.broken.items():
        out.print(f"[red]kata: {escape(problem)}[/] [dim](kata {escape(name)} is left out; the others go on)[/]")


def cmd_list(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    report.print_catalog(out, catalog.katas, Progress(catalog.root))
    return 0


def cmd_hint(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    kata = catalog.get(args.kata)
    progress = Progress(catalog.root)
    shown = progress.show_hint(kata.id, len(kata.spec.hints))
    progress.save()
    for number, text in enumerate(kata.spec.hints[:shown], 1):
        out.print(f"[bold]Hint {number}/{len(kata.spec.hints)}[/] {escape(text)}")
    if shown == len(kata.spec.hints):
        out.print("[dim]That was the last hint.[/]")
    else:
        out.print(f"[dim]Run `kata hint {kata.id}` again for the next one.[/]")
    return 0


def cmd_check(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    kata = catalog.get(args.kata)
    folder = kata.exercise_dir
    env = dict(os.environ, PYTHONPATH=str(folder), PYTHONDONTWRITEBYTECODE="1")
    out.print(f"[bold]{kata.id} {escape(kata.spec.title)}[/]: the service's own tests in {folder}")
    return subprocess.call([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"],
                           cwd=folder, env=env)


def _targets(args: argparse.Namespace, katas: list[Kata]) -> list[tuple[Kata, targets.Target]]:
    if args.solution:
        return [(k, targets.solution(k)) for k in katas]
    if args.target:
        return [(k, targets.folder(k, args.target)) for k in katas]
    return [(k, targets.exercise(k)) for k in katas]


def cmd_grade(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    katas = catalog.select(args.katas)
    jobs = _targets(args, katas)
    options = runner.RunOptions(time_limit=args.timeout, keep=args.keep)
    out.print(f"[dim]Grading {len(jobs)} kata(s) offline from recorded model traffic...[/]")
    for gap in sandbox.gaps(sandbox.Isolation()):
        out.print(f"[dim]Isolation: {escape(gap)}; a score still cannot be forged (the grader is a process "
                  "of its own).[/]")
    results = session.grade_many(jobs, options, workers=args.jobs, on_result=lambda r: report.print_result(out, r))
    report.print_summary(out, results)
    graded = GradeReport(katas=results)
    if not args.solution and not args.target:
        progress = Progress(catalog.root)
        for result in results:
            progress.record_grade(result, graded.graded_at)
        progress.save()
    if args.json:
        write_json(graded, args.json)
    if args.junit:
        write_junit(graded, args.junit)
    if args.gradescope:
        write_gradescope(graded, args.gradescope, args.gradescope_visibility)
    if args.classroom:
        write_classroom(graded, args.classroom)
    return 0 if graded.all_full_marks else 1


def cmd_verify(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    katas = catalog.select(args.katas)
    started = dt.datetime.now()
    verdicts = verify.verify(katas, workers=args.jobs)
    for verdict in verdicts:
        mark = "[green]✔[/]" if verdict.ok else "[red]✘[/]"
        out.print(f"{mark} [bold]{verdict.kata.name}[/]")
        for line in verdict.proved:
            out.print(f"    [dim]{escape(line)}[/]")
        for problem in verdict.problems:
            out.print(f"    [red]✘ {escape(problem)}[/]")
    bad = [v for v in verdicts if not v.ok]
    seconds = (dt.datetime.now() - started).total_seconds()
    if bad:
        out.print(f"[red]verify: {len(bad)} of {len(verdicts)} katas have problems[/] ({seconds:.1f} s)")
        return 1
    out.print(f"[green]verify: all {len(verdicts)} katas proven[/] ({seconds:.1f} s)")
    return 0


def cmd_record(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    if not args.standin:
        return loop.cmd_record_endpoint(args, catalog, out)
    kata = catalog.get(args.kata)
    outcome = record.record_with_standin(kata, write=not args.dry_run)
    report.print_result(out, outcome.result)
    for line in outcome.changes or ["no cassette changed"]:
        out.print(f"  {escape(line)}")
    for reply in outcome.unused_replies:
        out.print(f"  [red]scripted reply never requested: {escape(reply)}[/]")
    for request in outcome.unscripted:
        out.print(f"  [red]request with no scripted reply: {escape(request)}[/]")
    if not outcome.ok:
        out.print("[red]recording incomplete: cassettes left as they were[/]")
        return 1
    out.print("[green]cassettes written[/]" if not args.dry_run else "[dim]dry run: nothing written[/]")
    return 0


def cmd_release(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    katas = catalog.select(args.kata)
    out.print(f"[dim]Writing the student edition of {len(katas)} kata(s) to {args.out}...[/]")
    built = release.build(catalog, args.out, with_hidden_checks=args.with_hidden_checks, katas=katas)
    saved = 100 * (1 - built.bytes_after / built.bytes_before) if built.bytes_before else 0
    checks = "included: learners grade themselves" if built.with_hidden_checks else (
        "left out: learners grade the service's own tests, you grade the rest")
    out.print(f"  hidden checks {checks}")
    out.print(f"  {built.cassettes} cassettes without prompts ({built.bytes_before // 1024} KB -> "
              f"{built.bytes_after // 1024} KB, {saved:.0f}% smaller)")
    out.print(f"  GitHub Actions workflow: {release.WORKFLOW} (GitHub Classroom autograding)")
    out.print("  a git repository with one commit (push it as the assignment's template)" if built.git else
              "  [yellow]not a git repository (git is not installed): run `git init` there before handing it out[/]")
    for result in built.proof:
        mark = "[green]✔[/]" if result.full_marks else "[red]✘[/]"
        out.print(f"  {mark} reference solution of {result.id} against the edition: {result.score}/{result.max_score}")
    if not built.proven:
        out.print("[red]release: the edition does not replay for a correct solution; do not hand it out[/]")
        return 1
    if args.zip:
        # One top-level folder, as every download of a repository has.
        folder = args.out.resolve()
        archive = shutil.make_archive(str(folder), "zip", root_dir=folder.parent, base_dir=folder.name)
        out.print(f"  {archive}")
    out.print(f"[green]student edition written and proven: {args.out}[/]")
    return 0


def cmd_gradescope(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    katas = catalog.select(args.kata)
    bundle = gradescope.build_bundle(catalog, args.out, katas=katas, visibility=args.visibility)
    out.print(f"[green]Gradescope autograder bundle written:[/] {bundle.path} ({bundle.size // 1024} KB, "
              f"{len(katas)} kata(s), visibility {args.visibility})")
    out.print("  Upload it as the assignment's autograder (Configure Autograder > Zip file upload).")
    return 0


def cmd_cohort(args: argparse.Namespace, catalog: Catalog, out: report.Console) -> int:
    options = cohort.CohortOptions(
        jobs=args.jobs, regrade=args.regrade, time_limit=args.timeout, sandbox=not args.no_sandbox,
        limits=sandbox.Limits(cpu_seconds=args.cpu, memory_bytes=args.memory * 1024**2),
        max_unpacked_bytes=args.max_size * 1024**2,
    )
    katas = catalog.select(args.kata)
    started = dt.datetime.now()
    with report.cohort_progress(out) as progress:
        summary = cohort.grade_cohort(catalog, args.submissions, args.out, options, katas, on_progress=progress)
    seconds = (dt.datetime.now() - started).total_seconds()
    report.print_cohort(out, summary, args.out, seconds)
    return 130 if summary.interrupted else 0


COMMANDS = {"list": cmd_list, "hint": cmd_hint, "check": cmd_check, "grade": cmd_grade,
            "verify": cmd_verify, "record": cmd_record, "cohort": cmd_cohort, "release": cmd_release,
            "gradescope": cmd_gradescope, **loop.COMMANDS}
