"""Terminal output for learners: a score line per kata, a tick or a cross per check, and feedback."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .catalog import Kata
from .progress import Progress
from .results import KataResult, Status

MARKS = {Status.PASSED: "[green]✔[/]", Status.FAILED: "[red]✘[/]", Status.ERROR: "[red]✘[/]"}


def console() -> Console:
    """The console all commands print to (plain text when not a terminal)."""
    # Piped output (nox, CI logs) would otherwise be cut to 80 columns and wrap the catalog table.
    width = None if sys.stdout.isatty() else 120
    return Console(highlight=False, soft_wrap=True, width=width)


def print_result(out: Console, result: KataResult) -> None:
    """One kata: title, score, each check, and for failed checks what was observed and a hint."""
    colour = "green" if result.full_marks else ("yellow" if result.passed else "red")
    out.print(
        f"[bold]{result.id} {escape(result.title)}[/]  [{colour}]{result.score}/{result.max_score}[/]"
        f"  [dim]({result.target}, {result.duration_s:.1f} s)[/]"
    )
    if result.message:
        out.print(f"  [yellow]{escape(result.message)}[/]")
    previous = ""
    for item in result.checks:
        guard = " [dim](existing behaviour)[/]" if item.guard else ""
        tag = escape(f"[{item.id}, {item.points}/{item.max_points}]")
        out.print(f"  {MARKS[item.status]} {escape(item.title)} [dim]{tag}[/]{guard}")
        if item.status != Status.PASSED and item.message:
            # A starter often fails many checks for one reason: say it once.
            lines = ["(same as above)"] if item.message == previous else item.message.splitlines()
            for line in lines:
                out.print(f"      [dim]│[/] {escape(line)}")
            previous = item.message
    out.print()


def print_summary(out: Console, results: list[KataResult]) -> None:
    """A closing line: how many katas have full marks, and the total score."""
    full = sum(1 for r in results if r.full_marks)
    score = sum(r.score for r in results)
    top = sum(r.max_score for r in results)
    out.print(f"[bold]{full} of {len(results)} katas at full marks[/], {score}/{top} points in all.")


def print_catalog(out: Console, katas: list[Kata], progress: Progress) -> None:
    """`kata list`: phase, title, estimated time, status and hints seen."""
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "phase", "title", "time", "status", "hints"):
        table.add_column(column)
    for kata in katas:
        state = progress.status(kata.id)
        style = {"passed": "green", "in progress": "yellow"}.get(state, "dim")
        entry = progress.entry(kata.id)
        score = f" {entry.score}/{entry.max_score}" if entry.max_score else ""
        table.add_row(kata.id, str(kata.spec.phase), kata.spec.title, f"{kata.spec.estimated_minutes} min",
                      f"[{style}]{state}{score}[/]", f"{entry.hints_shown}/{len(kata.spec.hints)}")
    out.print(table)
