"""The service's own tests, run inside the learner host; their outcomes go back as plain data.

The grader lays out its pristine copy of the legacy tests (and a canary test that must fail) and asks
for this run. What the grader gets is only a list of outcomes: whether the `existing-tests` guard is
met is decided by the grader, which also knows which test is the canary.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from kata import plugins_off
from kata.host.errors import describe_error


class TestTimeout(BaseException):
    """One of the service's tests ran longer than its limit (a BaseException: `except Exception` misses it)."""


class _Collector:
    def __init__(self, work: Path, limit: float) -> None:
        self.outcomes: dict[str, dict[str, str]] = {}
        self.load_errors: list[str] = []
        self.causes: dict[str, str] = {}
        self.work, self.limit = work, limit

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        """Interrupt a test that runs longer than the limit (an endless loop in the service)."""
        def alarm(signum: int, frame: Any) -> None:
            raise TestTimeout(f"did not finish within {self.limit:g} s")

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, self.limit)
        try:
            return (yield)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        """A test file that fails to load: the learner's file and line of the cause, in their terms."""
        if not isinstance(report, pytest.CollectReport) or call.excinfo is None:
            return
        exc = call.excinfo.value
        cause = exc.__cause__ or exc.__context__ or exc
        info = describe_error(cause, self.work)
        if info["kind"] == "syntax":
            self.causes[report.nodeid] = f"your code does not compile: {info['message']} at {info['where']}"
        elif info.get("where"):
            kind = "could not be imported" if info["kind"] == "import" else "raised while loading"
            text = info["message"].splitlines()[0] if info["message"] else ""
            self.causes[report.nodeid] = (f"your code {kind}: {info['types'][0]}{': ' + text if text else ''} "
                                          f"at {info['where'].splitlines()[0]}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
        if report.failed and entry["outcome"] == "passed":
            entry["outcome"] = "failed"
            entry["message"] = _crash_line(report.longrepr)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            name = Path(str(report.fspath)).name
            reason = self.causes.get(report.nodeid) or _crash_line(report.longrepr)
            self.load_errors.append(f"{name} could not be loaded: {reason}"[:600])


def _crash_line(longrepr: Any) -> str:
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return f"{crash.message.splitlines()[0] if crash.message else 'failed'} (line {crash.lineno})"[:500]
    text = str(longrepr).strip().splitlines()
    return (text[-1] if text else "failed")[:500]




def run_service_tests(paths: list[str], rootdir: str, work: Path, limit: float) -> dict[str, Any]:
    """Run the tests in `paths` with the kit's settings (no conftest.py, no plugins, no cache); each test
    has `limit` seconds."""
    collector = _Collector(work, limit)
    args = ["-q", "--no-header", *plugins_off.arguments(plugins_off.SERVICE_TESTS), "--noconftest",
            "--rootdir", rootdir,
            "-c", f"{rootdir}/pytest.ini", "--import-mode=importlib", "--tb=native", "-rN", *paths]
    code = pytest.main(args, plugins=[collector])
    return {"outcomes": collector.outcomes, "load_errors": collector.load_errors[:50], "exit": int(code)}
