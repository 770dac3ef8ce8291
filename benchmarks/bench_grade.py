"""Benchmark: `kata grade --solution` against a plain pytest run over the same hidden checks.

Prints figures for this machine; it asserts nothing (speed goals live here, not in timed tests).
Usage: python benchmarks/bench_grade.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kata import targets
from kata.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started


def plain_pytest(tmp: Path) -> float:
    """One pytest process per kata over the solution, with the kit's plugin but none of the grader."""
    katas = Catalog(ROOT).katas
    prepared = []
    for kata in katas:
        work = tmp / kata.name
        targets.solution(kata).materialize(work)
        prepared.append((kata, work))
    started = time.perf_counter()
    for kata, work in prepared:
        env = dict(os.environ, PYTHONPATH=f"{work}{os.pathsep}{kata.checks_dir}", OPENAI_API_KEY="x",
                   PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "pytest_recording.plugin", "-p", "kata.plugin",
             "-p", "no:cacheprovider", "--import-mode=importlib", "--rootdir", str(work), "-c", os.devnull,
             f"--kata-cassettes={kata.cassette_dir}", f"--kata-record-pattern={kata.spec.replay.record_pattern}",
             f"--kata-service-tests={kata.service_tests_dir}", "--block-network",
             str(kata.service_tests_dir), str(kata.checks_dir)],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    katas = Catalog(ROOT).katas
    grade_times, serial_times, plain_times = [], [], []
    for _ in range(args.repeat):
        grade_times.append(timed([sys.executable, "-m", "kata", "grade", "--solution"], cwd=ROOT))
        serial_times.append(timed([sys.executable, "-m", "kata", "grade", "--solution", "--jobs", "1"], cwd=ROOT))
        with tempfile.TemporaryDirectory() as tmp:
            plain_times.append(plain_pytest(Path(tmp)))
    grade_s, plain_s = statistics.median(grade_times), statistics.median(plain_times)
    serial_s = statistics.median(serial_times)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {len(katas)} katas, "
          f"median of {args.repeat} runs")
    print(f"kata grade --solution (all katas)     {grade_s:7.2f} s wall")
    print(f"plain pytest over the same checks     {plain_s:7.2f} s wall (one process per kata, in turn)")
    print(f"kata grade --solution --jobs 1        {serial_s:7.2f} s wall (katas in turn, like the plain run)")
    print(f"ratio grade / plain                   {grade_s / plain_s:7.2f}")
    print(f"ratio grade --jobs 1 / plain          {serial_s / plain_s:7.2f} (the grader's own overhead)")


if __name__ == "__main__":
    main()
