"""The learner loop's commands (`watch`, `next`, `reset`, `solution`, `live`) and `record` against a
real endpoint: argument parsing and what they print. The work is done in `watch`, `learner`,
`live` and `record`; `cli` wires these in with `add_parsers` and `COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from kata import targets
from kata.catalog import Catalog, Kata, KitError
from kata.instructor import record
from kata.learn import learner, live, watch
from kata.learn.progress import Progress
from kata.outputs import report
from kata.outputs.results import KataResult

Console = report.Console
# Commands after which a kit outside git keeps a copy of each pristine starter (see learner.py).
LEARNER_COMMANDS = {"list", "next", "hint", "check", "grade", "watch", "reset", "solution", "live"}


def keeps_starters(args: argparse.Namespace) -> bool:
    """Whether this command is a learner's (grading a solution or another folder is not)."""
    return args.command in LEARNER_COMMANDS and not getattr(args, "solution", False) \
        and not getattr(args, "target", None)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The learner-loop subcommands."""
    watch_p = sub.add_parser("watch", help="grade a kata on every save and show the result in place")
    watch_p.add_argument("kata", nargs="?", help="the kata to start with (default: the next one not passed); "
                                                 "a save in any kata's folder grades that kata")
    watch_p.add_argument("--poll", action="store_true",
                         help="poll for changes instead of file events (the watcher falls back to it by itself)")
    watch_p.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)  # a new interpreter per grade

    sub.add_parser("next", help="the first kata you have not passed, and how to start it")

    reset = sub.add_parser("reset", help="restore a kata's starter files (your versions are backed up first)")
    reset.add_argument("kata")
    reset.add_argument("--yes", "-y", action="store_true", help="do not ask before discarding your changes")

    sol = sub.add_parser("solution", help="the reference solution as a diff against your files, and its notes")
    sol.add_argument("kata")
    sol.add_argument("--yes", "-y", action="store_true", help="do not ask, even before your first grade")

    lv = sub.add_parser("live", help="run a kata's checks against a real model (OpenAI or a local server)")
    lv.add_argument("kata")
    lv.add_argument("--model", help="ask this model instead of the one your code names (also KATA_MODEL)")
    lv.add_argument("--solution", action="store_true", help="run the reference solution live instead of yours")
    lv.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit for the whole kata")


# --------------------------------------------------------------------------- shared bits


def _ask(out: Console, question: str) -> bool | None:
    """y/N from the terminal; None when there is no terminal to ask."""
    if not sys.stdin.isatty():
        return None
    out.print(f"{escape(question)} {escape('[y/N]')} ", end="")  # unescaped, rich reads [y/N] as a style
    try:
        return input().strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _confirmed(out: Console, question: str, yes: bool, flag_hint: str) -> bool:
    if yes:
        return True
    answer = _ask(out, question)
    if answer is None:
        out.print(f"[yellow]Not asked: no terminal. Run again with --yes to go ahead ({escape(flag_hint)}).[/]")
        return False
    if not answer:
        out.print("Nothing changed.")
    return answer


def _rel(kata: Kata, path: Path) -> str:
    try:
        return str(path.relative_to(kata.root))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- watch


class WatchScreen:
    """Draws the watcher's events: in a terminal the screen is redrawn in place, in a pipe appended."""

    def __init__(self, out: Console, catalog: Catalog) -> None:
        self.out = out
        self.catalog = catalog
        self.mode = ""
        self.last: tuple[Kata, KataResult, tuple[str, ...], float] | None = None

    def __call__(self, event: watch.WatchEvent) -> None:
        out = self.out
        if event.kind == "watching":
            self.mode = event.mode
            if self.last is not None:
                self._draw(*self.last)
            else:
                out.print(f"[dim]watching ({escape(event.mode)}); Ctrl-C to stop[/]")
        elif event.kind == "grading" and event.kata is not None:
            what = f" after a change to {', '.join(event.changed)}" if event.changed else ""
            out.print(f"[dim]grading {event.kata.id}{escape(what)}...[/]")
        elif event.kind == "result" and event.kata is not None and event.result is not None:
            self.last = (event.kata, event.result, event.changed, event.seconds)
            self._draw(*self.last)
        elif event.kind == "notice":
            out.print(f"[yellow]{escape(event.message)}[/]")
        elif event.kind == "stopped":
            out.print(f"[dim]{escape(event.message)}[/]")

    def _draw(self, kata: Kata, result: KataResult, changed: tuple[str, ...], seconds: float) -> None:
        out = self.out
        if out.is_terminal:
            out.clear()
        mode = f" ({self.mode})" if self.mode else ""
        out.print(f"[bold]kata watch[/] [dim]· exercises/{escape(kata.name)}{escape(mode)} · Ctrl-C to stop[/]")
        out.print()
        report.print_result(out, result)
        if changed:
            out.print(f"[dim]{watch.now_label()}: graded {seconds:.2f} s after a change to "
                      f"{escape(', '.join(changed))}[/]")
        if result.full_marks:
            out.print(f"[green]Full marks.[/] Compare with the reference: [bold]kata solution {kata.id}[/]; "
                      "the next kata: [bold]kata next[/]. Watching goes on.")
        else:
            entry = Progress(self.catalog.root).entry(kata.id)
            out.print(f"Save a file to grade again. Stuck? [bold]kata hint {kata.id}[/] "
                      f"({entry.hints_shown} of {len(kata.spec.hints)} hints shown); the brief: "
                      f"exercises/{escape(kata.name)}/README.md")


