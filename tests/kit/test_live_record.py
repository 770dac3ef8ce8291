"""Live mode and recording against a real OpenAI-compatible endpoint.

"The real endpoint" here is a local OpenAI-compatible server started by the test on 127.0.0.1: the
kit's stand-in answering, behind a front that behaves like a hosted API (gzip-compressed bodies,
cookies, organisation and request-id headers, an organisation id in an error text). The client
sends a fake secret key and organisation/project ids; none may survive into a cassette, and what
was recorded must replay offline.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from kata.catalog import Catalog
from kata.grader import replay
from kata.instructor import record
from kata.instructor.standin import Reply, Script, StandIn
from kata.learn import live

KEY = "sk-test-kata0123456789abcdefXYZ"
ORG = "org-testorg12345678"
PROJECT = "proj_testproject1234"


class HostedLikeServer:
    """A local OpenAI-compatible server: the stand-in's answers, dressed like a hosted API's."""

    def __init__(self, replies: list[Reply]) -> None:
        self.standin = StandIn(Script(reply=replies), r"REC-\d+")
        self.standin._server.server_close()  # only its answers are used
        self.seen: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                server.seen.append({k.lower(): v for k, v in self.headers.items()})
                status, headers, body = server.standin.answer("POST", self.path, raw, "")
                if status != 200:  # hosted error texts name the organisation
                    body = body.replace(b"org-kata", ORG.encode())
                packed = gzip.compress(body)
                self.send_response(status)
                for name, value in {**headers, "content-encoding": "gzip", "set-cookie": "__cf_bm=abc; path=/",
                                    "openai-organization": ORG, "openai-project": PROJECT,
                                    "x-request-id": "req_123", "cf-ray": "8f-LHR"}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(packed)))
                self.end_headers()
                self.wfile.write(packed)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> HostedLikeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


GOOD = [Reply(cassette="", record="REC-1", content="Hello, REC-1!"),
        Reply(cassette="", record="REC-2", model="gpt-4.1-mini", content="Hi REC-2.")]


@pytest.fixture
def server() -> Iterator[HostedLikeServer]:
    with HostedLikeServer(GOOD) as running:
        yield running


@pytest.fixture
def endpoint_env(server: HostedLikeServer, monkeypatch: pytest.MonkeyPatch) -> HostedLikeServer:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_ORG_ID", ORG)
    monkeypatch.setenv("OPENAI_PROJECT_ID", PROJECT)
    monkeypatch.delenv("KATA_MODEL", raising=False)
    return server


def assert_clean(folder: Path) -> list[dict]:
    """No secret in any cassette of `folder`; returns the interactions."""
    interactions = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text()
        assert replay.find_secrets(text) == [], path.name
        for secret in (KEY, ORG, PROJECT, "set-cookie", "__cf_bm", "x-request-id", "cf-ray", "127.0.0.1",
                       "content-encoding"):
            assert secret.lower() not in text.lower(), (path.name, secret)
        interactions += yaml.safe_load(text)["interactions"]
    return interactions


# --------------------------------------------------------------------------- live mode


def test_live_without_a_key_explains_what_to_set(minikit: Path, kata_cli, monkeypatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "KATA_MODEL"):
        monkeypatch.delenv(name, raising=False)
    code, out = kata_cli("--root", minikit, "live", "01")
    assert code == 2
    assert "OPENAI_API_KEY" in out and "OPENAI_BASE_URL=http://localhost:11434/v1" in out
    assert "Ollama" in out and "KATA_MODEL" in out and "--model" in out
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    code, out = kata_cli("--root", minikit, "live", "01")
    assert code == 2 and "OPENAI_BASE_URL is set but OPENAI_API_KEY is not" in out
    assert not (minikit / ".kata" / "live").exists()
    shutil.rmtree(minikit / "tests" / "checks")  # a student edition without the hidden checks
    code, out = kata_cli("--root", minikit, "live", "01")
    assert code == 2 and "no hidden checks for kata 01" in out


def test_live_runs_the_checks_against_the_endpoint_and_records_locally(minikit, kata_cli, endpoint_env) -> None:
    code, out = kata_cli("--root", minikit, "live", "01", "--solution", "--model", "llama3.2")
    assert code == 0, out
    assert "01 Echo, louder  5/5" in out
    assert "these pass only if the model answers as it did in the recording" in out
    assert "no model traffic: these mean the same live and offline" in out and "✔ shouts" in out
    assert "Your grade is the offline one: kata grade 01" in out
    folder = minikit / ".kata" / "live" / "01-echo"
    assert f"Recorded 2 cassette(s) in {folder.relative_to(minikit)}/" in out
    assert all(seen["authorization"] == f"Bearer {KEY}" for seen in endpoint_env.seen)  # the learner's key
    assert all(seen["openai-organization"] == ORG for seen in endpoint_env.seen)
    interactions = assert_clean(folder)
    sent = {json.loads(i["request"]["body"])["model"] for i in interactions}
    answered = {json.loads(i["response"]["body"]["string"])["model"] for i in interactions}
    assert sent == {"gpt-4o-mini", "gpt-4.1-mini"}  # what the code sent, though llama3.2 was asked
    assert "llama3.2" in answered
    assert {i["request"]["uri"] for i in interactions} == {"https://api.openai.com/v1/chat/completions"}


def test_live_failures_name_the_checks_whose_recordings_script_answers(minikit, kata_cli, monkeypatch) -> None:
    replies = [Reply(cassette="", record="REC-1", content="Howdy."),  # a model that answers otherwise
               Reply(cassette="", record="REC-2", content="Hi REC-2.")]
    with HostedLikeServer(replies) as other:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", other.url)
        code, out = kata_cli("--root", minikit, "live", "01", "--solution")
    assert code == 1 and "✘ The model's greeting is returned" in out and "observed: 'Howdy.'" in out
    # The message is the recording's; the note says the answer it got was the live model's.
    assert "live: a check's words were written for the recorded answers" in out
    assert ".kata/live/01-echo/" in out and "kata grade 01" in out
    assert "A local server rarely has the model your code names" in out


def test_expectations_read_what_each_recording_scripts(minikit: Path) -> None:
    kata = Catalog(minikit).get("01")

    def interaction(status: int, answer: dict | None, schema: dict | None = None) -> dict:
        request = {"model": "m", "messages": []}
        if schema:
            request["response_format"] = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
        return {"request": {"body": json.dumps(request), "method": "POST", "uri": "https://api.openai.com/v1/x"},
                "response": {"status": {"code": status}, "body": {"string": json.dumps(answer or {})}}}

    schema = {"properties": {"queue": {"$ref": "#/$defs/Queue"}, "confidence": {}},
              "$defs": {"Queue": {"enum": ["billing", "general"]}}}
    chat = {"choices": [{"message": {"content": json.dumps({"queue": "sales", "confidence": 0.3}),
                                     "refusal": None}, "finish_reason": "stop"}]}
    refusal = {"choices": [{"message": {"content": None, "refusal": "I can't."}, "finish_reason": "stop"}]}
    (kata.cassette_dir / "greets.yaml").write_text(yaml.safe_dump(
        {"interactions": [interaction(429, None), interaction(200, chat, schema)], "version": 1}))
    (kata.cassette_dir / "model-configurable.yaml").write_text(yaml.safe_dump(
        {"interactions": [interaction(200, refusal)], "version": 1}))
    found = {e.check_id: e for e in live.expectations(kata)}
    assert found["greets"].scripted == ("a 429 rate limit", "a low confidence (0.3)",
                                        "an answer outside the schema (queue='sales')")
    assert found["model-configurable"].scripted == ("a refusal",) and found["greets"].kind == "offline-only"
    assert found["shouts"].kind == "no-traffic"


# --------------------------------------------------------------------------- recording


def test_record_against_a_local_endpoint_scrubs_and_replays_offline(minikit, kata_cli, endpoint_env) -> None:
    kata = Catalog(minikit).get("01")
    before = {p.name: p.read_bytes() for p in kata.cassette_dir.glob("*.yaml")}
    code, out = kata_cli("--root", minikit, "record", "01")
    assert code == 0, out
    assert "changed  greets.yaml (1 -> 1 interactions)" in out and "cassettes written to" in out
    interactions = assert_clean(kata.cassette_dir)
    assert {i["request"]["uri"] for i in interactions} == {"https://api.openai.com/v1/chat/completions"}
    for item in interactions:  # stored decoded, with only the headers a client reads
        json.loads(item["response"]["body"]["string"])
        assert set(item["request"]["headers"]) == {"content-type"}
        assert set(item["response"]["headers"]) <= {"content-type", "openai-version"}
    provenance = (kata.fixtures_dir / "recorded.toml").read_text()
    assert 'source = "endpoint"' in provenance and "a local OpenAI-compatible server" in provenance
    assert KEY not in provenance and ORG not in provenance

    # Offline again: the new cassettes replay for the reference solution, network blocked.
    endpoint_env.seen.clear()
    code, out = kata_cli("--root", minikit, "grade", "01", "--solution")
    assert code == 0 and "5/5" in out and endpoint_env.seen == []

    # The stand-in gives the kit's own cassettes back, byte for byte, and drops the provenance note.
    outcome = record.record_with_standin(kata)
    assert outcome.ok and {p.name: p.read_bytes() for p in kata.cassette_dir.glob("*.yaml")} == before
    assert not (kata.fixtures_dir / "recorded.toml").exists()


def test_a_recording_that_loses_marks_is_not_written_unless_to_out(minikit, kata_cli, tmp_path, monkeypatch) -> None:
    kata = Catalog(minikit).get("01")
    before = {p.name: p.read_bytes() for p in kata.cassette_dir.glob("*.yaml")}
    errors = [Reply(cassette="", record="REC-1", status=429, retry_after=1),  # one per run: two runs
              Reply(cassette="", record="REC-1", status=429, retry_after=1),
              Reply(cassette="", record="REC-2", content="Hi REC-2."),
              Reply(cassette="", record="REC-2", content="Hi REC-2.")]
    with HostedLikeServer(errors) as failing:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", failing.url)
        monkeypatch.setenv("OPENAI_ORG_ID", ORG)
        code, out = kata_cli("--root", minikit, "record", "01")
        assert code == 1 and "recording incomplete: cassettes left as they were" in out
        assert {p.name: p.read_bytes() for p in kata.cassette_dir.glob("*.yaml")} == before
        code, out = kata_cli("--root", minikit, "record", "01", "--out", tmp_path / "look")
    assert code == 1 and "cassettes written to" in out
    interactions = assert_clean(tmp_path / "look")  # the 429's organisation id is redacted too
    assert any(i["response"]["status"]["code"] == 429 for i in interactions)
    assert (tmp_path / "look" / "recorded.toml").is_file()


def test_record_without_a_key_points_at_the_standin(minikit: Path, kata_cli, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, out = kata_cli("--root", minikit, "record", "01")
    assert code == 2 and "kata record needs a real OpenAI-compatible endpoint" in out
    assert "kata record NN --standin" in out
