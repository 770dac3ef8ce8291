"""`kata watch` and the warm grader behind it.

The warm grader must grade exactly like the cold path (same results, same isolation); the watcher
must grade on a real file change with file events and with polling, fall back to polling when events
never arrive, and leave cleanly on Ctrl-C. Nothing here sleeps: the watcher is driven by real
changes with short ticks, or by injected change sources and clocks, and every wait has a timeout.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import marked_processes

from kata import targets
from kata.catalog import Catalog
from kata.grader import runner
from kata.grader.warm import WarmGrader
from kata.learn.loop import WatchScreen
from kata.learn.watch import Watcher, WatchEvent, WatchSettings
from kata.outputs.report import console
from kata.outputs.results import KataResult

ECHO = "01-echo/echo/__init__.py"
GOOD_GREET = '''
def greet(client, ref, model="gpt-4o-mini"):
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Hi {ref}"}])
    return answer.choices[0].message.content or ""
'''
FAST = WatchSettings(step_ms=20, debounce_ms=200, tick_ms=50, poll_delay_ms=50, probe_timeout=5.0)


@pytest.fixture(scope="module")
def warm() -> Iterator[WarmGrader]:
    with WarmGrader() as grader:
        yield grader


def summary(result: KataResult) -> tuple:
    """What must be the same whichever way a kata was graded (not the duration)."""
    return (result.score, result.max_score, result.status, result.message, result.problem,
            [(c.id, c.status, c.points, c.message) for c in result.checks])


@pytest.fixture(scope="module")
def second() -> Iterator[WarmGrader]:
    with WarmGrader() as grader:
        yield grader


FORGER = '''import _pytest.reports as r
_init = r.TestReport.__init__
def _passed(self, *a, **k):
    _init(self, *a, **k)
    self.outcome = "passed"
r.TestReport.__init__ = _passed

def shout(text):
    return text
''' + GOOD_GREET


def hard_cases(echo, submission) -> dict[str, targets.Target]:
    return {
        "starter": targets.exercise(echo),
        "solution": targets.solution(echo),
        "import-error": targets.folder(echo, submission({ECHO: "import no_such_module\n" + GOOD_GREET}, "a")),
        "exits": targets.folder(echo, submission({ECHO: "import os\n\ndef shout(t):\n    os._exit(3)\n" + GOOD_GREET},
                                                 "b")),
        "forger": targets.folder(echo, submission({ECHO: FORGER}, "c")),
    }


def test_warm_grades_exactly_like_the_cold_path(minikit: Path, submission, warm: WarmGrader) -> None:
    echo = Catalog(minikit).get("01")
    cases = hard_cases(echo, submission)
    for name, target in cases.items():
        cold = runner.grade(echo, target)
        hot = runner.grade(echo, target, runner.RunOptions(warm=warm))
        assert summary(hot) == summary(cold), name
    assert "tampered" in runner.grade(echo, cases["forger"], runner.RunOptions(warm=warm)).message


def test_checks_split_between_two_graders_grade_exactly_like_one(minikit: Path, submission, warm, second) -> None:
    echo = Catalog(minikit).get("01")
    for name, target in hard_cases(echo, submission).items():
        one = runner.grade(echo, target, runner.RunOptions(warm=warm))
        split = runner.grade(echo, target, runner.RunOptions(warm=warm, shards=(second,)))
        assert summary(split) == summary(one), name
        assert split.cassette_plays == one.cassette_plays, name  # every check ran, in one shard or the other
    assert (warm.starts, second.starts) == (1, 1)  # both shards were forked warm, none fell back to a cold start
    stubborn = "def shout(text):\n    while True:\n        pass\n"
    result = runner.grade(echo, targets.folder(echo, submission({ECHO: stubborn + GOOD_GREET}, "f")),
                          runner.RunOptions(warm=warm, shards=(second,), time_limit=2))
    assert result.problem == "time-out" and "did not finish within its time limit (2 s)" in result.message
    assert [c.id for c in result.checks] == [c.id for c in one.checks]  # every check, whichever shard stopped


def test_warm_grades_keep_the_time_limit_and_end_stray_processes(minikit, submission, tmp_path, warm) -> None:
    echo = Catalog(minikit).get("01")
    stubborn = ("def shout(text):\n    while ' ' in text:\n        try:\n            while True:\n"
                "                pass\n        except BaseException:\n            pass\n    return text.upper()\n")
    result = runner.grade(echo, targets.folder(echo, submission({ECHO: stubborn + GOOD_GREET}, "d")),
                          runner.RunOptions(warm=warm, time_limit=2))
    assert "did not finish within its time limit (2 s)" in result.message
    assert result.problem == "time-out"
    spawner = ("import subprocess\n\ndef shout(text):\n    subprocess.Popen(['sleep', '300.75'])\n"
               "    return text.upper()\n" + GOOD_GREET)
    runner.grade(echo, targets.folder(echo, submission({ECHO: spawner}, "e")), runner.RunOptions(warm=warm))
    assert marked_processes("sleep 300.75") == []
    assert warm.alive  # the zygote outlives whatever its children do


def test_a_dead_warm_grader_is_restarted_or_replaced_by_the_cold_path(minikit: Path) -> None:
    echo = Catalog(minikit).get("01")
    with WarmGrader() as grader:
        assert grader.pid is not None
        os.kill(grader.pid, 9)
        grader.proc.wait()  # type: ignore[union-attr]
        result = runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=grader))
        assert result.full_marks and grader.starts == 2
    unstarted = WarmGrader()  # never started, and never startable: the cold path grades
    unstarted.env = {"PATH": "", "PYTHONPATH": "/nonexistent", "PYTHONHOME": "/nonexistent"}
    result = runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=unstarted))
    assert result.full_marks


def _count_imports(minikit: Path) -> tuple[Path, Path]:
    """Make kata 01's checks note each import of their module in a file beside the kit; (checks, log)."""
    checks, log = minikit / "tests" / "checks" / "01-echo" / "test_echo.py", minikit / "imports.log"
    checks.write_text(f"with open({str(log)!r}, 'a') as _log:\n    _log.write('imported\\n')\n"
                      + checks.read_text())
    return checks, log