def cmd_watch(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata watch [NN]`."""
    progress = Progress(catalog.root)
    if not catalog.katas:
        out.print("[red]No kata to watch: exercises/ is empty.[/]")
        return 2
    focus = catalog.get(args.kata) if args.kata else (learner.next_kata(catalog, progress) or catalog.katas[0])
    katas = [focus] if args.kata else list(catalog.katas)
    settings = watch.WatchSettings(polling=args.poll, warm=not args.cold)
    watcher = watch.Watcher(catalog, katas, focus, WatchScreen(out, catalog), settings)

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill` ends the watcher as cleanly as Ctrl-C

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return watcher.run()
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- next


def cmd_next(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata next`."""
    progress = Progress(catalog.root)
    kata = learner.next_kata(catalog, progress)
    if kata is None:
        if any(not k.has_hidden_checks for k in catalog.katas):
            out.print(f"[green]You have changed every kata ({len(catalog.katas)} of {len(catalog.katas)}).[/] This "
                      "edition has no hidden checks, so it cannot say whether they pass: your instructor grades "
                      "them. `kata check NN` runs a service's own tests.")
        else:
            out.print(f"[green]Every kata is passed ({len(catalog.katas)} of {len(catalog.katas)}).[/] "
                      "`kata list` shows your scores; `kata solution NN` compares yours with the reference.")
        return 0
    spec, entry = kata.spec, progress.entry(kata.id)
    status = progress.status(kata.id) + (f" {entry.score}/{entry.max_score}" if entry.max_score else "")
    out.print(f"[bold]Next: {kata.id} {escape(spec.title)}[/]  [dim](phase {spec.phase}, about "
              f"{spec.estimated_minutes} min, {status})[/]")
    out.print(f"  [dim]Skills:[/] {escape(', '.join(spec.skills))}")
    opening = learner.brief_opening(kata)
    if opening:
        out.print()
        out.print(f"  {escape(opening)}")
    out.print()
    out.print(f"  Read the brief:  [bold]exercises/{escape(kata.name)}/README.md[/]")
    out.print(f"  Start:           [bold]kata watch {kata.id}[/]   [dim](grades on every save; Ctrl-C to stop)[/]")
    out.print(f"  Stuck:           [bold]kata hint {kata.id}[/]   [dim]({entry.hints_shown} of "
              f"{len(spec.hints)} hints shown)[/]")
    return 0


# --------------------------------------------------------------------------- reset


def cmd_reset(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata reset NN [--yes]`."""
    try:
        kata = catalog.get(args.kata)
    except KitError:
        return _restore_lost(args, catalog, out)
    pristine = learner.starter(kata)
    folder = f"exercises/{kata.name}"
    if pristine is None:
        out.print(f"[red]No pristine copy of kata {kata.id}'s starter was found.[/] This kit is not a git checkout "
                  f"with {escape(folder)} committed, and the kit kept no copy in .kata/starters/ (it keeps one "
                  "the first time a kata command runs outside git). Get the folder again from the kit you "
                  "started from (a fresh clone or the zip).")
        return 1
    changes = learner.compare(learner.read_tree(kata.exercise_dir), pristine.files)
    if not changes.any:
        out.print(f"{escape(folder)} is already the starter ({escape(pristine.source)}). Nothing to do.")
        return 0
    out.print(f"Reset [bold]{escape(folder)}[/] to the starter ({escape(pristine.source)}):")
    for rel in changes.modified:
        out.print(f"  restore  {escape(rel)} [dim](you changed it)[/]")
    for rel in changes.deleted:
        out.print(f"  restore  {escape(rel)} [dim](you deleted it)[/]")
    for rel in changes.added:
        out.print(f"  remove   {escape(rel)} [dim](a file you added)[/]")
    out.print(f"[dim]Your versions of the changed and added files are saved first in "
              f".kata/backups/{escape(kata.name)}/<time>/.[/]")
    if not _confirmed(out, f"Discard your changes to kata {kata.id}?", args.yes, f"kata reset {kata.id} --yes"):
        return 1
    done = learner.reset(kata, pristine)
    progress = Progress(catalog.root)
    progress.forget_grade(kata.id)  # the last grade was of the files just discarded; hints seen stay
    progress.save()
    restored = len(done.changes.modified) + len(done.changes.deleted)
    backup = _rel(kata, done.backup) if done.backup else ""
    out.print(f"[green]Restored {restored} file(s) and removed {len(done.changes.added)} file(s) you added.[/] "
              f"Your versions are in {escape(backup)}; copy back whatever you want to keep.")
    return 0


def _restore_lost(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata reset NN` for a kata whose folder was deleted: bring the starter back."""
    lost = learner.lost_kata(catalog.root, args.kata)
    if lost is None:
        raise KitError(f"unknown kata '{args.kata}': no folder in exercises/, and neither git nor the copy the kit "
                       "keeps (.kata/starters/) has one; get it again from the kit you started from")
    name, pristine = lost
    out.print(f"exercises/{escape(name)} is missing. Restore the starter ({escape(pristine.source)}, "
              f"{len(pristine.files)} files)?")
    if not _confirmed(out, f"Restore exercises/{name}?", args.yes, f"kata reset {args.kata} --yes"):
        return 1
    written = learner.restore(catalog.root, name, pristine)
    out.print(f"[green]Restored exercises/{escape(name)} ({written} files).[/]")
    return 0


# --------------------------------------------------------------------------- solution


def _print_diff(out: Console, lines: list[str]) -> None:
    for line in lines:
        text = escape(line.rstrip("\n"))
        if line.startswith(("+++", "---")):
            out.print(f"[bold]{text}[/]")
        elif line.startswith("@@"):
            out.print(f"[cyan]{text}[/]")
        elif line.startswith("+"):
            out.print(f"[green]{text}[/]")
        elif line.startswith("-"):
            out.print(f"[red]{text}[/]")
        else:
            out.print(text)


def cmd_solution(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata solution NN [--yes]`."""
    kata = catalog.get(args.kata)
    if not kata.solution_dir.is_dir():
        try:
            learner.solution_view(kata, None)
        except learner.NoSolution as exc:
            out.print(f"[yellow]{escape(str(exc))}[/]")
        return 1
    entry = Progress(catalog.root).entry(kata.id)
    # Grading alone proves nothing (`nox -s grade` grades every kata): the guard asks for a change of your own.
    tried = learner.changed(kata)
    if (not tried if tried is not None else entry.graded_at is None) and not args.yes:
        out.print(f"You have not changed kata {kata.id} yet. Trying first ([bold]kata watch {kata.id}[/], "
                  f"[bold]kata hint {kata.id}[/]) teaches more than reading the answer.")
        if not _confirmed(out, "Show the reference solution anyway?", args.yes, f"kata solution {kata.id} --yes"):
            return 1
    view = learner.solution_view(kata, learner.starter(kata))
    out.print(f"[bold]{kata.id} {escape(kata.spec.title)}: the reference solution against your files[/]")
    out.print(f"[dim]'-' lines are yours, '+' lines the solution's; the solution is {escape(view.base)}.[/]")
    out.print()
    if not view.files:
        out.print("[green]Your files are the reference solution's, byte for byte.[/]")
    for item in view.files:
        if item.kind == "only in yours":
            out.print(f"[dim]only in yours: {escape(item.path)} (not part of the reference solution)[/]")
        elif item.kind == "binary":
            out.print(f"[dim]{escape(item.path)}: binary file, differs[/]")
        else:
            _print_diff(out, item.diff)
            out.print()
    if view.notes:
        out.print(f"[bold]SOLUTION.md[/] [dim](solutions/{escape(kata.name)}/SOLUTION.md)[/]")
        out.print(escape(view.notes.rstrip()))
    return 0


# --------------------------------------------------------------------------- live


LIVE_GROUPS = {
    "offline-only": "recordings script what a live model does not give on demand, so these may well fail live:",
    "model-answers": "these pass only if the model answers as it did in the recording (the same queue, say):",
    "no-traffic": "no model traffic: these mean the same live and offline:",
}


def print_expectations(out: Console, result: KataResult, expected: list[live.Expectation]) -> None:
    """Which checks may fail live for reasons that are the model's, by what their recordings script."""
    by_id = {e.check_id: e for e in expected}
    out.print("Live answers can differ from the recorded ones, so a check can fail for reasons that are the "
              "model's, not your code's:")
    for kind, title in LIVE_GROUPS.items():
        rows = [(c, by_id.get(c.id)) for c in result.checks if (by_id[c.id].kind if c.id in by_id else "no-traffic")
                == kind]
        if not rows:
            continue
        out.print(f"  [bold]{escape(title)}[/]")
        for check, exp in rows:
            what = f": {', '.join(exp.scripted)}" if exp is not None and exp.scripted else ""
            out.print(f"    {report.MARKS[check.status]} {escape(check.id)}{escape(what)}")


def cmd_live(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata live NN [--model M] [--solution]`."""
    kata = catalog.get(args.kata)
    if not kata.has_hidden_checks:
        out.print(f"[yellow]This edition of the kit has no hidden checks for kata {kata.id} (your instructor grades "
                  "them), so there is nothing to run live.[/] To try a real model, pass your own "
                  "`openai.OpenAI()` client to the service; it reads OPENAI_API_KEY and OPENAI_BASE_URL.")
        return 2
    try:
        endpoint = live.endpoint_from_env(os.environ, args.model)
    except live.NoEndpoint as exc:
        out.print(escape(str(exc)))
        return 2
    target = targets.solution(kata) if args.solution else targets.exercise(kata)
    out.print(f"[bold]Live:[/] kata {kata.id} ({'the reference solution' if args.solution else 'your code'}) "
              f"against {escape(endpoint.describe())}. Real requests and real answers; with a paid API, real cost.")
    if endpoint.is_local and not endpoint.model:
        out.print("[yellow]A local server rarely has the model your code names (the brief fixes it, e.g. "
                  "gpt-4o-mini): pass --model with one it has (`ollama list`), or set KATA_MODEL.[/]")
    outcome = live.run_live(kata, endpoint, target, time_limit=args.timeout)
    report.print_result(out, outcome.result)
    print_expectations(out, outcome.result, outcome.expectations)
    out.print(f"Your grade is the offline one: [bold]kata grade {kata.id}[/].")
    if outcome.leaks:
        out.print(f"[red]A secret turned up in the recording ({escape('; '.join(outcome.leaks))}): it was deleted.[/]")
    else:
        out.print(f"[dim]Recorded {len(outcome.cassettes)} cassette(s) in {escape(_rel(kata, outcome.folder))}/ "
                  "(git-ignored; no key, authorization, cookie, organisation or project header is stored).[/]")
    return 0 if outcome.result.full_marks else 1


# --------------------------------------------------------------------------- record against an endpoint


def cmd_record_endpoint(args: argparse.Namespace, catalog: Catalog, out: Console) -> int:
    """`kata record NN` without --standin: re-record against the endpoint OPENAI_* name."""
    kata = catalog.get(args.kata)
    try:
        endpoint = live.endpoint_from_env(os.environ, getattr(args, "model", None), command="kata record")
    except live.NoEndpoint as exc:
        out.print(escape(str(exc)))
        out.print("[dim]The kit's own cassettes come from the scripted stand-in: `kata record NN --standin`.[/]")
        return 2
    out_dir = getattr(args, "out", None)
    out.print(f"[bold]Recording[/] kata {kata.id}: the reference solution against {escape(endpoint.describe())}")
    outcome = record.record_with_endpoint(kata, endpoint, write=not args.dry_run, out_dir=out_dir)
    report.print_result(out, outcome.result)
    for line in outcome.changes or ["no cassette changed"]:
        out.print(f"  {escape(line)}")
    if outcome.leaks:
        out.print(f"[red]secrets found in the recording, nothing written: {escape('; '.join(outcome.leaks))}[/]")
        return 1
    if outcome.written_to is not None:
        out.print(f"[green]cassettes written to {escape(_rel(kata, outcome.written_to))}[/], with "
                  f"{record.PROVENANCE} saying where they come from; say so in the kata's README too.")
        return 0 if outcome.ok else 1
    if args.dry_run:
        out.print("[dim]dry run: nothing written[/]")
        return 0 if outcome.ok else 1
    out.print("[red]recording incomplete: cassettes left as they were.[/] The reference solution must get full "
              "marks against the endpoint. Errors, refusals and low confidence cannot be had from a real model on "
              "demand: keep such cassettes scripted (--standin), or look at these with --out DIR.")
    return 1


COMMANDS: dict[str, Callable[[argparse.Namespace, Catalog, Console], int]] = {
    "watch": cmd_watch, "next": cmd_next, "reset": cmd_reset, "solution": cmd_solution, "live": cmd_live,
}
