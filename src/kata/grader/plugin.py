"""The pytest plugin of the grader process: hidden checks, judged where learner code never runs.

The grader holds pytest, this plugin, the hidden checks, the cassettes and the clock; it never
imports a module of the submission. Each check gets a fresh learner host (`kata.grader.hosting`) and drives
the learner's code through `learner.load(...)` handles (`kata.grader.remote`); model requests and the clock
come back here. The service's own tests run in a learner host too, beside a canary test that must
fail, and only their outcomes return. Results go to the grader's parent over an inherited pipe, as
JSON lines; nothing in them contains test source or a recorded prompt.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from kata.checks import EXISTING_TESTS, CheckFailed, CheckMeta, drop_database_copies
from kata.grader import replay
from kata.grader.hosting import HostPool, HostSetup
from kata.grader.model_server import ModelServer, SentRequest, Upstream
from kata.grader.plays import add_plays
from kata.grader.remote import CheckTimeout, Connection, HandleMisuse, HostGone, Learner, ModelClient, RemoteError
from kata.host import sandbox
from kata.protocol.clock import FakeClock

__all__ = ["SentRequest", "CheckTimeout"]
PR_SET_DUMPABLE = 4


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata")
    group.addoption("--kata-results-fd", type=int, help="inherited pipe the results go to")
    group.addoption("--kata-token-fd", type=int, help="inherited pipe holding the token every result line carries")
    group.addoption("--kata-work", help="the submission's copy (the learner hosts' code)")
    group.addoption("--kata-own", help="the run's own folder (the learner hosts' cwd and writable place)")
    group.addoption("--kata-service-tests", help="the run's copy of the legacy tests (inside --kata-own)")
    group.addoption("--kata-cassettes", help="folder of the kata's cassettes")
    group.addoption("--kata-data", help="folder of the kata's data files, as the learner hosts see it")
    group.addoption("--kata-record-pattern", default="", help="regex of record ids in user content")
    group.addoption("--kata-check-time-limit", type=float, default=10.0)
    group.addoption("--kata-existing-points", type=int, default=1)
    group.addoption("--kata-id", default="NN", help="the kata's id, for hints that name commands")
    group.addoption("--kata-package", default="", help="the kata's package (for the canary test)")
    group.addoption("--kata-hosts-fd", type=int, help="inherited socket of the run's zygote (the host launcher's)")
    group.addoption("--kata-isolation", default="", help="JSON of sandbox.Isolation for the learner hosts")
    group.addoption("--kata-standin", default="", help="record against this stand-in instead of replaying")
    group.addoption("--kata-shard", default="0/1",
                    help="I/N: this grader is shard I of N side by side (the first also runs the service's tests)")
    group.addoption("--kata-template-fd", type=int,
                    help="the warm grader's socket: collect the checks, then fork a grade for each request on it")
    group.addoption("--kata-claims-fd", type=int,
                    help="inherited pipe of check indexes the shards share: run only the checks claimed from it")


# --------------------------------------------------------------------------- session state


@dataclass
class _Check:
    """What one running check has: its model server, clocks, sleeps and learner host."""

    meta: CheckMeta
    server: ModelServer
    sleeps: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conn: Connection | None = None
    clients: dict[int, ModelClient] = field(default_factory=dict)
    failed: bool = False
    excinfo: Any = None
    phase: str = ""


@dataclass
class _State:
    out: Any
    token: str
    pool: HostPool | None
    work: Path
    service_tests: Path | None
    record_pattern: str
    check_limit: float
    existing_points: int
    kata_id: str
    package: str
    upstream: Upstream
    checks: dict[str, _Check] = field(default_factory=dict)
    current: _Check | None = None
    plays: dict[str, list[int]] = field(default_factory=dict)
    collected: bool = False
    listed: list[dict[str, Any]] = field(default_factory=list)  # the collected checks, announced per grade
    pending: list[dict[str, Any]] = field(default_factory=list)  # sent before the grade's results pipe was given
    existing_done: bool = False
    shard: tuple[int, int] = (0, 1)  # (index, count): this grader runs its share of the checks
    lock: threading.Lock = field(default_factory=threading.Lock)  # the service's tests report from a thread

    def send(self, kind: str, **data: Any) -> None:
        if self.out is None:
            if len(self.pending) < 100:  # a template's collection: each grade forked from it sends these
                self.pending.append({"kind": kind, **data})
            return
        line = json.dumps({"kind": kind, **data, "token": self.token}) + "\n"
        with self.lock:
            try:
                self.out.write(line)
                self.out.flush()
            except (OSError, ValueError):
                pass


_STATE: _State | None = None


def _state() -> _State:
    assert _STATE is not None, "kata.grader.plugin used without pytest_configure"
    return _STATE


def _upstream(config: pytest.Config) -> Upstream:
    env = os.environ
    if env.get("KATA_LIVE_BASE_URL") and env.get("KATA_LIVE_API_KEY"):
        return Upstream(live_base_url=env["KATA_LIVE_BASE_URL"], live_api_key=env["KATA_LIVE_API_KEY"],
                        live_model=env.get("KATA_LIVE_MODEL") or None,
                        live_organization=env.get("KATA_LIVE_ORGANIZATION") or None,
                        live_project=env.get("KATA_LIVE_PROJECT") or None)
    return Upstream(standin_url=config.getoption("--kata-standin") or None)


def _read_token(fd: int | None) -> str:
    if fd is None:
        return ""
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read(64).decode("ascii", errors="replace")


def pytest_configure(config: pytest.Config) -> None:
    global _STATE
    config.addinivalue_line("markers", "kata_check(meta): a graded check (kata.checks.check)")
    replay.mark_absent_http_libraries()
    _not_dumpable()
    _STATE = _State(
        out=None, token="", pool=None, work=Path(os.getcwd()), service_tests=None,
        record_pattern=config.getoption("--kata-record-pattern"),
        check_limit=config.getoption("--kata-check-time-limit"),
        existing_points=config.getoption("--kata-existing-points"),
        kata_id=config.getoption("--kata-id"), package=config.getoption("--kata-package"),
        upstream=_upstream(config), shard=_shard(config.getoption("--kata-shard")),
    )
    _STATE.existing_done = _STATE.shard[0] != 0  # the service's tests run in the first shard only
    _patch_unmatched_explanations()
    if config.getoption("--kata-template-fd") is None:
        _begin(config)


def begin_grade(config: pytest.Config, grade_args: list[str]) -> None:
    """In a grade forked from a template (`--kata-template-fd`): take the grade's own options (its
    folders and descriptors, `warm.GRADE_OPTIONS`), begin it, and announce the collected checks."""
    config._parser.parse_known_args(grade_args, namespace=config.option)
    # pytest goes back to where it was started when the session ends: the grade's folder, not the
    # template's (the folder of an earlier run, gone by now).
    config.invocation_params = replace(config.invocation_params, dir=Path.cwd())
    from _pytest.tmpdir import TempPathFactory

    # tmp_path lives under the grade's --basetemp (the run's own folder, which its learner hosts see)
    config._tmp_path_factory = TempPathFactory.from_config(config, _ispytest=True)  # type: ignore[attr-defined]
    _begin(config)
    _announce(_state())


def _not_dumpable() -> None:
    if sys.platform == "linux":  # no process of the same user may read this one's memory or attach to it
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0)


def _begin(config: pytest.Config) -> None:
    """The grade's part of the configuration: its results pipe, token, folders, learner hosts, claims."""
    state = _state()
    _not_dumpable()
    fd = config.getoption("--kata-results-fd")
    state.out = os.fdopen(fd, "w", encoding="utf-8") if fd is not None else None
    state.token = _read_token(config.getoption("--kata-token-fd"))  # before any learner host exists
    state.work = Path(config.getoption("--kata-work") or os.getcwd())
    own_option = config.getoption("--kata-own")
    if own_option:
        isolation_text = config.getoption("--kata-isolation")
        isolation = sandbox.Isolation.from_json(isolation_text) if isolation_text else None
        data = config.getoption("--kata-data")
        state.pool = HostPool(HostSetup(work=state.work, own=Path(own_option), isolation=isolation,
                                        readable=(Path(data),) if data else ()),
                              control_fd=config.getoption("--kata-hosts-fd"))
        state.pool.start_in_background()  # its imports overlap with the collection of the checks
    service = config.getoption("--kata-service-tests")
    state.service_tests = Path(service) if service else None
    claims = config.getoption("--kata-claims-fd")
    if claims is not None:
        config.pluginmanager.register(ClaimedChecks(claims), "kata-claimed-checks")
    elif state.shard[1] > 1:
        raise pytest.UsageError("--kata-shard with more than one shard needs --kata-claims-fd")
    pending, state.pending = state.pending, []
    for record in pending:
        state.send(**record)


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    shard = (int(index), int(count or 1))
    if not 0 <= shard[0] < shard[1]:
        raise pytest.UsageError(f"--kata-shard {text}: expected I/N with 0 <= I < N")
    return shard


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STATE is not None:
        if _STATE.pool is not None:
            _STATE.pool.close()
        if _STATE.out is not None:
            try:
                _STATE.out.close()
            except OSError:
                pass