def test_a_katas_checks_are_collected_once_and_again_when_they_change(minikit: Path) -> None:
    checks, log = _count_imports(minikit)
    echo = Catalog(minikit).get("01")
    with WarmGrader() as grader:
        grades = [runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=grader)) for _ in range(3)]
        assert all(r.full_marks for r in grades)
        assert log.read_text().count("imported") == 1  # one collection for three grades
        checks.write_text(checks.read_text().replace('got == "HI THERE"', 'got == "HI THERE!"'))
        edited = runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=grader))
        assert [c.status.value for c in edited.checks if c.id == "shouts"] == ["failed"]  # the edit is graded
        assert log.read_text().count("imported") == 2
        log.unlink()
        for _ in range(2):  # without templates every grade collects the checks again
            runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=grader, templates=False))
        assert log.read_text().count("imported") == 2


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
            found += [int(p) for p in handle.read().split()]
    return found


def test_a_template_that_dies_costs_no_grade(minikit: Path) -> None:
    echo = Catalog(minikit).get("01")
    with WarmGrader() as grader:
        assert runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=grader)).full_marks
        assert grader.pid is not None
        templates = _children(grader.pid)
        assert len(templates) == 1  # the kata's template waits for the next grade
        os.kill(templates[0], 9)
        for _ in range(2):  # the first grade after is forked from the zygote, the next from a new template
            assert runner.grade(echo, targets.solution(echo), runner.RunOptions(warm=grader)).full_marks
        assert len(_children(grader.pid)) == 1 and grader.starts == 1


# --------------------------------------------------------------------------- the watcher


def run_watcher(watcher: Watcher, change: Path, text: str, save=None) -> list[WatchEvent]:
    """Run the watcher in a thread; once it has shown its first result, save `change` (with `save`)."""
    events: list[WatchEvent] = []
    first = threading.Event()
    done = threading.Event()

    def on_event(event: WatchEvent) -> None:
        events.append(event)
        if event.kind == "result":
            first.set()
        if event.kind == "stopped":
            done.set()

    watcher.on_event = on_event
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert first.wait(60), [e.kind + e.message for e in events]
        (save or Path.write_text)(change, text)
        assert done.wait(60), [e.kind + e.message for e in events]
    finally:
        watcher.stop()
        thread.join(10)
    return events


