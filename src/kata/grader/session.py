"""The warm processes of one `kata` command, shared by every kata it grades.

A `GradingSession` keeps a host launcher (`kata.grader.launch`: every run's learner hosts are forked
from it) and `shards` warm graders per worker thread (`kata.grader.warm`: every grader is forked from
one). Each is started on first use and ended with the session. With more than one shard, a grade
splits its kata's checks between that many grader processes side by side: a kata graded on its own
then uses every core. Grading through a session gives the same
results as `runner.grade` with cold processes; it only skips importing pytest, the SDK and pandas again
for every kata.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from kata.catalog import Kata
from kata.grader import runner
from kata.grader.launch import HostLauncher
from kata.grader.options import RunOptions, Stopped
from kata.grader.warm import WarmGrader
from kata.outputs.results import KataResult
from kata.targets import Target

T = TypeVar("T")
R = TypeVar("R")
MAX_SHARDS = 4  # each shard costs a grader process and its start; a kata has a dozen or so checks


def shards_for(workers: int) -> int:
    """How many grader processes each of `workers` parallel grades gets: the cores left over, a few at most."""
    return max(1, min(MAX_SHARDS, (os.cpu_count() or 1) // max(1, workers)))


class GradingSession:
    """Use as a context manager; `grade` may be called from up to `workers` threads at once, and each
    grade's checks are split between `shards` grader processes."""

    def __init__(self, options: RunOptions | None = None, workers: int = 1, shards: int = 1) -> None:
        self.options = options or RunOptions()
        self.launcher = self.options.launcher or HostLauncher()
        self._own_launcher = self.options.launcher is None
        self._graders: queue.SimpleQueue[tuple[WarmGrader, ...]] = queue.SimpleQueue()
        self._all: list[WarmGrader] = []
        self._lock = threading.Lock()
        self.stopped = threading.Event()
        self.options = dataclasses.replace(self.options, stop=self.stopped)
        for _ in range(max(1, workers)):
            group = tuple(WarmGrader() for _ in range(max(1, shards)))
            self._all.extend(group)
            self._graders.put(group)

    def __enter__(self) -> GradingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def grade(self, kata: Kata, target: Target) -> KataResult:
        """Grade one kata against one target, forked from this session's warm processes."""
        if self.stopped.is_set():
            raise Stopped(kata.name)
        group = self._graders.get()
        try:
            options = self.options
            if options.warm is None:
                options = dataclasses.replace(options, warm=group[0], shards=group[1:])
            result = runner.grade(kata, target, dataclasses.replace(options, launcher=self.launcher))
        finally:
            self._graders.put(group)
        if self.stopped.is_set():
            raise Stopped(kata.name)  # its processes were ended under it: what it says is not a grade
        return result

    def stop(self) -> None:
        """End every grade now (Ctrl-C): the warm processes go, and with them whatever they run."""
        self.stopped.set()
        for grader in self._all:
            grader.stopped = True
        self.launcher.stopped = True
        self.close()

    def close(self) -> None:
        """End the warm processes (and anything still running under them)."""
        for grader in self._all:
            grader.close()
        if self._own_launcher:
            self.launcher.close()


def grade_many(jobs: Iterable[tuple[Kata, Target]], options: RunOptions | None = None,
               workers: int | None = None,
               on_result: Callable[[KataResult], None] | None = None) -> list[KataResult]:
    """Grade several (kata, target) pairs in parallel, forked from one session's warm processes; results
    keep the order of `jobs`.

    `on_result` sees each result as soon as it and all results before it are in, so a report can
    be printed while later katas are still being graded.
    """
    pairs = list(jobs)
    workers = max(1, min(workers or os.cpu_count() or 1, len(pairs) or 1))
    results = []
    with GradingSession(options, workers, shards_for(workers)) as session:
        for result in run_all(session, workers, pairs, lambda pair: session.grade(pair[0], pair[1]), ordered=True):
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def run_all(session: GradingSession, workers: int, tasks: list[T], work: Callable[[T], R], *,
            ordered: bool) -> Iterator[R]:
    """`work` over `tasks` on `workers` threads: the results in order, or as they finish.

    Ctrl-C stops it cleanly: tasks not started are dropped, the running grades end with the session's
    warm processes, their temporary folders are removed, and then the KeyboardInterrupt goes on."""
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(work, task) for task in tasks]
    try:
        for future in futures if ordered else as_completed(futures):
            yield future.result()
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        session.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