def _patch_unmatched_explanations() -> None:
    """Note, in learner words, every request that no recording answers (even if learner code catches it)."""
    from vcr.errors import CannotOverwriteExistingCassetteException as Unmatched

    if getattr(Unmatched, "_kata_patched", False):
        return
    original = Unmatched.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        pattern = _state().record_pattern
        sent_req = kwargs["failed_request"]
        sent = replay.identify(sent_req.method, sent_req.uri, sent_req.body, pattern)
        recorded = [replay.identify(r.method, r.uri, r.body, pattern) for r in self.cassette.requests]
        played = getattr(self, "reason", "") == "already_played"
        self.kata_note = replay.explain_unmatched(sent, recorded, played)
        self.kata_brief = _brief_says(replay.unmatched_aspects(sent, recorded, played))

    Unmatched.__init__ = __init__  # type: ignore[method-assign]
    Unmatched._kata_patched = True  # type: ignore[attr-defined]


def _brief_says(aspects: list[str]) -> str:
    """The brief's contract about what an unmatched request got wrong ("" when the brief has no such table)."""
    try:
        brief = (_state().work / "README.md").read_text(encoding="utf-8")
    except OSError:
        return ""
    return replay.brief_says(brief, aspects) or ""


def _note_unmatched(exc: Exception) -> str:
    """Keep the learner-facing explanation of an unmatched request for the running check."""
    note = getattr(exc, "kata_note", "a request matched no recording")
    check = _state().current
    if check is not None and note not in check.notes:
        check.notes.append(note)
        brief = getattr(exc, "kata_brief", "")
        if brief:
            check.notes.append(f"the brief says: {brief}")
    return note


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("kata_identity", replay.make_matcher(_state().record_pattern))


