"""The pytest plugins each of the kit's pytest sessions leaves off.

Each plugin left on costs a session its registration and a scan of its fixtures (in a freshly forked
grader, 13% of its time went to pytest's session start), and unraisableexception two full garbage
collections at its end (32 ms, measured) to report warnings. Both the grader (`kata.grader.runner`)
and the learner host's run of a service's own tests (`kata.host.service_tests`) build their command
lines from here; this module imports nothing, because the runner's process never imports pytest.
"""

from __future__ import annotations

# Reports, debuggers, doctests and warnings no session of the kit reads.
SERVICE_TESTS = ("doctest", "junitxml", "pastebin", "legacypath", "stepwise", "setuponly", "setupplan",
                 "python_path", "debugging", "faulthandler", "subtests", "unraisableexception", "threadexception",
                 "cacheprovider")
# A service's tests may use the fixtures of these (monkeypatch, caplog, recwarn, unittest.TestCase);
# the kit's checks use none of them.
CHECKS = (*SERVICE_TESTS, "recwarn", "monkeypatch", "logging", "unittest")


def arguments(names: tuple[str, ...]) -> tuple[str, ...]:
    """The `-p no:<name>` arguments that leave `names` off."""
    return tuple(arg for name in names for arg in ("-p", f"no:{name}"))