@pytest.mark.parametrize("polling", [False, True], ids=["file-events", "polling"])
def test_a_saved_file_is_graded_again(minikit: Path, polling: bool) -> None:
    catalog = Catalog(minikit)
    echo = catalog.get("01")
    settings = WatchSettings(**{**FAST.__dict__, "polling": polling, "max_grades": 2})
    watcher = Watcher(catalog, [echo], echo, on_event=lambda e: None, settings=settings)
    solved = (minikit / "solutions" / ECHO).read_text()
    events = run_watcher(watcher, minikit / "exercises" / ECHO, solved)
    results = [e for e in events if e.kind == "result"]
    assert [r.result.score for r in results] == [1, 5]  # type: ignore[union-attr]
    assert results[1].changed == ("echo/__init__.py",)
    assert watcher.mode == ("polling every 50 ms" if polling else "file events")
    assert events[-1].kind == "stopped"
    assert '"passed": true' in (minikit / ".kata" / "progress.json").read_text()  # progress recorded


def _save_like_sed_and_vim(path: Path, text: str) -> None:
    """`sed -i` writes a temporary `sedXXXXXX` and renames it over the file; vim probes with a file `4913`."""
    probe = path.parent / "4913"
    probe.write_text("")
    probe.unlink()
    temporary = path.parent / "sedy7DHjt"
    temporary.write_text(text)
    os.replace(temporary, path)


@pytest.mark.parametrize("polling", [False, True], ids=["file-events", "polling"])
def test_editor_temporary_files_are_not_the_change(minikit: Path, polling: bool) -> None:
    catalog = Catalog(minikit)
    echo = catalog.get("01")
    settings = WatchSettings(**{**FAST.__dict__, "polling": polling, "max_grades": 2})
    watcher = Watcher(catalog, [echo], echo, on_event=lambda e: None, settings=settings)
    solved = (minikit / "solutions" / ECHO).read_text()
    events = run_watcher(watcher, minikit / "exercises" / ECHO, solved, save=_save_like_sed_and_vim)
    results = [e for e in events if e.kind == "result"]
    assert [r.result.score for r in results] == [1, 5]  # type: ignore[union-attr]
    assert results[1].changed == ("echo/__init__.py",)


def test_a_save_in_another_kata_grades_that_kata(minikit: Path) -> None:
    catalog = Catalog(minikit)
    settings = WatchSettings(**{**FAST.__dict__, "max_grades": 2})
    watcher = Watcher(catalog, list(catalog.katas), catalog.get("01"), on_event=lambda e: None, settings=settings)
    events = run_watcher(watcher, minikit / "exercises" / "02-count" / "wc" / "__init__.py",
                         "def count(text):\n    return len(text.split())\n")
    graded = [(e.kata.id, e.result.score) for e in events if e.kind == "result"]  # type: ignore[union-attr]
    assert graded == [("01", 1), ("02", 2)]


def test_polling_notices_every_save_even_one_that_keeps_the_size(tmp_path: Path) -> None:
    from kata.learn.watch import polling_source

    module = tmp_path / "service.py"
    module.write_text("threshold = 0.1\n")
    (tmp_path / "__pycache__").mkdir()
    stop = threading.Event()
    changes = polling_source([tmp_path], WatchSettings(poll_delay_ms=20, step_ms=5, debounce_ms=30), stop)
    assert next(changes) == set()
    for n in range(2, 8):  # same size, within the same second: notify's poll watcher missed these
        module.write_text(f"threshold = 0.{n}\n")
        assert next(changes) == {module}
    (tmp_path / "__pycache__" / "service.cpython-311.pyc").write_bytes(b"cache")  # not a save of the learner's
    (tmp_path / "helpdesk.db").write_bytes(b"rows")
    assert next(changes) == set()
    stop.set()
    assert next(changes, None) is None


