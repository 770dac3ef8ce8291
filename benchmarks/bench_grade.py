"""Benchmark: `kata grade --solution` of every kata, in parallel and in turn, beside one bare import.

Prints figures for this machine; it asserts nothing (speed goals live here, not in timed tests).
The reference point is the cost of one `python -c "import openai, pytest"` measured in the same run:
every graded kata starts a grader and a learner-host zygote, each of which imports about that much.
Usage: python benchmarks/bench_grade.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kata.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    katas = Catalog(ROOT).katas
    grade_times, serial_times, import_times = [], [], []
    for _ in range(args.repeat):
        grade_times.append(timed([sys.executable, "-m", "kata", "grade", "--solution"], cwd=ROOT))
        serial_times.append(timed([sys.executable, "-m", "kata", "grade", "--solution", "--jobs", "1"], cwd=ROOT))
        import_times.append(timed([sys.executable, "-c", "import openai, pytest"]))
    grade_s, serial_s = statistics.median(grade_times), statistics.median(serial_times)
    import_s = statistics.median(import_times)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {len(katas)} katas, "
          f"median of {args.repeat} runs")
    print(f"kata grade --solution (all katas)     {grade_s:7.2f} s wall")
    print(f"kata grade --solution --jobs 1        {serial_s:7.2f} s wall (katas in turn)")
    print(f"per kata, in turn                     {serial_s / len(katas):7.2f} s")
    print(f"python -c 'import openai, pytest'     {import_s:7.2f} s")
    print(f"ratio per kata / import               {serial_s / len(katas) / import_s:7.2f}")


if __name__ == "__main__":
    main()
