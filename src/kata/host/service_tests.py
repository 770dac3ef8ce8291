"""The service's own tests, run inside the learner host; their outcomes go back as plain data.

The grader lays out its pristine copy of the legacy tests (and a canary test that must fail) and asks
for this run. What the grader gets is only a list of outcomes: whether the `existing-tests` guard is
met is decided by the grader, which also knows which test is the canary.
"""

from __future__ import annotations

from typing import Any

import pytest


class _Collector:
    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, str]] = {}
        self.load_errors: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
        if report.failed and entry["outcome"] == "passed":
            entry["outcome"] = "failed"
            entry["message"] = _crash_line(report.longrepr)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.load_errors.append(f"{report.nodeid or report.fspath}: {_crash_line(report.longrepr)}")


def _crash_line(longrepr: Any) -> str:
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return f"{crash.message.splitlines()[0] if crash.message else 'failed'} (line {crash.lineno})"[:500]
    text = str(longrepr).strip().splitlines()
    return (text[-1] if text else "failed")[:500]


def run_service_tests(paths: list[str], rootdir: str) -> dict[str, Any]:
    """Run the tests in `paths` with the kit's settings (no conftest.py, no plugins, no cache)."""
    collector = _Collector()
    args = ["-q", "--no-header", "-p", "no:cacheprovider", "--noconftest", "--rootdir", rootdir,
            "-c", f"{rootdir}/pytest.ini", "--import-mode=importlib", "--tb=native", "-rN", *paths]
    code = pytest.main(args, plugins=[collector])
    return {"outcomes": collector.outcomes, "load_errors": collector.load_errors[:50], "exit": int(code)}
