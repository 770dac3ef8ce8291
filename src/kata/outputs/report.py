"""Terminal output for learners: a score line per kata, a tick or a cross per check, and feedback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich import progress as bars
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kata.catalog import Kata
from kata.learn.progress import Progress
from kata.outputs.results import KataResult, Status

if TYPE_CHECKING:
    from kata.instructor.records import RunSummary

MARKS = {Status.PASSED: "[green]✔[/]", Status.FAILED: "[red]✘[/]", Status.ERROR: "[red]✘[/]"}


def console() -> Console:
    """The console all commands print to (plain text when not a terminal)."""
    # Piped output (nox, CI logs) would otherwise be cut to 80 columns and wrap the catalog table.
    width = None if sys.stdout.isatty() else 120
    return Console(highlight=False, soft_wrap=True, width=width)


def print_result(out: Console, result: KataResult) -> None:
    """One kata: title, score, each check, and for failed checks what was observed and a hint."""
    colour = "green" if result.full_marks else ("yellow" if result.passed or not result.hidden_checks else "red")
    score = f"{result.score}/{result.max_score}" if result.hidden_checks else _service_tests(result)
    out.print(
        f"[bold]{result.id} {escape(result.title)}[/]  [{colour}]{score}[/]"
        f"  [dim]({result.target}, {result.duration_s:.1f} s)[/]"
    )
    if result.message:
        out.print(f"  [yellow]{escape(result.message)}[/]")
    previous = ""
    for item in result.checks:
        guard = " [dim](existing behaviour)[/]" if item.guard else ""
        tag = escape(f"[{item.id}, {item.points}/{item.max_points}]" if result.hidden_checks else f"[{item.id}]")
        out.print(f"  {MARKS[item.status]} {escape(item.title)} [dim]{tag}[/]{guard}")
        if item.status != Status.PASSED and item.message:
            for line in message_lines(item.message, previous):
                out.print(f"      [dim]│[/] {escape(line)}")
            previous = item.message
    out.print()


SAME = "observed: the same as the check above"


def message_lines(message: str, previous: str) -> list[str]:
    """The lines to show of a failed check's message, after the message of the failed check before it.

    A starter often fails many checks for one reason: say it once, in one form (the lines that differ stay)."""
    lines = message.splitlines()
    if message == previous:
        return [SAME]
    if _observed(message) and _observed(message) == _observed(previous):
        earlier = set(previous.splitlines())
        return [SAME] + [ln for ln in lines[len(_observed(message)):] if ln not in earlier]
    return lines


def _observed(message: str) -> list[str]:
    """The `observed:` part of a check's message (the lines before `expected:`)."""
    lines = message.splitlines()
    if not lines or not lines[0].startswith("observed:"):
        return []
    return lines[: next((n for n, ln in enumerate(lines) if ln.startswith("expected:")), len(lines))]


def _service_tests(result: KataResult) -> str:
    """What an ungraded kata (an edition without hidden checks) can say: how the service's own tests did."""
    return "service tests pass" if result.status == Status.PASSED else "service tests fail"


def print_summary(out: Console, results: list[KataResult]) -> None:
    """A closing line: how many katas have full marks, and the total score; ungraded katas said apart."""
    graded = [r for r in results if r.hidden_checks]
    ungraded = [r for r in results if not r.hidden_checks]
    if graded:
        full = sum(1 for r in graded if r.full_marks)
        score, top = sum(r.score for r in graded), sum(r.max_score for r in graded)
        out.print(f"[bold]{full} of {len(graded)} katas at full marks[/], {score}/{top} points in all.")
    if ungraded:
        passing = sum(1 for r in ungraded if r.status == Status.PASSED)
        out.print(f"[bold]{len(ungraded)} katas not graded here[/]: the service's own tests pass in {passing} of "
                  f"{len(ungraded)}; this edition has no hidden checks, so your instructor grades your changes.")


def print_catalog(out: Console, katas: list[Kata], progress: Progress) -> None:
    """`kata list`: phase, title, estimated time, status and hints seen."""
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "phase", "title", "time", "status", "hints"):
        table.add_column(column)
    for kata in katas:
        state = progress.status(kata.id)
        style = {"passed": "green", "in progress": "yellow", "service tests pass": "yellow"}.get(state, "dim")
        entry = progress.entry(kata.id)
        score = f" {entry.score}/{entry.max_score}" if entry.max_score and entry.hidden_checks else ""
        table.add_row(kata.id, str(kata.spec.phase), kata.spec.title, f"{kata.spec.estimated_minutes} min",
                      f"[{style}]{state}{score}[/]", f"{entry.hints_shown}/{len(kata.spec.hints)}")
    out.print(table)


@contextmanager
def cohort_progress(out: Console) -> Iterator[Callable[[str, KataResult | None, int, int], None]]:
    """A progress bar for `kata cohort` on a terminal; one line per graded kata elsewhere (CI logs)."""
    bar = bars.Progress(bars.TextColumn("[bold]Grading"), bars.BarColumn(), bars.MofNCompleteColumn(),
                        bars.TimeElapsedColumn(), bars.TextColumn("{task.description}"), console=out,
                        disable=not out.is_terminal)
    task = bar.add_task("", total=None)

    def update(learner: str, result: KataResult | None, done: int, total: int) -> None:
        if result is None:
            bar.update(task, total=total)
            if not out.is_terminal:
                out.print(f"Grading {total} (learner, kata) pair(s)...")
            return
        line = f"{learner} {result.id} {result.score}/{result.max_score}"
        if result.problem is not None:
            line += f" ({result.problem.value})"
        bar.update(task, completed=done, description=escape(line))
        if not out.is_terminal:
            out.print(f"  [{done}/{total}] {escape(line)}")

    with bar:
        yield update


def print_cohort(out: Console, summary: RunSummary, folder: Path, seconds: float) -> None:
    """What `kata cohort` did, and where its outputs are."""
    learners = summary.learners
    graded = [r for r in learners if r.status.value == "graded"]
    out.print(f"[bold]{len(learners)} learner(s)[/]: {len(graded)} graded, {len(learners) - len(graded)} not graded; "
              f"{summary.graded} kata grading(s) run, {summary.reused} reused from an earlier run "
              f"({seconds:.1f} s).")
    if summary.interrupted:
        out.print(f"[yellow]Interrupted: {summary.graded} of {summary.planned} grading(s) done. The outputs below "
                  "hold what was graded; run the same command again to grade the rest.[/]")
    for record in learners:
        if record.status.value != "graded":
            out.print(f"  [red]{escape(record.learner)}: {record.status.value}[/]: {escape(record.reason)}")
    out.print(f"[dim]Isolation: {escape(summary.isolation)}[/]")
    for name in ("gradebook.csv", "checks.csv", "report.html", "results/", "feedback/"):
        out.print(f"  {folder / name}")