# --------------------------------------------------------------------------- collection


def _meta(item: pytest.Item) -> CheckMeta | None:
    marker = item.get_closest_marker("kata_check")
    return marker.args[0] if marker else None


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _state().send("kit-error", message=f"the hidden checks could not be loaded ({_crash_line(report.longrepr)})")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _state()
    seen: set[str] = set()
    for item in items:
        meta = _meta(item)
        if meta is None:
            state.send("kit-error", message=f"{item.nodeid} is not marked as a check")
            continue
        if meta.id in seen:
            state.send("kit-error", message=f"two checks share the id {meta.id!r}")
        seen.add(meta.id)
        item.add_marker(pytest.mark.vcr)
        item.add_marker(pytest.mark.default_cassette(meta.cassette or meta.id))
        state.listed.append({"id": meta.id, "title": meta.title, "points": meta.points, "guard": meta.guard})


def _announce(state: _State) -> None:
    """Send the grade's list of checks (every shard lists every check: the runner merges by id)."""
    listed = list(state.listed)
    if state.service_tests is not None:
        listed.insert(0, {"id": EXISTING_TESTS, "title": "The service's existing tests still pass",
                          "points": state.existing_points, "guard": True})
    state.send("collected", checks=listed)
    state.collected = True


class ClaimedChecks:
    """The test loop of a shard: each check is claimed from a pipe all shards of the run read, so a
    shard that is done early takes the next check instead of waiting for the others (the runner fills
    the pipe with every index, two bytes each, before any grader starts; a read of two bytes from a
    pipe is never split between readers)."""

    def __init__(self, fd: int) -> None:
        self.pipe = os.fdopen(fd, "rb", buffering=0)

    def claim(self) -> int | None:
        data = self.pipe.read(2)
        return int.from_bytes(data, "big") if data and len(data) == 2 else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} errors during collection")
        while (index := self.claim()) is not None and index < len(session.items):
            item = session.items[index]
            # The next check may be another shard's: every fixture ends with this one (checks use none
            # wider than a function's).
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=None)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        return True


