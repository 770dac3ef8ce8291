"""Broken, hanging and hostile submissions: each gets a clear message and a score, never a traceback.

Every submission starts from the mini kit's reference solutions (full marks) and breaks one thing,
so a passing check elsewhere proves that grading went on.
"""

from pathlib import Path

from conftest import load_json, marked_processes

ECHO = "01-echo/echo/__init__.py"
GOOD_GREET = '''
def greet(client, ref, model="gpt-4o-mini"):
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Hi {ref}"}])
    return answer.choices[0].message.content or ""
'''


def grade(kata_cli, minikit: Path, target: Path, tmp_path: Path, *extra: str) -> tuple[int, str, dict]:
    out_file = tmp_path / "results.json"
    code, out = kata_cli("--root", minikit, "grade", "--target", target, "--json", out_file, *extra)
    return code, out, {k["id"]: k for k in load_json(out_file)["katas"]}


def checks_of(kata: dict) -> dict[str, dict]:
    return {c["id"]: c for c in kata["checks"]}


def test_syntax_error_is_reported_with_file_and_line(kata_cli, minikit, submission, tmp_path) -> None:
    target = submission({ECHO: "def shout(text:\n    return text\n"})
    code, out, katas = grade(kata_cli, minikit, target, tmp_path)
    assert code == 1 and "Traceback" not in out
    echo = checks_of(katas["01"])
    assert echo["shouts"]["status"] == "error"
    assert "does not compile" in echo["shouts"]["message"] and "echo/__init__.py:1" in echo["shouts"]["message"]
    # One legacy test file imports the broken module, the other does not: still a clear failure.
    assert echo["existing-tests"]["status"] == "failed"
    assert "test_echo.py could not be loaded" in echo["existing-tests"]["message"]
    assert "Kit problem" not in katas["01"]["message"]
    assert katas["01"]["score"] == 0
    assert katas["02"]["score"] == katas["02"]["max_score"]  # the other kata is still graded


def test_import_error_names_the_learners_file(kata_cli, minikit, submission, tmp_path) -> None:
    target = submission({ECHO: "import no_such_module\n" + GOOD_GREET})
    _, _, katas = grade(kata_cli, minikit, target, tmp_path)
    message = checks_of(katas["01"])["shouts"]["message"]
    assert "could not be imported: ModuleNotFoundError" in message and "echo/__init__.py:1" in message


def test_infinite_loop_costs_only_its_check(kata_cli, minikit, submission, tmp_path) -> None:
    target = submission({ECHO: "def shout(text):\n    while True:\n        pass\n" + GOOD_GREET})
    _, _, katas = grade(kata_cli, minikit, target, tmp_path)
    echo = checks_of(katas["01"])
    assert echo["shouts"]["status"] == "error" and "did not finish within 5 s" in echo["shouts"]["message"]
    assert echo["greets"]["status"] == "passed"


def test_loop_that_swallows_every_exception_costs_only_its_check(kata_cli, minikit, submission, tmp_path) -> None:
    # The deadline is the grader's: the learner host is killed, there is no alarm in it to swallow.
    stubborn = (
        "def shout(text):\n    while ' ' in text:\n        try:\n            while True:\n                pass\n"
        "        except BaseException:\n            pass\n    return text.upper()\n"
    )
    target = submission({ECHO: stubborn + GOOD_GREET})
    code, out, katas = grade(kata_cli, minikit, target, tmp_path, "--timeout", "20")
    assert code == 1 and "Traceback" not in out
    echo = checks_of(katas["01"])
    assert "did not finish within 5 s" in echo["shouts"]["message"]
    assert echo["existing-tests"]["status"] == "passed"
    assert echo["greets"]["status"] == "passed" and echo["model-configurable"]["status"] == "passed"
    assert katas["01"]["problem"] is None and katas["02"]["score"] == katas["02"]["max_score"]


def test_os_exit_costs_only_its_check(kata_cli, minikit, submission, tmp_path) -> None:
    code = "import os\n\ndef shout(text):\n    return text.upper()\n\ndef greet(client, ref, model='m'):\n" \
           "    os._exit(3)\n"
    _, _, katas = grade(kata_cli, minikit, submission({ECHO: code}), tmp_path)
    echo = checks_of(katas["01"])
    assert echo["shouts"]["status"] == "passed"
    assert "your code ended its process with exit code 3 during this check" in echo["greets"]["message"]
    # Every check has a learner process of its own: the next one runs as usual.
    assert "ended its process with exit code 3" in echo["model-configurable"]["message"]
    assert katas["01"]["score"] == 3


def test_sys_exit_is_a_clear_error(kata_cli, minikit, submission, tmp_path) -> None:
    code = "import sys\n\ndef shout(text):\n    sys.exit(0)\n" + GOOD_GREET
    _, _, katas = grade(kata_cli, minikit, submission({ECHO: code}), tmp_path)
    echo = checks_of(katas["01"])
    assert "called sys.exit(0)" in echo["shouts"]["message"]
    assert echo["greets"]["status"] == "passed"


def test_printed_results_change_nothing(kata_cli, minikit, submission, tmp_path) -> None:
    printer = 'print(\'{"kind": "result", "id": "shouts", "status": "passed"}\')\n\ndef shout(text):\n' \
              '    return text\n' + GOOD_GREET
    _, _, katas = grade(kata_cli, minikit, submission({ECHO: printer}), tmp_path)
    assert checks_of(katas["01"])["shouts"]["status"] == "failed"


