"""Hidden checks of kata 02, incident summaries: a prepared timeline, summarised within a token budget.

Each check builds its own database in `tmp_path`, so incidents are INC-2001, INC-2002, ... in the
order they are opened, and timelines come from the exports in the kata's data folder through the
legacy importer. What a check expects (the prepared timeline, the number of chunks, the size of a
request) is computed from that data with the brief's rules, written out in `summaries_support`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import summaries_support as s

from kata.checks import check, expect

# Raw events for the preparation check: (timestamp text as received, source, message).
RAW_EVENTS = [
    ("2024-03-05T14:02:11Z", "pagerduty", "Triggered: checkout-api 5xx rate above 5%"),
    ("2024-03-05T15:06:20+01:00", "grafana", "payments-gateway pool exhausted"),
    ("1709647412.339209", "slack", "  ack, looking  "),
    ("Tue, 05 Mar 2024 09:10:00 -0500", "statuspage", "Investigating - checkout errors"),
    ("2024-03-05 14:05", "manual", "Incident declared"),
    ("2024-03-05T14:06:20Z", "grafana", "payments-gateway pool exhausted"),
    ("2024-03-05T14:02:11Z", "pagerduty", "Triggered: checkout-api 5xx rate above 5%"),
    ("1709647500.5", "slack", ""),
    ("2024-03-05 14:07:30", "manual", "   "),
    ("2024-03-05T08:58:40-05:00", "grafana", "checkout-api p99 latency above 2s"),
]


def _load(learner: Any, data: Path, spec: dict[str, Any], client: Any, tmp_path: Path,
          budget: tuple[int, int] = s.ROOMY, model: str = s.DEFAULT_MODEL) -> tuple[Any, Any, list[s.Row]]:
    svc = s.service(learner, tmp_path / "oncall.db", client, budget=budget, model=model)
    incident = s.open_incident(svc, spec, data)
    return svc, incident, s.prepared(s.read_export(data / spec["file"]))


def _about(sent: list[Any], ref: str) -> list[Any]:
    return [r for r in sent if ref in r.records]


def _records_ok(sent: list[Any], ref: str) -> None:
    for request in sent:
        expect(
            request.records == (ref,),
            observed=f"request {request.index + 1} mentions {', '.join(request.records) or 'no incident id'} "
            "in its user message",
            expected=f"every request about {ref} carries {ref} (and no other incident) in its user message",
            hint="Put the incident's ref (e.g. INC-2001) in the user message of every request.",
        )
        expect(
            request.method == "POST" and request.path.endswith("/chat/completions"),
            observed=f"request {request.index + 1} went to {request.method} {request.path}",
            expected="POST /v1/chat/completions (the Chat Completions API)",
            hint="Use client.chat.completions.create(...).",
        )


def _map_reduce_shape(sent: list[Any], ref: str, chunks: int) -> None:
    """chunks + 1 requests: the chunk requests not streamed, the last one streamed."""
    expect(
        len(sent) == chunks + 1,
        observed=f"{len(sent)} model request(s) for a timeline that makes {chunks} chunks by the brief's rule",
        expected=f"{chunks + 1} requests: one per chunk, then one that combines the {chunks} chunk summaries",
        hint="Split the prepared timeline with the chunking rule of the brief (greedy, in time order, "
        "settings.chunk_tokens), summarise each chunk, then combine the summaries.",
    )
    _records_ok(sent, ref)
    streamed = [r.index + 1 for r in sent if r.stream]
    expect(
        streamed == [len(sent)],
        observed=f"streamed requests: {streamed or 'none'} of {len(sent)}",
        expected=f"only the last request (number {len(sent)}, the combined summary) is streamed",
        hint="Chunk summaries are plain create() calls; the final summary uses stream=True.",
    )


# --------------------------------------------------------------------------- checks


@check(
    "timeline-is-prepared",
    "prepare_timeline gives the events in UTC and time order, without duplicates or empty events",
    points=3,
    cassette="timeline-is-prepared",
    hint="Write oncall/timeline.py with prepare_timeline(events) returning a pandas DataFrame.",
)
def test_timeline_is_prepared(learner: Any, tmp_path: Path) -> None:
    import pandas as pd

    # Only the legacy API here, so this check does not depend on the new settings.
    svc = learner.load("oncall.service").OncallService(s.repository(learner, tmp_path / "oncall.db"))
    incident = svc.open_incident("checkout: elevated 5xx", 2, datetime(2024, 3, 5, 14, 2, tzinfo=UTC))
    for at, source, message in RAW_EVENTS:
        svc.log_event(incident.id, at, source, message)
    prepare = learner.load("oncall.timeline").prepare_timeline
    frame = prepare(svc.repo.events_for(incident.id))
    expect(
        isinstance(frame, pd.DataFrame) and {"at", "source", "message"} <= set(frame.columns),
        observed=f"prepare_timeline returned {type(frame).__name__}"
        + (f" with columns {list(frame.columns)}" if isinstance(frame, pd.DataFrame) else ""),
        expected="a pandas DataFrame with the columns at, source and message",
        hint="Build a DataFrame from the events (one row per event) and keep those three columns.",
    )
    dtype = frame["at"].dtype
    expect(
        isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC",
        observed=f"the column `at` has dtype {dtype}",
        expected="timezone-aware datetimes in UTC (e.g. datetime64[ns, UTC])",
        hint="pd.to_datetime(..., utc=True) converts every zone to UTC; epoch seconds need unit='s'.",
    )
    want = s.prepared(RAW_EVENTS)
    got = [(pd.Timestamp(at).floor("s").to_pydatetime(), str(source), str(message))
           for at, source, message in zip(frame["at"], frame["source"], frame["message"], strict=True)]
    want_rows = [(r.at.replace(microsecond=0), r.source, r.message) for r in want]

    def show(rows: list[tuple[datetime, str, str]]) -> str:
        return "; ".join(f"{at:%H:%M:%S} {source} {message!r}" for at, source, message in rows)

    expect(
        len(got) == len(want_rows),
        observed=f"{len(got)} rows: {show(got)}",
        expected=f"{len(want_rows)} rows: the {len(RAW_EVENTS)} stored events without the 2 duplicates "
        "(same instant, source and message, even in another format) and the 2 empty ones",
        hint="Strip messages, drop the empty ones, and drop duplicates after the timestamps are parsed.",
    )
    expect(
        got == want_rows,
        observed=f"rows (UTC): {show(got)}",
        expected=f"rows (UTC): {show(want_rows)}",
        hint="Convert every format to UTC (offsets, 'Z', RFC 2822, epoch seconds; no zone means UTC), "
        "strip the messages, and sort by time.",
    )


@check(
    "short-timeline-one-call",
    "A timeline that fits one chunk is summarised in one streamed request",
    points=2,
    cassette="short-timeline",
    hint="When the whole prepared timeline fits in settings.chunk_tokens, make one streamed request.",
)
def test_short_timeline_one_call(learner: Any, openai_client: Any, sent_requests: list[Any],
                                 kata_data: Path, tmp_path: Path) -> None:
    svc, incident, rows = _load(learner, kata_data, s.DNS, openai_client(), tmp_path)
    s.digest(svc, incident.id, s.recording_out(learner))
    expect(
        len(sent_requests) == 1,
        observed=f"{len(sent_requests)} model requests for a timeline of {len(rows)} events that fits one chunk",
        expected="exactly one request",
        hint="Split only when the timeline is larger than settings.chunk_tokens.",
    )
    _records_ok(sent_requests, incident.ref)
    request = sent_requests[0]
    expect(
        request.stream,
        observed="the request was not streamed",
        expected="stream=True: this request writes the final summary",
        hint="Call chat.completions.create(..., stream=True) and write the pieces to `out` as they come.",
    )
    size, budget = s.request_tokens(request.body), s.ROOMY[1]
    expect(
        size <= budget,
        observed=f"the request is {size} tokens by the brief's estimate",
        expected=f"at most settings.max_request_tokens = {budget}",
        hint="A request's size is the sum over its messages of 4 + estimate_tokens(content); keep your own text short.",
    )
    text = request.user_text
    counts = {r.message: text.count(r.message) for r in rows}
    wrong = {m: n for m, n in counts.items() if n != 1}
    expect(
        not wrong,
        observed="in the user message: " + "; ".join(f"{s.short(m)!r} {n} time(s)" for m, n in wrong.items()),
        expected="each of the timeline's events once (duplicates and empty events dropped)",
        hint="Send the prepared timeline: every usable event once, its message as written.",
    )
    order = [r for _, r in s.events_in(text, rows)]
    expect(
        order == rows,
        observed="events in the user message in this order: " + "; ".join(s.short(r.message, 40) for r in order),
        expected="events in time order (UTC): " + "; ".join(s.short(r.message, 40) for r in rows),
        hint="Sort the events by their UTC time before writing them into the request.",
    )


@check(
    "long-timeline-map-reduce",
    "A long timeline is summarised in chunks, then the chunk summaries are combined",
    points=3,
    cassette="long-timeline",
    hint="Summarise each chunk with one request, then combine the chunk summaries with one streamed request.",
)
def test_long_timeline_map_reduce(learner: Any, openai_client: Any, sent_requests: list[Any],
                                  kata_data: Path, tmp_path: Path) -> None:
    svc, incident, rows = _load(learner, kata_data, s.CHECKOUT, openai_client(), tmp_path)
    chunks = s.chunks_of(rows, s.ROOMY[0])
    s.digest(svc, incident.id, s.recording_out(learner))
    _map_reduce_shape(sent_requests, incident.ref, len(chunks))
    parts = sent_requests[:-1]
    for row in rows:
        seen = sum(r.user_text.count(row.message) for r in parts)
        expect(
            seen == 1,
            observed=f"the event {s.short(row.message)!r} appears {seen} time(s) in the chunk requests",
            expected="every event of the prepared timeline in exactly one chunk request, once",
            hint="Each chunk request carries the lines of its chunk only; duplicates are dropped beforehand.",
        )


@check(
    "requests-within-budget",
    "Every request stays within settings.max_request_tokens",
    points=2,
    cassette="tight-budget",
    hint="Chunk the sorted timeline with settings.chunk_tokens (the brief's rule) and measure each request "
    "with oncall.tokens.estimate_chat_tokens before sending it.",
)
def test_requests_within_budget(learner: Any, openai_client: Any, sent_requests: list[Any],
                                kata_data: Path, tmp_path: Path) -> None:
    chunk_tokens, max_tokens = s.TIGHT
    svc, incident, rows = _load(learner, kata_data, s.CHECKOUT, openai_client(), tmp_path, budget=s.TIGHT)
    chunks = s.chunks_of(rows, chunk_tokens)
    s.digest(svc, incident.id, s.recording_out(learner))
    sizes = [s.request_tokens(r.body) for r in sent_requests]
    expect(
        sizes and max(sizes) <= max_tokens,
        observed=f"request sizes {sizes} (estimated tokens) with max_request_tokens={max_tokens}, "
        f"chunk_tokens={chunk_tokens}",
        expected=f"every request at most {max_tokens} tokens by the brief's estimate",
        hint="A request's size is the sum over its messages of 4 + estimate_tokens(content); keep the "
        "timeline of one request within settings.chunk_tokens and your own text short.",
    )
    _map_reduce_shape(sent_requests, incident.ref, len(chunks))


@check(
    "chunks-in-order",
    "Chunks follow the timeline's order, and their summaries are combined in that order",
    points=2,
    cassette="chunks-in-order",
    hint="Chunk the timeline after sorting it, send the chunks oldest first, and combine the summaries in order.",
)
def test_chunks_in_order(learner: Any, openai_client: Any, sent_requests: list[Any],
                         kata_data: Path, tmp_path: Path) -> None:
    svc, incident, rows = _load(learner, kata_data, s.CHECKOUT, openai_client(), tmp_path)
    chunks = s.chunks_of(rows, s.ROOMY[0])
    s.digest(svc, incident.id, s.recording_out(learner))
    _map_reduce_shape(sent_requests, incident.ref, len(chunks))
    position = {row: n for n, row in enumerate(rows)}
    seen: list[s.Row] = []
    for number, request in enumerate(sent_requests[:-1], 1):
        found = [row for _, row in s.events_in(request.user_text, rows)]
        expect(
            [position[r] for r in found] == sorted(position[r] for r in found),
            observed=f"chunk request {number} lists its events in this order: "
            + "; ".join(f"{r.at:%H:%M:%S} {s.short(r.message, 30)}" for r in found),
            expected="the events of a chunk in time order (UTC)",
            hint="Sort the prepared timeline by its UTC times before chunking.",
        )
        seen += found
    expect(
        [position[r] for r in seen] == sorted(position[r] for r in seen),
        observed="over the chunk requests, in the order they were sent, events go back in time (e.g. "
        + next((f"{b.at:%H:%M:%S} after {a.at:%H:%M:%S}" for a, b in zip(seen, seen[1:], strict=False)
                if position[b] < position[a]), "?") + ")",
        expected="chunk 1 holds the oldest events, the last chunk the newest",
        hint="Send the chunk requests one after another, oldest chunk first.",
    )
    final = sent_requests[-1].user_text
    places = [final.find(part) for part in s.CHECKOUT_PARTS]
    expect(
        all(p >= 0 for p in places) and places == sorted(places),
        observed="in the final request, the chunk summaries "
        + ("are missing: " + ", ".join(str(n) for n, p in enumerate(places, 1) if p < 0) if min(places) < 0
           else "come in the order " + ", ".join(str(places.index(p) + 1) for p in sorted(places))),
        expected="the final request carries every chunk summary, as the model wrote it, in chunk order (1, 2, 3)",
        hint="Keep the chunk summaries in a list in the order of the chunks and put them all in the final request.",
    )


@check(
    "digest-keeps-facts",
    "The digest's incident id, severity and start time come from the data, not from the model",
    points=2,
    cassette="digest-facts",
    hint="Start the digest with the legacy header (digest_header(incident)), then the model's summary.",
)
def test_digest_keeps_facts(learner: Any, openai_client: Any, kata_data: Path, tmp_path: Path) -> None:
    svc = s.service(learner, tmp_path / "oncall.db", openai_client())
    for spec in (s.DNS, s.CHECKOUT):
        incident = s.open_incident(svc, spec, kata_data)
        text = s.digest(svc, incident.id, s.recording_out(learner))
        want = s.header(spec, incident.ref)
        lines = tuple(str(text).splitlines()[:2])
        expect(
            lines == want,
            observed=f"the digest of {incident.ref} starts with {' / '.join(lines)!r} (the model's summary claims "
            "SEV1 and another start time)",
            expected=f"it starts with the header built from the incident: {' / '.join(want)!r}",
            hint="Facts come from the incident row, never from the model's text: keep the two header lines of "
            "the legacy digest first, then the summary.",
        )


@check(
    "empty-timeline-no-call",
    "An incident with no usable event makes no model request",
    points=2,
    cassette="empty-timeline",
    hint="Prepare the timeline first; when no event is left, build the digest without calling the model.",
)
def test_empty_timeline_no_call(learner: Any, openai_client: Any, sent_requests: list[Any],
                                tmp_path: Path) -> None:
    svc = s.service(learner, tmp_path / "oncall.db", openai_client())
    spec = {**s.DNS, "file": None}
    no_events = s.open_incident(svc, spec)
    blank_events = s.open_incident(svc, spec)
    for at, source, message in (("1709800902.118", "slack", ""), ("2024-03-07 08:45", "manual", "   "),
                                ("2024-03-07T08:46:00Z", "pagerduty", "\t")):
        svc.log_event(blank_events.id, at, source, message)
    for incident, what in ((no_events, "no events"), (blank_events, "only empty events")):
        text = s.digest(svc, incident.id, s.recording_out(learner))
        expect(
            not sent_requests,
            observed=f"{len(sent_requests)} model request(s) for {incident.ref}, which has {what}",
            expected="no request: there is nothing to summarise",
            hint="Check the prepared timeline (after dropping empty events), not the raw events.",
        )
        want = s.header(spec, incident.ref)
        stored = svc.get(incident.id).digest
        expect(
            tuple(str(text).splitlines()[:2]) == want and stored == text,
            observed=f"the digest of {incident.ref} ({what}) is {s.short(str(text), 90)!r}, stored: "
            f"{s.short(str(stored), 60)!r}",
            expected=f"a digest starting with {' / '.join(want)!r}, stored like any other",
            hint="Without events, keep the legacy digest (header and 'no events recorded'), and store it.",
        )


@check(
    "digest-streamed-and-stored",
    "The final summary is streamed to `out`, and the stored digest is exactly the streamed text",
    points=3,
    cassette="streamed-digest",
    hint="Iterate the stream, write each piece to `out` as it arrives, and keep every piece for the stored digest.",
)
def test_digest_streamed_and_stored(learner: Any, openai_client: Any, sent_requests: list[Any],
                                    kata_data: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "oncall.db"
    svc, incident, _ = _load(learner, kata_data, s.CHECKOUT, openai_client(), tmp_path)
    out = s.recording_out(learner)
    text = s.digest(svc, incident.id, out)
    expect(
        sent_requests and sent_requests[-1].stream,
        observed="the last request was not streamed" if sent_requests else "no request was sent",
        expected="the final summary comes from a streamed request (stream=True)",
        hint="Use client.chat.completions.create(..., stream=True) for the final summary.",
    )
    pieces = [w for w in out.writes if w.strip() and w.strip() in s.CHECKOUT_SUMMARY]
    expect(
        len(pieces) >= 2,
        observed=f"the summary reached `out` in {len(pieces)} write(s)",
        expected="the summary written piece by piece as the stream delivers it (the recording has many pieces)",
        hint="Write each delta's content to `out` inside the loop over the stream (and flush), not at the end.",
    )
    written = out.getvalue()
    stored = s.repository(learner, db_path).get_incident(incident.id).digest
    expect(
        s.CHECKOUT_SUMMARY in str(text),
        observed=f"the returned digest ends with {str(text)[-60:]!r}, while the model streamed a summary of "
        f"{len(s.CHECKOUT_SUMMARY)} characters",
        expected="the returned digest holds the whole final summary the model streamed",
        hint="Join every piece of the stream; a piece is only a few characters.",
    )
    expect(
        stored is not None and stored.rstrip() == written.rstrip() == str(text).rstrip(),
        observed=f"written to out: {len(written)} characters; returned: {len(str(text))}; stored after "
        f"reopening the database: {len(stored or '')} (…{s.short((stored or '')[-50:], 50)!r})",
        expected="the stored digest, the returned digest and what was written to `out` are the same text "
        "(trailing whitespace aside)",
        hint="Store the full text: the header plus every piece of the streamed summary.",
    )


@check(
    "model-is-configuration",
    "The model name comes from Settings",
    points=1,
    cassette="model-setting",
    hint="Pass settings.model as the model of every request.",
)
def test_model_is_configuration(learner: Any, openai_client: Any, sent_requests: list[Any],
                                kata_data: Path, tmp_path: Path) -> None:
    svc, incident, _ = _load(learner, kata_data, s.DNS, openai_client(), tmp_path, model="gpt-4.1-mini")
    s.digest(svc, incident.id, s.recording_out(learner))
    models = [r.model for r in sent_requests]
    expect(
        models == ["gpt-4.1-mini"],
        observed=f"requests sent with model(s) {models} while Settings(model='gpt-4.1-mini')",
        expected="one request, with model 'gpt-4.1-mini'",
        hint="Use settings.model for every request; 'gpt-4o-mini' is only the default.",
    )


@check(
    "requests-have-a-timeout",
    "Model calls have a time-out shorter than the SDK's default",
    points=1,
    cassette="requests-have-a-timeout",
    hint="A client made with openai.OpenAI() waits up to 600 s for an answer; give every request a time-out "
    "of at most 60 s.",
)
def test_requests_have_a_timeout(learner: Any, openai_client: Any, sent_requests: list[Any],
                                 kata_data: Path, tmp_path: Path) -> None:
    # The client a caller builds with openai.OpenAI(): the SDK's own 600 s time-out, unless the code sets one.
    client = openai_client(sdk_defaults=True)
    svc, incident, rows = _load(learner, kata_data, s.CHECKOUT, client, tmp_path)
    s.digest(svc, incident.id, s.recording_out(learner))
    expect(
        bool(sent_requests),
        observed=f"no model request was sent for a timeline of {len(rows)} events",
        expected="the chunk requests and the final streamed request, each with a time-out",
        hint="With a client, digest() summarises the timeline with the model.",
    )
    for request in sent_requests:
        kind = "the streamed final request" if request.stream else "a chunk request"
        timeout = request.timeout
        if timeout is None:
            sent = "with no time-out at all"
        elif timeout >= 600:
            sent = f"with a {timeout:g} s time-out (the SDK's default)"
        else:
            sent = f"with a {timeout:g} s time-out"
        expect(
            timeout is not None and 0 < timeout <= 60,
            observed=f"request {request.index + 1} of {len(sent_requests)} ({kind}) was sent {sent}",
            expected="every request, chunk requests and the final one alike, with a read time-out of at most 60 s",
            hint="Set a time-out on every call (a `timeout=` argument, or a client derived with "
            "client.with_options(timeout=...)); where the value comes from is yours.",
        )


@check(
    "answers-have-a-token-cap",
    "Every request caps the length of the model's answer",
    points=1,
    cassette="answers-have-a-token-cap",
    hint="Give every request max_tokens (or max_completion_tokens) of at most 500: a model asked for a summary "
    "without a cap may write until its context is full.",
)
def test_answers_have_a_token_cap(learner: Any, openai_client: Any, sent_requests: list[Any],
                                  kata_data: Path, tmp_path: Path) -> None:
    svc, incident, rows = _load(learner, kata_data, s.CHECKOUT, openai_client(), tmp_path)
    s.digest(svc, incident.id, s.recording_out(learner))
    expect(
        bool(sent_requests),
        observed=f"no model request was sent for a timeline of {len(rows)} events",
        expected="the chunk requests and the final streamed request, each with a cap on its answer",
        hint="With a client, digest() summarises the timeline with the model.",
    )
    for request in sent_requests:
        kind = "the streamed final request" if request.stream else "a chunk request"
        caps = {name: request.body.get(name) for name in ("max_tokens", "max_completion_tokens")
                if request.body.get(name) is not None}
        ok = bool(caps) and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 500
                                for v in caps.values())
        expect(
            ok,
            observed=f"request {request.index + 1} of {len(sent_requests)} ({kind}) was sent "
            + (", ".join(f"{k}={v!r}" for k, v in caps.items()) if caps else "with no cap on the answer"),
            expected="every request, chunk requests and the final one alike, with max_tokens (or "
            "max_completion_tokens) between 1 and 500",
            hint="An unbounded answer is unbounded cost and latency (OWASP LLM10); the final summary is read "
            "in a chat, a few hundred tokens is plenty.",
        )