# --------------------------------------------------------------------------- the service's own tests


CANARY_WORDS = ("ticket", "order", "refund", "queue", "report", "import", "parse", "store", "route", "reply",
                "total", "status", "digest", "price", "stock", "retry", "event", "rule", "label", "batch")


def _canary(folder: Path, package: str) -> str:
    """Add a test that must fail to a copy of one of the service's test files; its node id.

    A run that forces outcomes to passed passes it too, which shows the tampering. Its name and
    content are drawn at random in the form of the service's own tests, so it cannot be told apart
    by its name alone."""
    files = sorted(p for p in folder.rglob("test_*.py"))
    if not files:
        return ""
    chosen = random.SystemRandom().choice(files)
    rng = random.SystemRandom()
    name = f"test_{rng.choice(CANARY_WORDS)}_{rng.choice(CANARY_WORDS)}_{rng.randrange(10, 99)}"
    expected = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
    module = package or "os"
    body = (f"\n\ndef {name}():\n    import {module}\n\n"
            f"    assert {module}.__name__ == {expected!r}\n")
    with chosen.open("a", encoding="utf-8") as handle:
        handle.write(body)
    return f"{chosen.relative_to(folder).as_posix()}::{name}"


def _run_existing_tests(state: _State) -> None:
    """Run the service's tests in a learner host and send the `existing-tests` result."""
    if state.existing_done or state.service_tests is None:
        return
    state.existing_done = True
    state.send("started", id=EXISTING_TESTS)
    folder = state.service_tests
    canary = _canary(folder, state.package)
    try:
        # Each test has the per-check limit in the host; the whole run a few times that here.
        outcome = _in_host(state, {"op": "run_tests", "paths": [str(folder)], "rootdir": str(folder),
                                   "limit": state.check_limit}, limit=state.check_limit * 4)
    except CheckTimeout:
        state.send("result", id=EXISTING_TESTS, status="error", message=(
            "observed: the service's own tests did not finish in time\nexpected: they finish in seconds\n"
            "hint: look for an endless loop or a real wait in your code."))
        return
    except (HostGone, RemoteError) as exc:
        state.send("result", id=EXISTING_TESTS, status="error", message=(
            f"observed: the service's own tests could not run ({_host_failure(exc)})\n"
            "expected: they run and pass\n"
            f"hint: run `kata check {state.kata_id}` to see what happens."))
        return
    status, message = _judge_existing(state, outcome, canary, folder)
    if status == "tampered":
        state.send("tampered", why="a test that cannot pass was reported as passed")
        status = "failed"
    state.send("result", id=EXISTING_TESTS, status=status, message=message)