def test_submission_config_and_tests_are_ignored(kata_cli, minikit, submission, tmp_path) -> None:
    skip_all = "import pytest\n\ndef pytest_collection_modifyitems(items):\n" \
               "    for i in items:\n        i.add_marker(pytest.mark.skip)\n"
    target = submission({
        ECHO: "def shout(text):\n    return text\n" + GOOD_GREET,
        "01-echo/conftest.py": skip_all,
        "01-echo/pytest.ini": "[pytest]\naddopts = -p no:kata.grader.plugin --co\n",
        "01-echo/pyproject.toml": "[tool.pytest.ini_options]\naddopts = '--co'\n",
        "01-echo/tests/test_echo.py": "def test_fine():\n    assert True\n",
    })
    _, _, katas = grade(kata_cli, minikit, target, tmp_path)
    echo = checks_of(katas["01"])
    assert echo["shouts"]["status"] == "failed"  # the conftest did not skip it
    assert echo["existing-tests"]["status"] == "passed"  # the kit's own copy ran


def test_edited_legacy_tests_cannot_hide_a_regression(kata_cli, minikit, submission, tmp_path) -> None:
    target = submission({
        ECHO: "def shout(text):\n    return (text or 'X').upper()\n" + GOOD_GREET,
        "01-echo/tests/test_echo.py": "def test_nothing():\n    pass\n",
    })
    _, _, katas = grade(kata_cli, minikit, target, tmp_path)
    existing = checks_of(katas["01"])["existing-tests"]
    assert existing["status"] == "failed" and "test_empty_stays_empty" in existing["message"]


def test_learners_endpoint_variables_are_ignored(kata_cli, minikit, submission, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.255.255.1:9/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-learner")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, _, katas = grade(kata_cli, minikit, submission({}), tmp_path)
    assert code == 0 and katas["01"]["score"] == 5


def test_real_network_is_blocked_while_grading(kata_cli, minikit, submission, tmp_path) -> None:
    sneaky = "import socket\n\ndef shout(text):\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n" \
             "    return text.upper()\n" + GOOD_GREET
    _, _, katas = grade(kata_cli, minikit, submission({ECHO: sneaky}), tmp_path)
    shouts = checks_of(katas["01"])["shouts"]
    assert shouts["status"] == "error" and "Traceback" not in shouts["message"]
    assert "network" in shouts["message"].lower() or "Blocked" in shouts["message"]


def test_unmatched_request_says_what_differed_never_the_prompt(kata_cli, minikit, submission, tmp_path) -> None:
    literal = "def shout(text):\n    return text.upper()\n\ndef greet(client, ref, model='x'):\n" \
              "    r = client.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': ref}])\n" \
              "    return r.choices[0].message.content\n"
    _, out, katas = grade(kata_cli, minikit, submission({ECHO: literal}), tmp_path)
    message = checks_of(katas["01"])["greets"]["message"]
    assert "model: sent 'gpt-4o', recorded 'gpt-4o-mini'" in message
    assert "Be brief." not in out and "Greet REC-1" not in out  # the reference prompt stays hidden


def test_background_processes_do_not_outlive_grading(kata_cli, minikit, submission, tmp_path) -> None:
    spawner = "import subprocess\n\ndef shout(text):\n    subprocess.Popen(['sleep', '300.5'])\n" \
              "    return text.upper()\n" + GOOD_GREET
    grade(kata_cli, minikit, submission({ECHO: spawner}), tmp_path)
    assert marked_processes("sleep 300.5") == []


def test_a_submission_without_one_kata_is_graded_for_the_others(kata_cli, minikit, submission, tmp_path) -> None:
    import shutil

    target = submission({})
    shutil.rmtree(target / "exercises" / "02-count")
    code, out, katas = grade(kata_cli, minikit, target, tmp_path)
    assert code == 1 and "Traceback" not in out
    assert katas["01"]["score"] == katas["01"]["max_score"]
    assert katas["02"]["status"] == "error" and katas["02"]["score"] == 0
    assert "could not be copied (no folder" in katas["02"]["checks"][0]["message"]


def test_a_request_nested_too_deep_to_read_is_just_unmatched(kata_cli, minikit, submission, tmp_path) -> None:
    # 5,000 levels: the learner's process can write it, the grader's JSON reader gives up at 1,000.
    deep = '''
import sys


def shout(text):
    return text.upper()


def greet(client, ref, model="gpt-4o-mini"):
    sys.setrecursionlimit(20000)
    deep = []
    for _ in range(5000):
        deep = [deep]
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Hi {ref}"}],
                                            extra_body={"deep": deep})
    return answer.choices[0].message.content or ""
'''
    code, out, katas = grade(kata_cli, minikit, submission({ECHO: deep}), tmp_path)
    assert code == 1 and "Traceback" not in out and "RecursionError" not in out
    echo = checks_of(katas["01"])
    assert "no recording matches a request your code sent" in echo["greets"]["message"]
    assert echo["greets"]["points"] == 0 and echo["shouts"]["status"] == "passed"
    assert katas["01"]["problem"] is None and katas["02"]["score"] == katas["02"]["max_score"]
