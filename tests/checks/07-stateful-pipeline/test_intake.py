"""Hidden checks of kata 07, the staged nightly intake: checkpoints, resume, cache, failures, idempotent drafts.

Each check installs its own night in `tmp_path` (database, outbox, report folder) and runs the learner's
`run_nightly` on the kit's exports (fixtures/07-stateful-pipeline/data) or on a copy holding some of
their e-mails. Faults are injected by the grader: the learner's process is killed at a chosen request
(`kill_on`), a connection is dropped (`error_on`), or a recording answers 500 or a refusal. The checks
compare the requests sent, the rows of the `intake` table and the drafts in the outbox file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from intake_support import (
    ANSWERS,
    DAY1,
    DAY1_IDS,
    DAY2,
    DAY2_IDS,
    DRAFT,
    SAME_TEXT,
    Night,
    asked,
    expect_asked,
    expect_done,
    expect_drafts_once,
    inbox,
    one_each,
    run_counting,
)

from kata.checks import RemoteError, check, expect

NEW_VERSION = "2025-06-01"
OTHER_MODEL = "gpt-4.1-mini"
# The recorded answers for the new prompt version, and for the other model.
NEW_VERSION_ANSWERS = {
    "IN-20250603-0001": ("shipping", "Hi, thanks for your message about order 48213"),
    "IN-20250603-0002": ("billing", "Hi Ben, thanks for letting us know about the double charge"),
}
OTHER_MODEL_ANSWERS = {
    "IN-20250603-0004": ("technical", "Dear Tom, we are sorry the app closes"),
}
FIRST_RUN = "every e-mail of the export classified once and drafted once"
CHECKPOINT_HINT = ("Commit each e-mail's progress as soon as its stage is done for it (one transaction per "
                   "e-mail and stage), and start every run from what is stored.")
CACHE_HINT = ("Look every model request up first in a cache stored in settings.db_path, keyed on the stage, "
              "the e-mail's text with whitespace normalised, the model and the prompt version.")


def _answers(ids: list[str], table: dict[str, tuple[str, str]] = ANSWERS) -> dict[str, tuple[str, str]]:
    return {message_id: table[SAME_TEXT.get(message_id, message_id)] for message_id in ids}


def _first_run(night: Night, sent_requests: list[Any], inbox_path: Path, client: Any, ids: list[str],
               **fields: Any) -> None:
    _, made = run_counting(sent_requests, lambda: night.run(inbox_path, client, **fields),
                           "Classify each e-mail once and draft each classified e-mail once.", FIRST_RUN)
    expect_asked(made, one_each(ids), f"the first run of {inbox_path.stem}", FIRST_RUN,
                 "Classify each e-mail once (structured output) and draft a reply to each once (plain text).")


# --------------------------------------------------------------------------- checkpoints and resume


@check(
    "finished-day-makes-no-requests",
    "A re-run of a finished day makes no model request, also from a new process",
    points=2,
    cassette="finished-day",
    hint="Keep every answer in settings.db_path and look it up before asking the model.",
)
def test_finished_day(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                      tmp_path: Path) -> None:
    night = Night(learner, tmp_path)
    ids = DAY1_IDS[:3]
    day1 = inbox(kata_data, tmp_path / "inbox", DAY1, ids)
    _first_run(night, sent_requests, day1, openai_client(), ids)
    expect_done(night.rows(), _answers(ids), "the first run answered every e-mail")
    why = "the day is finished: every answer is already stored"
    _, again = run_counting(sent_requests, lambda: night.run(day1, openai_client()), CACHE_HINT, why)
    expect_asked(again, Counter(), f"a second run of {DAY1}", why, CACHE_HINT)
    learner.restart()  # tomorrow's cron, or an operator's re-run: a new process
    _, later = run_counting(sent_requests, lambda: night.run(day1, openai_client()), CACHE_HINT, why)
    expect_asked(later, Counter(), f"a run of {DAY1} in a new process",
                 "the answers are stored in settings.db_path, not in the process's memory",
                 "Keep the state (answers and progress) in the SQLite database of settings.db_path, so a new "
                 "process finds it.")
    expect_done(night.rows(), _answers(ids), "the re-runs keep the stored answers")


KILLED_DAY = DAY1_IDS[:4]  # the export the kill checks run: four e-mails


def _resume(night: Night, openai_client: Any, sent_requests: list[Any], day1: Path, kill: Any, where: str) -> None:
    night.killed_run(day1, openai_client(kill_on=kill), where)
    answered = asked(r for r in sent_requests if not kill(r))
    why = ("a request answered before the kill is not made again; the others (the killed one included) "
           "once each")
    wanted = one_each(KILLED_DAY) - answered
    _, after = run_counting(sent_requests, lambda: night.run(day1, openai_client()), CHECKPOINT_HINT, why)
    expect_asked(after, wanted, f"the run after the process was killed at {where}", why, CHECKPOINT_HINT)
    expect_done(night.rows(), _answers(KILLED_DAY), "the run after the kill finished the day")
    expect_drafts_once(night.drafts(), KILLED_DAY, "the day is finished, after a kill and a new run")


@check(
    "resume-after-kill-in-classification",
    "A run killed during the classifications resumes where it stopped",
    points=3,
    cassette="kill-in-classification",
    hint=CHECKPOINT_HINT,
)
def test_resume_in_classification(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                                  tmp_path: Path) -> None:
    target = "IN-20250603-0003"
    _resume(Night(learner, tmp_path), openai_client, sent_requests,
            inbox(kata_data, tmp_path / "inbox", DAY1, KILLED_DAY),
            lambda r: r.structured and target in r.records, f"the classification request of {target}")


@check(
    "resume-after-kill-in-drafting",
    "A run killed while drafting replies resumes where it stopped",
    points=3,
    cassette="kill-in-drafting",
    hint=CHECKPOINT_HINT,
)
def test_resume_in_drafting(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                            tmp_path: Path) -> None:
    target = "IN-20250603-0002"
    _resume(Night(learner, tmp_path), openai_client, sent_requests,
            inbox(kata_data, tmp_path / "inbox", DAY1, KILLED_DAY),
            lambda r: not r.structured and target in r.records, f"the drafting request of {target}")


# --------------------------------------------------------------------------- the cache


@check(
    "cache-keyed-on-normalised-text",
    "An e-mail whose text differs from an answered one by whitespace only makes no request; another text does",
    points=3,
    cassette="normalised-text",
    hint=CACHE_HINT,
)
def test_normalised_text(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                         tmp_path: Path) -> None:
    night = Night(learner, tmp_path)
    first = sorted(set(SAME_TEXT.values()) & set(DAY1_IDS))  # the day-1 e-mails day 2 repeats
    _first_run(night, sent_requests, inbox(kata_data, tmp_path / "inbox", DAY1, first), openai_client(), first)
    new = [mid for mid in DAY2_IDS if mid not in SAME_TEXT]
    why = (f"{', '.join(sorted(SAME_TEXT))} differ from {', '.join(sorted(set(SAME_TEXT.values())))} "
           f"(earlier that night or the night before) by whitespace only; {', '.join(new)} are new texts")
    hint = ("Key the cache on the e-mail's subject and body with every run of whitespace made one (not on the "
            "message id, not on the raw text), plus the model and the prompt version.")
    _, made = run_counting(sent_requests, lambda: night.run(inbox(kata_data, tmp_path, DAY2), openai_client()),
                           hint, why)
    expect_asked(made, one_each(new), f"the run of {DAY2}", why, hint)
    expect_done(night.rows(), _answers(DAY2_IDS), "an e-mail with the same text gets the same answers")
    expect_drafts_once(night.drafts(), first + DAY2_IDS, "every e-mail of both nights has its own draft")


def _version_or_model(night: Night, sent_requests: list[Any], inbox_path: Path, openai_client: Any, ids: list[str],
                      change: dict[str, Any], changed: str, answers: dict[str, tuple[str, str]], hint: str) -> None:
    _first_run(night, sent_requests, inbox_path, openai_client(), ids)
    why = f"the {changed} is part of the cache key: no answer exists for it yet"
    _, made = run_counting(sent_requests, lambda: night.run(inbox_path, openai_client(), **change), hint, why)
    expect_asked(made, one_each(ids), f"a run of the finished day with another {changed}", why, hint)
    expect_done(night.rows(), answers, f"the rows hold the answers for this run's {changed}")
    again = f"the answers for this {changed} are stored now"
    _, twice = run_counting(sent_requests, lambda: night.run(inbox_path, openai_client(), **change), hint, again)
    expect_asked(twice, Counter(), f"a second run with that {changed}", again, hint)
    back = f"the answers for the first {changed} are still in the cache"
    _, rollback = run_counting(sent_requests, lambda: night.run(inbox_path, openai_client()), hint, back)
    expect_asked(rollback, Counter(), f"a run with the first {changed} again (a roll-back)", back,
                 "Keep one cache entry per key: a new model or prompt version adds entries, it never replaces "
                 "the old ones.")
    expect_done(night.rows(), _answers(ids), f"after the roll-back the rows hold the first {changed}'s answers again")


@check(
    "prompt-version-change-re-asks",
    "A new prompt version asks the model again; going back to the old one finds its answers",
    points=2,
    cassette="prompt-version",
    hint=CACHE_HINT,
)
def test_prompt_version(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                        tmp_path: Path) -> None:
    ids = list(NEW_VERSION_ANSWERS)
    _version_or_model(Night(learner, tmp_path), sent_requests, inbox(kata_data, tmp_path / "inbox", DAY1, ids),
                      openai_client, ids, {"prompt_version": NEW_VERSION}, "prompt version", NEW_VERSION_ANSWERS,
                      "Put settings.prompt_version in the cache key of every stage.")


@check(
    "model-change-re-asks",
    "Another model is asked again; going back to the first model finds its answers",
    points=1,
    cassette="model-change",
    hint=CACHE_HINT,
)
def test_model_change(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                      tmp_path: Path) -> None:
    ids = list(OTHER_MODEL_ANSWERS)
    before = len(sent_requests)
    _version_or_model(Night(learner, tmp_path), sent_requests, inbox(kata_data, tmp_path / "inbox", DAY1, ids),
                      openai_client, ids, {"model": OTHER_MODEL}, "model", OTHER_MODEL_ANSWERS,
                      "Put settings.model in the cache key of every stage, and send it as the request's model.")
    models = Counter(r.model for r in sent_requests[before:])
    expect(
        models == Counter({"gpt-4o-mini": 2 * len(ids), OTHER_MODEL: 2 * len(ids)}),
        observed="requests per model: " + ", ".join(f"{m}: {n}" for m, n in sorted(models.items(), key=str)),
        expected=f"{2 * len(ids)} with the default model gpt-4o-mini, then {2 * len(ids)} with {OTHER_MODEL}",
        hint="Send settings.model as the model of every request.",
    )


# --------------------------------------------------------------------------- failures


FAILING = {
    "IN-20250603-0002": "its classification request lost its connection",
    "IN-20250603-0004": "its drafting request was answered 500",
    "IN-20250603-0005": "the model refused to classify it",
}
UNCLASSIFIED = ("IN-20250603-0002", "IN-20250603-0005")  # no draft request for these
FAILED_DAY = DAY1_IDS[1:]  # the export of the failure checks: the first e-mail fails, the third goes through
FAILURE_HINT = ("Catch the failure of one e-mail's request (an API error, a refusal, an unusable answer), record "
                "it on that e-mail's row with status 'failed' and the reason, and go on with the next e-mail.")


def _failing_run(night: Night, openai_client: Any, sent_requests: list[Any], day1: Path) -> None:
    """Day 1 with three failures; expect the run to finish, the failures recorded and the others done."""
    lost = "IN-20250603-0002"
    client = openai_client(error_on=lambda r: r.structured and lost in r.records)
    why = "each e-mail's request once; no draft for an e-mail whose classification failed"
    try:
        _, made = run_counting(sent_requests, lambda: night.run(day1, client), FAILURE_HINT, why)
    except RemoteError as err:
        if err.is_a("NoRecordingMatched"):
            raise
        expect(
            False,
            observed=f"the run stopped with {err.type_name}: {err.text.splitlines()[0] if err.text else ''}",
            expected="the run goes on after a failed e-mail and returns: "
            + "; ".join(f"{mid}: {what}" for mid, what in FAILING.items()),
            hint=FAILURE_HINT,
        )
        raise
    wanted = one_each(FAILED_DAY) - Counter({(mid, DRAFT): 1 for mid in UNCLASSIFIED})
    expect_asked(made, wanted, f"the run of {DAY1} with three failures", why,
                 "Send each request once per run, and draft only the e-mails that were classified.")
    rows = night.rows()
    for message_id, what in FAILING.items():
        row = rows.get(message_id) or {}
        expect(
            row.get("status") == "failed" and str(row.get("error") or "").strip(),
            observed=f"{message_id}: status={row.get('status')!r}, error={row.get('error')!r}",
            expected=f"status 'failed' and the reason in error: {what}",
            hint=FAILURE_HINT,
        )
    expect_done(rows, _answers([mid for mid in FAILED_DAY if mid not in FAILING]), "the other e-mails went on")
    expect_drafts_once(night.drafts(), [mid for mid in FAILED_DAY if mid not in FAILING],
                       "a failed e-mail has no draft (yet)")


@check(
    "failed-items-recorded-run-goes-on",
    "A failed e-mail is recorded with its reason, and the others go on",
    points=3,
    cassette="failed-items",
    hint=FAILURE_HINT,
)
def test_failed_items(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                      tmp_path: Path) -> None:
    _failing_run(Night(learner, tmp_path), openai_client, sent_requests,
                 inbox(kata_data, tmp_path / "inbox", DAY1, FAILED_DAY))


@check(
    "retry-retries-only-failed-items",
    "The next run retries only the failed e-mails, from the stage that failed",
    points=3,
    cassette="retry-failed",
    hint="A run makes requests only for what is missing: a failed e-mail is retried, a done one is not, and an "
    "e-mail whose draft failed keeps its classification.",
)
def test_retry_failed(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                      tmp_path: Path) -> None:
    night = Night(learner, tmp_path)
    day1 = inbox(kata_data, tmp_path / "inbox", DAY1, FAILED_DAY)
    _failing_run(night, openai_client, sent_requests, day1)
    why = "only the failed e-mails, each from the stage that failed: IN-20250603-0004's classification is kept"
    hint = "Retry a failed e-mail in the next run (never mark it as finished), and keep what its stages got before."
    _, made = run_counting(sent_requests, lambda: night.run(day1, openai_client()), hint, why)
    wanted = one_each(UNCLASSIFIED) + Counter({("IN-20250603-0004", DRAFT): 1})
    expect_asked(made, wanted, f"the next run of {DAY1}", why, hint)
    expect_done(night.rows(), _answers(FAILED_DAY), "the retry succeeded, so no error is left on any row")
    expect_drafts_once(night.drafts(), FAILED_DAY, "every e-mail has been drafted once, in one run or the other")
    finished = "every e-mail is done now"
    _, last = run_counting(sent_requests, lambda: night.run(day1, openai_client()), CACHE_HINT, finished)
    expect_asked(last, Counter(), f"one more run of {DAY1}", finished, CACHE_HINT)


# --------------------------------------------------------------------------- side effects and requests


@check(
    "drafts-written-once",
    "Each e-mail's draft is written to the outbox once, whatever the number of runs",
    points=2,
    cassette="drafts-once",
    hint="Note in the database that an e-mail's draft is in the outbox, and never write it again.",
)
def test_drafts_once(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path,
                     tmp_path: Path) -> None:
    night = Night(learner, tmp_path)
    ids = ["IN-20250603-0001"]
    first = {mid: ANSWERS[mid][1] for mid in ids}
    day = inbox(kata_data, tmp_path / "inbox", DAY1, ids)
    _first_run(night, sent_requests, day, openai_client(), ids)
    expect_drafts_once(night.drafts(), ids, "after the first run", first)
    stored = "the day is finished: every answer is already stored"
    for restart in (False, True):
        if restart:
            learner.restart()
        _, made = run_counting(sent_requests, lambda: night.run(day, openai_client()), CACHE_HINT, stored)
        expect_asked(made, Counter(), "a re-run of the day" + (" in a new process" if restart else ""), stored,
                     CACHE_HINT)
    expect_drafts_once(night.drafts(), ids, "after three runs of the same day (the last one in a new process)", first)
    redraft = "the prompt version is new, so the e-mail is classified and drafted again"
    _, made = run_counting(sent_requests, lambda: night.run(day, openai_client(), prompt_version=NEW_VERSION),
                           CACHE_HINT, redraft)
    expect_asked(made, one_each(ids), "a run with a new prompt version", redraft, CACHE_HINT)
    expect_drafts_once(night.drafts(), ids, "a run with a new prompt version drafts again, but the agents already "
                       "have a draft: it is not written a second time", first)


@check(
    "requests-have-a-timeout",
    "Every model request has an explicit time-out of at most settings.request_timeout",
    points=1,
    cassette="timeout",
    hint="Pass timeout=settings.request_timeout to each request (or use client.with_options(timeout=...)).",
)
def test_timeout(learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path) -> None:
    night = Night(learner, tmp_path)
    client = openai_client(sdk_defaults=True)  # as openai.OpenAI() builds it: 600 s unless told otherwise
    for day, message_id, fields, limit in ((DAY1, "IN-20250603-0001", {}, 30.0),
                                           (DAY2, "IN-20250604-0004", {"request_timeout": 5.0}, 5.0)):
        before = len(sent_requests)
        night.run(inbox(kata_data, tmp_path / day, day, [message_id]), client, **fields)
        made = sent_requests[before:]
        setting = f"request_timeout={limit:g}" + ("" if fields else " (the default)")
        expect(
            len(made) == 2 and all(r.timeout is not None and 0 < r.timeout <= limit + 1e-6 for r in made),
            observed=f"with {setting}, {len(made)} request(s) sent with time-outs of "
            + (", ".join("none" if r.timeout is None else f"{r.timeout:g} s" for r in made) or "-"),
            expected=f"two requests (a classification and a draft), each with a time-out of at most {limit:g} s, "
            "not the SDK's 600 s",
            hint="Give every request timeout=settings.request_timeout; its default is 30 seconds.",
        )
