"""The fixtures the plugin gives hidden checks: simulated failures, request hooks, the clock, sleeps.

A check of its own is added to a copy of the mini kit and graded against learner code that uses them,
so every fixture is exercised across the two processes, as the kata's checks use it.
"""

from pathlib import Path

from conftest import load_json

CHECK = '''
from kata.checks import RemoteError, check, expect


@check("fixtures", "The fixtures work across the learner's process", points=1)
def test_fixtures(learner, openai_client, sent_requests, fake_clock, real_sleeps):
    seen = []
    client = openai_client(timeout_on={0}, on_timeout=lambda r: fake_clock.advance(r.timeout),
                           error_on={1}, on_request=seen.append)
    probe = learner.load("echo.probe")
    outcomes = probe.ask_twice(client)
    expect(outcomes == ["APITimeoutError", "APIConnectionError"], observed=repr(outcomes), expected="", hint="")
    expect([r.index for r in seen] == [0, 1], observed=repr(seen), expected="", hint="")
    expect([r.records for r in sent_requests] == [("REC-1",)] * 2, observed="", expected="", hint="")
    expect(sent_requests[0].timeout == 7.5 and fake_clock.monotonic() == 1007.5,
           observed=repr((sent_requests[0].timeout, fake_clock.monotonic())), expected="", hint="")
    expect(probe.wait(fake_clock, 2.5) == 1010.0, observed="", expected="the clock is the grader's", hint="")
    probe.nap(3600)
    expect(real_sleeps == [3600], observed=repr(real_sleeps), expected="[3600]", hint="")
    try:
        probe.fail()
    except RemoteError as err:
        expect(err.is_a("LookupError") and "no such ref" in err.text and "probe.py" in err.where,
               observed=repr((err.types, err.text, err.where)), expected="", hint="")
    else:
        expect(False, observed="no error", expected="KeyError", hint="")
'''

PROBE = '''
import time

import openai


def _ask(client):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "About REC-1"}])


def ask_twice(client):
    outcomes = []
    for attempt in (client.with_options(timeout=7.5), client):
        try:
            _ask(attempt)
        except openai.APIError as exc:
            outcomes.append(type(exc).__name__)
    return outcomes


def wait(clock, seconds):
    clock.sleep(seconds)
    return clock.monotonic()


def nap(seconds):
    time.sleep(seconds)


def fail():
    raise KeyError("no such ref")
'''


def test_fixtures_work_across_the_learners_process(kata_cli, minikit: Path, submission, tmp_path: Path) -> None:
    (minikit / "tests" / "checks" / "01-echo" / "test_fixtures.py").write_text(CHECK)
    target = submission({"01-echo/echo/probe.py": PROBE})
    out = tmp_path / "results.json"
    kata_cli("--root", minikit, "grade", "01", "--target", target, "--json", out)
    checks = {c["id"]: c for c in load_json(out)["katas"][0]["checks"]}
    assert checks["fixtures"]["status"] == "passed", checks["fixtures"]["message"]
