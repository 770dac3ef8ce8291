"""Benchmark: `kata watch`, from a saved file to a new result on screen.

A throw-away copy of the kit holds a kata (the reference solution in its exercise folder); the
watcher runs in a thread as `kata watch NN` would, and the benchmark saves a small edit to one of
the kata's modules, then waits for the result. Latency is measured from the moment the file was
written to the moment the watcher handed the result to its screen. Prints figures for this machine;
it asserts nothing.

Usage: python benchmarks/bench_watch.py [--saves N] [--kata NN ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from kata.catalog import Catalog, Kata
from kata.learn.live import check_cassettes
from kata.learn.watch import Watcher, WatchEvent, WatchSettings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KATAS = ("01", "09")  # a typical kata, and the one with the most checks


def kit_copy(kata: Kata, dest: Path) -> Path:
    """A kit holding only `kata`, its exercise folder being the reference solution."""
    (dest / "exercises").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copytree(kata.exercise_dir, dest / "exercises" / kata.name)
    shutil.copytree(kata.solution_dir, dest / "exercises" / kata.name, dirs_exist_ok=True)
    for part in ("fixtures", "tests/checks"):
        shutil.copytree(ROOT / part / kata.name, dest / part / kata.name)
    return dest


def measure(kata: Kata, saves: int, settings: WatchSettings) -> list[float]:
    """Seconds from each save to its result."""
    with tempfile.TemporaryDirectory(prefix="kata-bench-watch-") as tmp:
        root = kit_copy(kata, Path(tmp) / "kit")
        catalog = Catalog(root)
        copy = catalog.get(kata.id)
        module = copy.exercise_dir / copy.spec.package / "__init__.py"
        results: list[float] = []
        arrived = threading.Condition()

        def on_event(event: WatchEvent) -> None:
            if event.kind == "result":
                with arrived:
                    results.append(time.perf_counter())
                    arrived.notify_all()

        watcher = Watcher(catalog, [copy], copy, on_event,
                          WatchSettings(**{**settings.__dict__, "max_grades": saves + 1}), record_progress=True)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        latencies = []
        original = module.read_text()
        try:
            for n in range(saves + 1):
                with arrived:
                    if not arrived.wait_for(lambda n=n: len(results) > n, timeout=120):
                        raise RuntimeError(f"no result {n} within 120 s")
                if n == saves:
                    break
                time.sleep(0.3)  # let the grade finish settling, as a person's next save would
                saved = time.perf_counter()
                module.write_text(original + f"\n# edit {n}\n")  # a small, typical save
                with arrived:
                    arrived.wait_for(lambda n=n: len(results) > n + 1, timeout=120)
                latencies.append(results[n + 1] - saved)
        finally:
            watcher.stop()
            thread.join(30)
        return latencies


def line(label: str, values: list[float]) -> str:
    return (f"{label:<46} median {statistics.median(values):5.2f} s  (min {min(values):.2f}, "
            f"max {max(values):.2f}, {len(values)} saves)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=7)
    parser.add_argument("--kata", action="append", default=[])
    args, _ = parser.parse_known_args()  # bench_grade's --repeat is accepted and ignored
    catalog = Catalog(ROOT)
    print(f"kata watch: save-to-result latency on this machine ({os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]})")
    for kata_id in args.kata or DEFAULT_KATAS:
        kata = catalog.get(kata_id)
        events = measure(kata, args.saves, WatchSettings())
        polling = measure(kata, args.saves, WatchSettings(polling=True))
        cold = measure(kata, max(3, args.saves // 2), WatchSettings(warm=False))
        checks = len(check_cassettes(kata)) + 1  # and the existing-tests guard
        print(f"{kata.id} {kata.spec.title} ({checks} checks, the reference solution)")
        print(line("  file events, warm grader (the default)", events))
        print(line("  polling every 250 ms (no file events), warm", polling))
        print(line("  file events, new interpreter per grade", cold))


if __name__ == "__main__":
    main()
