"""Recording against the scripted stand-in is reproducible byte for byte and leaves no secret."""

import json
import shutil
from pathlib import Path

from kata.catalog import Catalog
from kata.grader.replay import find_secrets
from kata.instructor import record


def test_re_recording_reproduces_the_cassettes_byte_for_byte(minikit: Path) -> None:
    kata = Catalog(minikit).get("01")
    before = {p.name: p.read_bytes() for p in kata.cassette_dir.glob("*.yaml")}
    shutil.rmtree(kata.cassette_dir)
    outcome = record.record_with_standin(kata)
    assert outcome.ok, outcome
    after = {p.name: p.read_bytes() for p in kata.cassette_dir.glob("*.yaml")}
    assert after == before
    assert all(not find_secrets(text.decode()) for text in after.values())


def test_recording_reports_changes_and_unscripted_requests(minikit: Path) -> None:
    kata = Catalog(minikit).get("01")
    script = kata.fixtures_dir / "standin.toml"
    script.write_text(script.read_text().replace('content = "Hello, REC-1!"', 'content = "Hey, REC-1!"'))
    outcome = record.record_with_standin(kata, write=False)
    assert outcome.result.failed_ids() == {"greets"}  # the solution now sees another answer
    assert not outcome.ok
    script.write_text(script.read_text().replace('record = "REC-2"', 'record = "REC-3"'))
    outcome = record.record_with_standin(kata, write=False)
    assert outcome.unscripted == ["cassette 'model-configurable', record 'REC-2', attempt 1"]
    assert outcome.unused_replies == ["cassette 'model-configurable', record 'REC-3'"]


def test_a_changed_answer_shows_in_the_diff_summary(minikit: Path, tmp_path: Path) -> None:
    kata = Catalog(minikit).get("01")
    old = tmp_path / "old"
    shutil.copytree(kata.cassette_dir, old)
    greets = old / "greets.yaml"
    greets.write_text(greets.read_text().replace("Hello", "Howdy"))
    (old / "gone.yaml").write_text("interactions: []\nversion: 1\n")
    assert record.diff_summary(old, kata.cassette_dir) == [
        "removed  gone.yaml (0 interactions)", "changed  greets.yaml (1 -> 1 interactions)"]


def _interaction(ref: str, answer: str) -> dict:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"About {ref}"}]})
    return {"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions", "body": body,
                        "headers": {}},
            "response": {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": answer}}}


def test_concurrent_requests_are_written_in_identity_order_keeping_each_ones_attempts(tmp_path: Path) -> None:
    from vcr.serializers import yamlserializer

    arrived = [_interaction("REC-2", "a"), _interaction("REC-1", "first"), _interaction("REC-2", "b"),
               _interaction("REC-1", "second")]
    path = tmp_path / "c.yaml"
    path.write_text(yamlserializer.serialize({"interactions": arrived, "version": 1}))
    record._identity_order(tmp_path, r"REC-\d+")
    items = yamlserializer.deserialize(path.read_text())["interactions"]
    assert [i["response"]["body"]["string"] for i in items] == ["first", "second", "a", "b"]


def test_cached_tokens_are_part_of_the_prompt_tokens() -> None:
    from kata.instructor.standin import Reply, chat_completion, response_object

    reply = Reply(cassette="c", record="REC-1", content="hi", prompt_tokens=100, cached_tokens=64)
    usage = chat_completion(reply, {"model": "m"}, "seed")["usage"]
    assert usage["prompt_tokens"] == 100 and usage["prompt_tokens_details"]["cached_tokens"] == 64
    assert response_object(reply, {"model": "m"}, "seed")["usage"]["input_tokens_details"]["cached_tokens"] == 64
    capped = Reply(cassette="c", record="REC-1", content="hi", prompt_tokens=10, cached_tokens=64)
    assert chat_completion(capped, {}, "s")["usage"]["prompt_tokens_details"]["cached_tokens"] == 10