class FakeClock:
    """Time moves only when read: each look at the clock is 0.1 s later."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.1
        return self.now


def silent_events_then_real_polling(paths, polling, settings, stop):
    """File events that never arrive (a network share, say); polling is the real thing."""
    if polling:
        from kata.learn.watch import watchfiles_source

        yield from watchfiles_source(paths, polling, settings, stop)
    else:
        while not stop.is_set():
            yield set()


def test_without_file_events_the_watcher_polls(minikit: Path) -> None:
    catalog = Catalog(minikit)
    echo = catalog.get("01")
    settings = WatchSettings(**{**FAST.__dict__, "max_grades": 2, "probe_timeout": 1.0})
    watcher = Watcher(catalog, [echo], echo, on_event=lambda e: None, settings=settings,
                      source=silent_events_then_real_polling, clock=FakeClock())
    events = run_watcher(watcher, minikit / "exercises" / ECHO, (minikit / "solutions" / ECHO).read_text())
    notices = [e.message for e in events if e.kind == "notice"]
    assert any("file events do not arrive here" in n and "polling every 50 ms instead" in n for n in notices)
    assert watcher.mode == "polling every 50 ms"
    assert [e.result.score for e in events if e.kind == "result"] == [1, 5]  # type: ignore[union-attr]


def test_ctrl_c_leaves_cleanly_and_ends_the_warm_grader(minikit: Path) -> None:
    catalog = Catalog(minikit)
    echo = catalog.get("01")
    zygotes: list[int] = []

    def interrupted(paths, polling, settings, stop):
        probe = paths[-1] / "probe"
        yield {probe}  # the probe arrives: events work
        zygotes.extend(grader.pid for grader in watcher._warm)  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    events: list[WatchEvent] = []
    watcher = Watcher(catalog, [echo], echo, on_event=events.append, settings=FAST, source=interrupted)
    assert watcher.run() == 0
    assert [e.kind for e in events][-1] == "stopped" and watcher.grades == 1
    assert zygotes and not any(Path(f"/proc/{pid}").exists() for pid in zygotes)  # they ended with the watcher


def test_the_screen_shows_score_failures_hints_and_timing(minikit: Path, capsys) -> None:
    catalog = Catalog(minikit)
    echo = catalog.get("01")
    screen = WatchScreen(console(), catalog)
    result = runner.grade(echo, targets.exercise(echo))
    screen(WatchEvent("watching", mode="file events"))
    screen(WatchEvent("result", kata=echo, result=result, changed=("echo/__init__.py",), seconds=0.42))
    out = capsys.readouterr().out
    assert "kata watch · exercises/01-echo (file events) · Ctrl-C to stop" in out
    assert "01 Echo, louder  1/5" in out and "✘ Text comes back upper-cased" in out
    assert "hint: Upper-case the text." in out
    assert "graded 0.42 s after a change to echo/__init__.py" in out and "kata hint 01 (0 of 2 hints" in out
    shutil.copytree(minikit / "solutions" / "01-echo", minikit / "exercises" / "01-echo", dirs_exist_ok=True)
    screen(WatchEvent("result", kata=echo, result=runner.grade(echo, targets.exercise(echo)), changed=("x",)))
    assert "Full marks." in capsys.readouterr().out


def test_warm_grades_apply_resource_limits_like_the_launcher(minikit: Path, submission, warm: WarmGrader) -> None:
    from kata.host.sandbox import Isolation, Limits

    echo = Catalog(minikit).get("01")
    burner = "def shout(text):\n    while True:\n        try:\n            pass\n        except BaseException:\n" \
             "            pass\n" + GOOD_GREET
    target = targets.folder(echo, submission({ECHO: burner}, "f"))
    isolation = Isolation(limits=Limits(cpu_seconds=3), sandbox=False)
    cold = runner.grade(echo, target, runner.RunOptions(isolation=isolation))
    hot = runner.grade(echo, target, runner.RunOptions(isolation=isolation, warm=warm))
    assert summary(hot) == summary(cold)
    # The learner's process is killed by the CPU limit (SIGXCPU) before the check's 5 s deadline.
    shouts = next(c for c in hot.checks if c.id == "shouts")
    assert "killed by signal" in shouts.message and hot.problem is None


def test_kata_watch_on_the_command_line_stops_on_ctrl_c(minikit: Path) -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "kata", "--root", str(minikit), "watch", "01", "--poll"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if line.startswith("Save a file to grade again"):  # the first result is on screen
                break
        zygotes = [d.name for d in Path("/proc").iterdir() if d.name.isdigit() and _is_zygote_of(d, proc.pid)]
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in rest
    assert "01 Echo, louder  1/5" in "".join(seen) and "stopped watching after 1 grade(s)" in rest
    assert zygotes and not any(Path(f"/proc/{pid}").exists() for pid in zygotes)


def _is_zygote_of(proc_dir: Path, parent: int) -> bool:
    try:
        ppid = int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
        return ppid == parent and b"kata.grader.warm" in (proc_dir / "cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False