def _judge_existing(state: _State, outcome: Any, canary: str, folder: Path) -> tuple[str, str]:
    if not isinstance(outcome, dict) or not isinstance(outcome.get("outcomes"), dict):
        return "error", "observed: the service's tests sent back no outcomes\nexpected: a list of outcomes\nhint: -"
    outcomes = {str(k): v for k, v in outcome["outcomes"].items()}
    prefix = folder.name + "/"
    relative = {k.split(prefix, 1)[-1] if prefix in k else k: v for k, v in outcomes.items()}
    canary_seen = relative.pop(canary, None) if canary else {"outcome": "failed"}
    load_errors = [str(e) for e in outcome.get("load_errors", [])][:20]
    # Its file may not load at all (then the guard fails on that); run, it must have failed.
    canary_ok = (canary_seen is None and bool(load_errors)) or (
        isinstance(canary_seen, dict) and canary_seen.get("outcome") == "failed")
    if canary and not canary_ok:
        return "tampered", (
            "observed: the run of the service's tests reported as passed a test that cannot pass\n"
            "expected: test outcomes as the tests decide them\n"
            "hint: code that changes how tests run (patching pytest, forcing outcomes) is treated as tampering; "
            "this check scores 0.")
    failures = [f"{k.split('::')[-1]}: {v.get('message', '')}" for k, v in relative.items()
                if isinstance(v, dict) and v.get("outcome") != "passed"]
    problems = load_errors + failures
    if not relative and not load_errors:
        problems = ["no existing tests were found to run"]
    if not problems:
        return "passed", ""
    total = len(relative)
    shown = "\n".join(f"  - {p}" for p in problems[:8])
    more = f"\n  - ... and {len(problems) - 8} more" if len(problems) > 8 else ""
    if failures and load_errors:
        head = f"{len(failures)} of {total} existing tests failed and some could not be loaded"
    elif load_errors:
        head = f"{len(load_errors)} of the existing test files could not be loaded"
    elif relative:
        head = f"{len(failures)} of {total} existing tests failed"
    else:
        head = "no existing tests ran"
    return "failed", (
        f"observed: {head}:\n{shown}{more}\n"
        "expected: every test the service shipped with still passes (the kit runs its own copy)\n"
        f"hint: run `kata check {state.kata_id}` to see them fail in full; keep the old behaviour working.")


def _in_host(state: _State, message: dict[str, Any], limit: float) -> Any:
    """One request to a fresh learner host, outside any check."""
    if state.pool is None:
        raise HostGone("no learner process is configured")
    conn = state.pool.connect({"slept": lambda ask: {}})
    conn.set_deadline(limit)
    try:
        return conn.request(message)
    finally:
        state.pool.finish(conn)


def _existing_tests_beside(state: _State) -> None:
    try:
        _run_existing_tests(state)
    except Exception as exc:  # noqa: BLE001 - a kit problem; the runner reports it, grading goes on
        state.send("kit-error", message=f"the service's own tests could not be judged ({type(exc).__name__})")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    # The service's own tests run in a host of their own while the checks run: on two cores the grade
    # takes the longer of the two, not their sum. Results are sent under the state's lock.
    beside = threading.Thread(target=_existing_tests_beside, args=(_state(),), daemon=True)
    beside.start()
    try:
        return (yield)
    finally:
        beside.join()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def vcr_cassette_dir(pytestconfig: pytest.Config) -> str:
    """All checks of a kata share the kata's cassette folder."""
    return pytestconfig.getoption("--kata-cassettes") or str(Path.cwd() / "cassettes")


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return replay.vcr_config()


def _current() -> _Check:
    check = _state().current
    if check is None:
        raise RuntimeError("this fixture is for hidden checks (kata.checks.check) only")
    return check


def _clock_answer(conn: Connection, ask: dict[str, Any]) -> dict[str, Any]:
    clock = conn.clocks.get(int(ask.get("clock", 0)) if isinstance(ask.get("clock"), int) else 0)
    name = ask.get("name")
    if clock is None or name not in ("monotonic", "time", "sleep"):
        return {"value": 0.0}
    if name == "sleep":
        args = ask.get("args") or [0.0]
        seconds = args[0] if isinstance(args[0], int | float) else 0.0
        clock.sleep(float(seconds))
        return {"value": 0.0}
    return {"value": float(getattr(clock, name)())}


@pytest.fixture
def learner() -> Iterator[Learner]:
    """The code being graded: `learner.load("pkg.module")` imports a module in a fresh learner host."""
    state, check = _state(), _current()
    if state.pool is None:
        raise RuntimeError("the grader was started without a learner host (--kata-own)")

    def slept(ask: dict[str, Any]) -> dict[str, Any]:
        seconds = ask.get("seconds")
        check.sleeps.append(float(seconds) if isinstance(seconds, int | float) else 0.0)
        return {}

    def connect() -> Connection:
        if check.conn is not None:  # learner.restart(): the previous process ends first
            state.pool.finish(check.conn)  # type: ignore[union-attr]
        services: dict[str, Callable[[dict[str, Any]], Any]] = {"http": check.server.serve, "slept": slept}
        conn = state.pool.connect(services)  # type: ignore[union-attr]
        services["clock"] = lambda ask: _clock_answer(conn, ask)
        conn.clients = check.clients
        conn.set_deadline(state.check_limit)
        check.conn = conn
        return conn

    yield Learner(connect)
    if check.conn is not None:
        state.pool.finish(check.conn)
    drop_database_copies()


