"""Fixtures for orchestration katas: killing the learner's process at a request and starting it again,
requests of an async client in flight at once (and one held back), and the kit's embeddings.

Each is graded through the public CLI on a copy of the mini kit, with learner code that uses it.
"""

from pathlib import Path

from conftest import load_json

CHECK = '''
from kata.checks import LearnerKilled, check, expect
from kata.embedder import embed


@check("killed-and-restarted", "A kill at a chosen request, then a fresh process", points=1)
def test_kill(learner, openai_client, sent_requests, tmp_path):
    probe = learner.load("echo.orchestra")
    marker = tmp_path / "runs.txt"
    try:
        outcome = probe.work(openai_client(kill_on={1}), str(marker))
    except LearnerKilled:
        outcome = "killed"
    expect(outcome == "killed", observed=repr(outcome), expected="killed", hint="")
    expect(len(sent_requests) == 2, observed=repr(len(sent_requests)), expected="2", hint="")
    learner.restart()
    probe = learner.load("echo.orchestra")
    expect(probe.runs() == 0, observed=repr(probe.runs()), expected="a fresh process", hint="")
    outcome = probe.work(openai_client(), str(marker))
    expect(outcome == "finished" and marker.read_text() == "1", observed=repr(outcome), expected="", hint="")
    expect(len(sent_requests) == 5, observed=repr(len(sent_requests)), expected="5", hint="")


@check("in-flight", "Concurrent requests are seen in flight, a slow one is held back", points=1)
def test_in_flight(learner, openai_client, sent_requests):
    probe = learner.load("echo.orchestra")
    vectors = probe.pooled(openai_client(is_async=True, slow_on={0}), 6, 2)
    expect(vectors == embed([f"text REC-{i}" for i in range(6)], 8), observed=repr(vectors)[:200],
           expected="the kit's embeddings, in input order", hint="")
    expect(max(r.in_flight for r in sent_requests) == 2, observed=repr([r.in_flight for r in sent_requests]),
           expected="2 at most", hint="")
    expect(sent_requests[0].answered_at == 6, observed=repr(sent_requests[0].answered_at),
           expected="the slow request answered after all the others", hint="")
    sent_requests.clear()
    probe.batches(openai_client(is_async=True, slow_on={0}), 6, 2)
    expect(sent_requests[0].answered_at == 2, observed=repr([r.answered_at for r in sent_requests]),
           expected="batches wait for the slow request", hint="")
    expect(sent_requests[0].records == ("REC-0",), observed=repr(sent_requests[0].records), expected="", hint="")
'''

ORCHESTRA = '''
import asyncio
from pathlib import Path

import openai

RUNS = []


def work(client, path):
    RUNS.append(1)
    Path(path).write_text(str(len(RUNS)))
    for n in range(3):
        try:
            client.embeddings.create(model="text-embedding-3-small", input=f"REC-{n}", dimensions=8)
        except openai.APIError:
            pass
    return "finished"


def runs():
    return len(RUNS)


async def _one(client, semaphore, n):
    async with semaphore:
        answer = await client.embeddings.create(model="text-embedding-3-small", input=f"text REC-{n}",
                                                dimensions=8)
        return answer.data[0].embedding


def pooled(client, count, cap):
    async def run():
        semaphore = asyncio.Semaphore(cap)
        return await asyncio.gather(*(_one(client, semaphore, n) for n in range(count)))
    return asyncio.run(run())


def batches(client, count, cap):
    async def run():
        semaphore, done = asyncio.Semaphore(cap), []
        for start in range(0, count, cap):
            done += await asyncio.gather(*(_one(client, semaphore, n) for n in range(start, start + cap)))
        return done
    return asyncio.run(run())
'''


def test_kill_restart_in_flight_and_embeddings(kata_cli, minikit: Path, submission, tmp_path: Path) -> None:
    (minikit / "tests" / "checks" / "01-echo" / "test_orchestration.py").write_text(CHECK)
    target = submission({"01-echo/echo/orchestra.py": ORCHESTRA})
    out = tmp_path / "results.json"
    kata_cli("--root", minikit, "grade", "01", "--target", target, "--json", out)
    checks = {c["id"]: c for c in load_json(out)["katas"][0]["checks"]}
    for name in ("killed-and-restarted", "in-flight"):
        assert checks[name]["status"] == "passed", checks[name]["message"]
