"""`kata watch`: grade a kata again whenever one of its files changes, and show the result in place.

File events come from `watchfiles` (inotify, FSEvents or ReadDirectoryChangesW through the Rust
`notify` crate). Some file systems accept a watch but never deliver events: network shares, folders
shared into a VM or a container. So the watcher proves events work before it relies on them: it
writes a probe file in `.kata/watch/` and waits for that change to arrive; when it does not within
`probe_timeout`, it switches to polling (`--poll` polls from the start) and says so. Polling compares
each file's modification time in nanoseconds, size and inode every `poll_delay_ms`.

Each grade is forked from a warm grader (`warm.WarmGrader`) that has already imported pytest, the
SDK and VCR, so a save is graded in well under a second; without it (or if it dies) the cold path
of `runner.grade` runs. Ctrl-C stops the watcher, ends the warm grader and any grade in progress.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kata import targets
from kata.catalog import Catalog, Kata
from kata.grader import runner
from kata.grader.launch import HostLauncher, LauncherUnavailable
from kata.grader.session import shards_for
from kata.grader.warm import WarmGrader, WarmUnavailable
from kata.learn.progress import Progress
from kata.outputs.results import GradeReport, KataResult

PROBE_DIR = Path(".kata") / "watch"
IGNORED_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db-journal", ".log", ".partial", ".tmp")


@dataclass(frozen=True)
class WatchSettings:
    """How to watch; the defaults suit a learner, tests and the benchmark shorten them."""

    polling: bool = False  # poll from the start (else: file events, polling when they do not arrive)
    poll_delay_ms: int = 250  # between two polls of the folder
    step_ms: int = 30  # a change is reported once no other came for this long (an editor's save is several)
    debounce_ms: int = 600  # ... or at the latest after this long
    tick_ms: int = 200  # how often the loop looks up from waiting (stop requests, probe)
    probe_timeout: float = 2.0  # seconds for the probe's change to arrive before falling back to polling
    warm: bool = True  # fork grades from a warm grader
    max_grades: int | None = None  # stop after this many grades, the first included (tests, benchmark)


@dataclass(frozen=True)
class WatchEvent:
    """What the watcher tells its screen."""

    kind: str  # "grading", "result", "watching", "notice", "stopped"
    kata: Kata | None = None
    result: KataResult | None = None
    changed: tuple[str, ...] = ()  # paths relative to the kata folder
    mode: str = ""  # "file events" or "polling every N ms"
    seconds: float = 0.0  # from noticing the change to the result
    message: str = ""


# A source of changes: (paths, polling, settings, stop) -> sets of changed paths; an empty set on a tick.
ChangeSource = Callable[[list[Path], bool, WatchSettings, threading.Event], Iterator[set[Path]]]


_FILTER: list[Any] = []


def _default_filter() -> Any:
    if not _FILTER:
        from watchfiles import DefaultFilter

        _FILTER.append(DefaultFilter())
    return _FILTER[0]


def _keep(change: Any, path: str) -> bool:
    """watchfiles' default filter (caches, VCS folders, editor swap files), plus databases and logs."""
    return bool(_default_filter()(change, path)) and not path.endswith(IGNORED_SUFFIXES)


def watchfiles_source(paths: list[Path], polling: bool, settings: WatchSettings,
                      stop: threading.Event) -> Iterator[set[Path]]:
    """Changes under `paths`: file events from `watchfiles`, or `polling_source` when `polling` is set;
    an empty set on every tick without a change."""
    if polling:
        yield from polling_source(paths, settings, stop)
        return
    import watchfiles

    for changes in watchfiles.watch(
        *paths, watch_filter=_keep, debounce=settings.debounce_ms, step=settings.step_ms, stop_event=stop,
        rust_timeout=settings.tick_ms, yield_on_timeout=True, force_polling=False, raise_interrupt=True,
    ):
        yield {Path(p) for _change, p in changes}


Stamp = tuple[int, int, int]  # mtime in ns, size, inode