@pytest.fixture
def kata_data(pytestconfig: pytest.Config) -> Path:
    """The kata's data files, at the path the learner's code can read them."""
    return Path(pytestconfig.getoption("--kata-data") or Path.cwd() / "data")


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sent_requests() -> list[SentRequest]:
    """Every model request the learner's code sent during this check, in order."""
    return _current().server.sent


@pytest.fixture
def real_sleeps() -> list[float]:
    """Calls of `time.sleep` in the learner's code during the check; grading never really sleeps."""
    return _current().sleeps


@pytest.fixture
def openai_client() -> Callable[..., ModelClient]:
    """Factory of model clients for learner code: each is a real SDK client in the learner host whose
    requests the grader answers. `timeout_on`/`error_on` (request indexes or a predicate) simulate
    time-outs and connection errors, `on_timeout` runs before a simulated time-out, `on_request` sees
    every request; `is_async=True` gives an `AsyncOpenAI`; `sdk_defaults=True` the client a caller gets
    from `openai.OpenAI()` (the SDK's two retries and 600 s time-out), for briefs' time-out and retry rules;
    `kill_on` kills the learner's process at a request (the check sees `LearnerKilled`, then may
    `learner.restart()`); `slow_on` (async clients) answers a request only once the learner's process has
    stopped sending others."""
    check = _current()

    def make(*, timeout_on: Any = None, on_timeout: Callable[[SentRequest], None] | None = None,
             error_on: Any = None, on_request: Callable[[SentRequest], None] | None = None,
             is_async: bool = False, sdk_defaults: bool = False, kill_on: Any = None,
             slow_on: Any = None) -> ModelClient:
        client = ModelClient(len(check.clients) + 1, is_async=is_async, timeout_on=timeout_on,
                             on_timeout=on_timeout, error_on=error_on, on_request=on_request,
                             sdk_defaults=sdk_defaults, kill_on=kill_on, slow_on=slow_on)
        check.clients[client.number] = client
        return client

    return make


