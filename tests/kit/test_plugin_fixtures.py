"""The fixtures the plugin gives hidden checks, exercised in a pytest run of their own."""

import pytest

pytest_plugins = ["pytester"]

CHECKS = '''
import openai
import pytest


def ask(client):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "About REC-1"}])


def test_simulated_failures(openai_client, sent_requests, fake_clock):
    seen = []
    client = openai_client(timeout_on={0}, on_timeout=lambda r: fake_clock.advance(r.timeout),
                           error_on={1}, on_request=seen.append)
    with pytest.raises(openai.APITimeoutError):
        ask(client.with_options(timeout=7.5))
    with pytest.raises(openai.APIConnectionError):
        ask(client)
    assert [r.index for r in seen] == [0, 1] and [r.records for r in sent_requests] == [("REC-1",)] * 2
    assert sent_requests[0].timeout == 7.5 and fake_clock.monotonic() == 1007.5


def test_time_sleep_never_sleeps(real_sleeps):
    import time
    time.sleep(3600)
    assert real_sleeps == [3600]
'''


def test_timeouts_connection_errors_and_request_hooks(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    pytester.makepyfile(test_fixtures=CHECKS)
    result = pytester.runpytest_subprocess("-p", "pytest_recording.plugin", "-p", "kata.plugin",
                                           "--kata-record-pattern=REC-\\d+", "--block-network")
    result.assert_outcomes(passed=2)
