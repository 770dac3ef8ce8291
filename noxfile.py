"""Sessions: `nox -s grade` (learners), `nox -s tests` (the kit's own test-suite), and helpers.

Each session installs what it needs into its own virtualenv, reused between runs so the second
`nox -s grade` starts in seconds.
"""

from pathlib import Path

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["grade"]


def _kit(session: nox.Session, *extras: str) -> None:
    """Install the kit, pinned to the versions it is tested with (constraints.txt)."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-c", "constraints.txt", "-e", spec)


@nox.session
def grade(session: nox.Session) -> None:
    """Grade your exercises offline: `nox -s grade` (all) or `nox -s grade -- 01`."""
    _kit(session)
    session.run("kata", "grade", *session.posargs)


@nox.session
def check(session: nox.Session) -> None:
    """Run a kata's own legacy tests: `nox -s check -- 01`."""
    _kit(session)
    session.run("kata", "check", *(session.posargs or ["01"]))


@nox.session(name="list")
def list_katas(session: nox.Session) -> None:
    """The catalog and your progress."""
    _kit(session)
    session.run("kata", "list")


@nox.session
def hint(session: nox.Session) -> None:
    """The next hint of a kata: `nox -s hint -- 01`."""
    _kit(session)
    session.run("kata", "hint", *(session.posargs or ["01"]))


@nox.session
def kata(session: nox.Session) -> None:
    """Any kata command: `nox -s kata -- verify 01`."""
    _kit(session)
    session.run("kata", *(session.posargs or ["--help"]))


@nox.session
def tests(session: nox.Session) -> None:
    """The kit's own test-suite: lint, unit tests, hostile submissions, and `kata verify` of every kata."""
    if not Path("tests/kit").is_dir():
        session.skip("this is a student edition: the kit's own test-suite stays with the instructor")
    _kit(session, "dev")
    session.run("ruff", "check", ".")
    session.run("pytest", "tests/kit", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Print grading wall times, `kata watch` latency and cohort throughput here (figures, not a timed test)."""
    _kit(session)
    session.run("python", "benchmarks/bench_grade.py", *session.posargs)
    session.run("python", "benchmarks/bench_watch.py")  # kata watch: save-to-result latency
    session.run("python", "benchmarks/bench_cohort.py")