def _snapshot(paths: list[Path]) -> dict[Path, Stamp]:
    """What polling compares: every watched file's modification time (ns), size and inode."""
    ignored_dirs = set(_default_filter().ignore_dirs)
    found: dict[Path, Stamp] = {}
    for root in paths:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in ignored_dirs]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if not _keep(None, path):
                    continue
                try:
                    st = os.stat(path)
                except OSError:
                    continue  # removed while we looked
                found[Path(path)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def _counts(path: Path) -> bool:
    """A change worth a grade: a file there now, or a removed one with a suffix (a module deleted). Editors'
    transient files (sed -i's `sedy7DHjt`, vim's `4913` probe) come and go within one batch."""
    return path.is_file() or (not path.exists() and bool(path.suffix))


def _differ(before: dict[Path, Stamp], after: dict[Path, Stamp]) -> set[Path]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def polling_source(paths: list[Path], settings: WatchSettings, stop: threading.Event) -> Iterator[set[Path]]:
    """Changes found by comparing the folders every `poll_delay_ms`.

    Hand-written rather than watchfiles' `force_polling`: the `notify` crate's poll watcher compares
    modification times in whole seconds, so a save that keeps a file's size within the second of the
    previous one (`0.6` -> `0.7`) went unnoticed; measured, 5 of 12 such saves. A kata folder holds a
    few dozen files, so a stat of each every 250 ms costs next to nothing.
    """
    before = _snapshot(paths)
    while not stop.wait(settings.poll_delay_ms / 1000):
        now = _snapshot(paths)
        changed = _differ(before, now)
        settle = time.monotonic() + settings.debounce_ms / 1000
        while changed and time.monotonic() < settle:  # an editor's save is often several writes
            if stop.wait(settings.step_ms / 1000):
                return
            later = _snapshot(paths)
            more = _differ(now, later)
            now = later
            if not more:
                break
            changed |= more
        before = now
        yield changed


@dataclass
class Watcher:
    """Watches the folders of `katas`, grades the kata a change belongs to, and reports to `on_event`.

    `focus` is graded once at the start. `source` and `grade` can be replaced (tests); `clock` is
    what latencies are measured with.
    """

    catalog: Catalog
    katas: list[Kata]
    focus: Kata
    on_event: Callable[[WatchEvent], None]
    settings: WatchSettings = field(default_factory=WatchSettings)
    source: ChangeSource = watchfiles_source
    clock: Callable[[], float] = time.monotonic
    record_progress: bool = True
    ready: threading.Event = field(default_factory=threading.Event)  # set once changes are being watched
    stop_event: threading.Event = field(default_factory=threading.Event)
    mode: str = ""
    grades: int = 0
    _warm: list[WarmGrader] = field(default_factory=list)  # one per shard of a grade (session.shards_for)
    _launcher: HostLauncher | None = None

    def stop(self) -> None:
        """Ask the loop to end (from another thread); it ends at its next tick."""
        self.stop_event.set()

    # ------------------------------------------------------------------ running

    def run(self) -> int:
        """Watch until stopped, Ctrl-C, or `max_grades`; returns 0 (leaving is not a failure)."""
        try:
            self._start_warm()
            self._watch()
        except KeyboardInterrupt:
            pass  # Ctrl-C: leave quietly; the warm grader and any grade in progress end below
        finally:
            self._stop_warm()
            self.on_event(WatchEvent("stopped", message=f"stopped watching after {self.grades} grade(s)"))
        return 0

    def _done(self) -> bool:
        limit = self.settings.max_grades
        return self.stop_event.is_set() or (limit is not None and self.grades >= limit)

    def _start_warm(self) -> None:
        if not self.settings.warm:
            return
        graders = [WarmGrader() for _ in range(shards_for(1))]
        failures: list[Exception] = []

        def start(grader: WarmGrader) -> None:
            try:
                grader.start()
            except (WarmUnavailable, OSError) as exc:
                failures.append(exc)

        starting = [threading.Thread(target=start, args=(g,), daemon=True) for g in graders]
        for thread in starting:  # side by side: each imports pytest and the SDK
            thread.start()
        for thread in starting:
            thread.join()
        self._warm = [g for g in graders if g.alive]
        if not self._warm:
            self.on_event(WatchEvent("notice", message=f"each grade starts a new interpreter ({failures[0]})"))
        try:
            launcher = HostLauncher()
            launcher.start()
            self._launcher = launcher
        except LauncherUnavailable as exc:
            self.on_event(WatchEvent("notice", message=f"each grade starts its own learner hosts ({exc})"))

    def _stop_warm(self) -> None:
        for grader in self._warm:
            grader.close()
        self._warm = []
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None

    def _paths(self) -> list[Path]:
        return [k.exercise_dir for k in self.katas if k.exercise_dir.is_dir()]

    def _watch(self) -> None:
        """Watch first, then grade the focus kata: a save during that first grade is not missed."""
        probe_dir = self.catalog.root / PROBE_DIR
        probe_dir.mkdir(parents=True, exist_ok=True)
        polling = self.settings.polling
        while not self._done():
            changes = self.source([*self._paths(), probe_dir], polling, self.settings, self.stop_event)
            try:
                if not self._probe(changes, probe_dir / "probe", polling):
                    if polling:
                        self.on_event(WatchEvent("notice", message="no change arrives, even by polling; "
                                                 "check that the exercise folder is readable"))
                        self._grade(self.focus, (), self.clock())
                        return
                    self.on_event(WatchEvent("notice", message=(
                        f"file events do not arrive here (a network share, or a folder shared into a VM or "
                        f"container?): polling every {self.settings.poll_delay_ms} ms instead")))
                    polling = True
                    continue
                self.mode = f"polling every {self.settings.poll_delay_ms} ms" if polling else "file events"
                self.ready.set()
                self.on_event(WatchEvent("watching", mode=self.mode))
                self._grade(self.focus, (), self.clock())
                if not self._done():
                    self._loop(changes, probe_dir)
                return
            finally:
                close = getattr(changes, "close", None)
                if close is not None:
                    close()

    def _probe(self, changes: Iterator[set[Path]], probe: Path, polling: bool) -> bool:
        """Write the probe until its change comes back; False when it does not within the probe timeout."""
        timeout = self.settings.probe_timeout * (3 if polling else 1)
        deadline = self.clock() + timeout
        count = 0
        while self.clock() < deadline and not self._done():
            count += 1
            probe.write_text(f"{count}\n")  # again on every tick: the first may precede the watch itself
            batch = next(changes, None)
            if batch is None:
                return False
            if any(p.name == probe.name for p in batch):
                return True
        return self._done()

    def _loop(self, changes: Iterator[set[Path]], probe_dir: Path) -> None:
        for batch in changes:
            if self._done():
                return
            noticed = self.clock()
            by_kata: dict[str, tuple[Kata, list[str]]] = {}
            for path in sorted(batch):
                if path.parent == probe_dir or not _counts(path):
                    continue
                kata = self._kata_of(path)
                if kata is not None:
                    by_kata.setdefault(kata.id, (kata, []))[1].append(path.relative_to(kata.exercise_dir).as_posix())
            for kata, rel in by_kata.values():
                self._grade(kata, tuple(rel), noticed)
                if self._done():
                    return

    def _kata_of(self, path: Path) -> Kata | None:
        for kata in self.katas:
            try:
                path.relative_to(kata.exercise_dir)
            except ValueError:
                continue
            return kata
        return None

    def _grade(self, kata: Kata, changed: tuple[str, ...], noticed: float) -> None:
        self.on_event(WatchEvent("grading", kata=kata, changed=changed))
        warm = self._warm or [None]
        options = runner.RunOptions(warm=warm[0], shards=tuple(warm[1:]), launcher=self._launcher)
        result = runner.grade(kata, targets.exercise(kata), options)
        self.grades += 1
        if self.record_progress:
            progress = Progress(self.catalog.root)
            progress.record_grade(result, GradeReport(katas=[result]).graded_at)
            progress.save()
        self.on_event(WatchEvent("result", kata=kata, result=result, changed=changed, mode=self.mode,
                                 seconds=self.clock() - noticed))


def now_label() -> str:
    """The wall-clock time shown beside a result."""
    return dt.datetime.now().strftime("%H:%M:%S")
