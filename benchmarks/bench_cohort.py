"""Benchmark: `kata cohort` wall time and throughput on this machine (figures, not a timed test).

Three cohorts:
- the kit tests' mixed cohort (23 learners on the mini kit: correct, partial, broken, hanging with a
  6 s time limit, hostile), as graded by `tests/kit/test_cohort.py`;
- the fixed cost: `--learners` learners who solved the mini kit's two katas, whose checks do almost
  nothing, so the time per (learner, kata) is what the grading machinery itself costs (copying the
  submission, a sandboxed run, a forked grader and learner hosts, the service's tests, the outputs);
- `--learners` learners on the real kit, every kata: half hand in the reference solutions, half the
  starters. Here the time per (learner, kata) is mostly the checks' own work (the learner's code,
  the SDK, replay), which grows with what a kata asks.

Usage: python benchmarks/bench_cohort.py [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kata.catalog import Catalog
from kata.host import sandbox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "kit"))
from test_cohort import build_cohort, write_kata_files  # noqa: E402  (the same cohort the kit's tests grade)


def run_cohort(kit: Path, subs: Path, out: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kata", "--root", str(kit), "cohort", str(subs), "--out", str(out), *extra],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def import_time() -> float:
    """The median wall time of `python -c "import openai, pytest"`: what one fresh interpreter costs."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import openai, pytest"], check=True)
        times.append(time.perf_counter() - started)
    return sorted(times)[1]


def real_kit_cohort(subs: Path, learners: int) -> int:
    """`learners` submissions of the whole kit: even ones solved, odd ones the starters."""
    catalog = Catalog(ROOT)
    for i in range(learners):
        root = subs / f"learner{i:02d}" / "exercises"
        for kata in catalog.katas:
            shutil.copytree(kata.exercise_dir, root / kata.name)
            if i % 2 == 0:
                shutil.copytree(kata.solution_dir, root / kata.name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("SOLUTION.md"))
    return learners * len(catalog.katas)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--learners", type=int, default=20)
    args = parser.parse_args()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    isolation = "sandbox" if sandbox.probe() is None else f"no sandbox ({sandbox.probe()})"
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, isolation: {isolation}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        minikit = base / "minikit"
        shutil.copytree(ROOT / "tests" / "kit" / "minikit", minikit)
        expected = build_cohort(base / "mixed", minikit, base / "mixed-out", port=9)
        pairs = 2 * len(expected)
        wall = run_cohort(minikit, base / "mixed", base / "mixed-out", "--timeout", "6", "--memory", "2048", *jobs)
        print(f"mixed cohort: {len(expected)} learners x 2 katas ({pairs} pairs, 2 hang until the 6 s limit)")
        print(f"  kata cohort                         {wall:7.2f} s wall, {len(expected) / wall:5.2f} learners/s, "
              f"{pairs / wall:5.2f} pairs/s")
        again = run_cohort(minikit, base / "mixed", base / "mixed-out", *jobs)
        print(f"  re-run, nothing new                 {again:7.2f} s wall")

        one_import = import_time()
        small, large = args.learners, 2 * args.learners
        walls = {}
        for count in (small, large):  # the difference in wall time is the cost of the extra pairs alone
            for i in range(count):
                write_kata_files(base / f"solved{count}" / f"learner{i:02d}" / "exercises", minikit)
            walls[count] = run_cohort(minikit, base / f"solved{count}", base / f"solved{count}-out", *jobs)
        per_pair = (walls[large] - walls[small]) / (2 * (large - small))  # two katas per learner
        print(f"fixed cost: learners who solved the 2 mini katas, {small} then {large}")
        print(f"  kata cohort                         {walls[small]:7.2f} s, then {walls[large]:.2f} s wall")
        print(f"  per extra (learner, kata)           {per_pair:7.2f} s, against {one_import:.2f} s for one "
              f"`python -c \"import openai, pytest\"`: a ratio of {per_pair / one_import:.2f}")

        pairs = real_kit_cohort(base / "real", args.learners)
        wall = run_cohort(ROOT, base / "real", base / "real-out", *jobs)
        per_pair = wall / pairs
        print(f"real kit: {args.learners} learners x {pairs // args.learners} katas ({pairs} pairs)")
        print(f"  kata cohort                         {wall:7.2f} s wall, {args.learners / wall:5.2f} learners/s, "
              f"{pairs / wall:5.2f} pairs/s")
        print(f"  per (learner, kata)                 {per_pair:7.2f} s, against {one_import:.2f} s for one "
              f"`python -c \"import openai, pytest\"`: a ratio of {per_pair / one_import:.2f}")
        if sandbox.probe() is None:
            wall_plain = run_cohort(ROOT, base / "real", base / "real-out2", "--no-sandbox", *jobs)
            print(f"  kata cohort --no-sandbox            {wall_plain:7.2f} s wall (the sandbox costs "
                  f"{100 * (wall / wall_plain - 1):+.0f}%)")


if __name__ == "__main__":
    main()