@pytest.fixture(autouse=True)
def _kata_check_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Per check: its model server, the cassette it plays, and the count of plays afterwards."""
    state = _state()
    meta = _meta(request.node)
    if meta is None:
        yield
        return
    name = meta.cassette or meta.id
    check = state.checks[request.node.nodeid]
    check.server = ModelServer(state.record_pattern, state.upstream, lambda: name,
                               lambda number: check.clients.get(number), _note_unmatched)
    state.current = check
    cassette = request.getfixturevalue("vcr")
    yield
    add_plays(state.plays, name, [cassette.play_counts[i] for i in range(len(cassette.data))])


# --------------------------------------------------------------------------- running and reporting


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    state = _state()
    item = _ITEMS.get(nodeid)
    meta = _meta(item) if item is not None else None
    if meta is not None:
        state.checks[nodeid] = _Check(meta=meta, server=None)  # type: ignore[arg-type]
        state.send("started", id=meta.id)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    check = _state().checks.get(item.nodeid)
    if check is not None and report.failed and not check.failed:
        check.failed, check.excinfo, check.phase = True, call.excinfo, call.when
    return report


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    state = _state()
    check = state.checks.get(nodeid)
    if check is None:
        return
    state.current = None
    status, message = _judge(check, state)
    exc = check.excinfo.value if check.excinfo is not None else None
    cause = exc.kind if isinstance(exc, RemoteError) and exc.kind in ("syntax", "import") else ""
    state.send("result", id=check.meta.id, status=status, message=message, cause=cause)


_ITEMS: dict[str, pytest.Item] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _ITEMS.update({i.nodeid: i for i in session.items})
    template = session.config.getoption("--kata-template-fd")
    if template is None:
        _announce(_state())
        return
    from kata.grader.warm import serve_template

    # A template: each request forks a grade, which comes back here with its own arguments and goes on
    # to run the checks; the template itself never returns from serve_template.
    begin_grade(session.config, serve_template(template))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state()
    if state.collected:
        _run_existing_tests(state)  # when there were no checks to run after it
    state.send("plays", plays=state.plays)
    state.send("finished")


# --------------------------------------------------------------------------- messages


def _crash_line(longrepr: Any) -> str:
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return f"{crash.message.splitlines()[0] if crash.message else 'failed'} (line {crash.lineno})"
    text = str(longrepr).strip().splitlines()
    return text[-1] if text else "failed"


def _host_failure(exc: BaseException) -> str:
    if isinstance(exc, HostGone):
        if exc.code is not None and exc.code >= 0:
            return f"your code ended its process with exit code {exc.code}"
        if exc.code is not None:
            return f"your code's process was killed by signal {-exc.code}"
        return exc.why
    if isinstance(exc, RemoteError):
        return f"{exc.type_name}: {exc.text}" if exc.text else exc.type_name
    return str(exc)


def _judge(check: _Check, state: _State) -> tuple[str, str]:
    """Status and learner-facing message of one check."""
    meta = check.meta
    notes = "".join(f"\nreplay: {n}" for n in check.notes)
    if not check.failed:
        return "passed", ""
    exc = check.excinfo.value if check.excinfo is not None else None
    if isinstance(exc, CheckFailed):
        return "failed", str(exc) + notes
    hint = f"\nhint: {meta.hint}" if meta.hint else ""
    if isinstance(exc, CheckTimeout):
        return "error", (
            f"observed: this check did not finish within {state.check_limit:g} s\n"
            "expected: the check finishes quickly (no real waiting while grading)\n"
            "hint: look for an infinite loop, or a wait that does not go through the injected clock." + notes
        )
    if isinstance(exc, HostGone):
        return "error", (
            f"observed: {_host_failure(exc)} during this check\n"
            "expected: the service returns or raises, it never ends the process\n"
            "hint: look for sys.exit, os._exit, os.kill or a crash in your code." + notes
        )
    if isinstance(exc, HandleMisuse):
        return "error", f"observed: a defect of the kit's check ({exc})\nexpected: -\nhint: report it to the kit."
    if isinstance(exc, RemoteError):
        return "error", _remote_message(exc, meta, state, hint, notes)
    if exc is None:
        return "error", f"observed: the check failed in {check.phase}{hint}{notes}"
    return "error", (f"observed: the check could not finish: {type(exc).__name__}: {str(exc)[:300]}\n"
                     f"expected: {meta.title.rstrip('.')}" + hint + notes)


def _remote_message(exc: RemoteError, meta: CheckMeta, state: _State, hint: str, notes: str) -> str:
    if exc.kind == "syntax":
        return (f"observed: your code does not compile: {exc.text} at {exc.where}\n"
                "expected: the package imports\n"
                f"hint: fix the syntax error; `kata check {state.kata_id}` shows it too.")
    if exc.kind == "exit":
        return (f"observed: your code called sys.exit({exc.text}) during this check\n"
                "expected: the service returns or raises, it never exits the process" + hint)
    if exc.kind == "codec":
        return (f"observed: your code returned a value the grader could not read ({exc.text})\n"
                f"expected: {meta.title.rstrip('.')}" + hint)
    if exc.is_a("NoRecordingMatched"):
        note = exc.text or "a request matched no recording"
        brief = next((n.removeprefix("the brief says: ") for n in _split_notes(notes) if n.startswith("the brief")), "")
        expected = (f"what the brief (README.md) says: {brief}" if brief else
                    "the requests the brief describes (endpoint, model, output schema, one record per request)")
        return f"observed: {note}\nexpected: {expected}" + hint
    kind = "could not be imported" if exc.kind == "import" else "raised"
    at = f"\n  at {exc.where}" if exc.where else ""
    text = exc.text.splitlines()[0] if exc.text else ""
    return (f"observed: your code {kind}: {exc.type_name}{': ' + text if text else ''}{at}\n"
            f"expected: {meta.title.rstrip('.')}" + hint + notes)


def _split_notes(notes: str) -> list[str]:
    return [line.removeprefix("replay: ") for line in notes.splitlines() if line.startswith("replay: ")]
