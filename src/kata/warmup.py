"""Warm-up for the forking servers: run the code paths every fork would otherwise run for the first time.

The SDK builds its resource classes, request options and response parsers lazily, on a client's first
call (35 ms for a first chat completion against 1 ms for the next), and pytest imports most of its
plugins only when a session starts. A process that forks a learner host or a grader per check does
that work once here, with kit code only, and every fork starts from the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

_CHAT = {"id": "warm", "object": "chat.completion", "created": 0, "model": "warm",
         "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                      "message": {"role": "assistant", "content": '{"label": "warm", "score": 1.0}'}}],
         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
_RESPONSE = {"id": "warm", "object": "response", "created_at": 0, "model": "warm", "status": "completed",
             "output": [{"type": "message", "id": "m", "status": "completed", "role": "assistant",
                         "content": [{"type": "output_text", "text": '{"label": "warm", "score": 1.0}',
                                      "annotations": []}]}],
             "parallel_tool_calls": False, "tool_choice": "auto", "tools": [],
             "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                       "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}


def _stream() -> bytes:
    chunk = {"id": "warm", "object": "chat.completion.chunk", "created": 0, "model": "warm",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "warm"}, "finish_reason": None}]}
    return f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()


def _answer(request: Any) -> Any:
    import httpx2

    body = json.loads(request.content or b"{}")
    if body.get("stream"):
        return httpx2.Response(200, content=_stream(), headers={"content-type": "text/event-stream"},
                               request=request)
    return httpx2.Response(200, json=_RESPONSE if request.url.path.endswith("/responses") else _CHAT,
                           request=request)


def warm_sdk() -> None:
    """One call of each kind the katas make (chat, structured parse, stream, Responses, async) to a canned
    answer in this process: no network, no file."""
    import httpx2
    import openai
    import pydantic

    class Transport(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            return _answer(request)

    class AsyncTransport(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            await request.aread()
            return _answer(request)

    class Label(pydantic.BaseModel):
        label: str
        score: float

    options: dict[str, Any] = {"api_key": "warm", "base_url": "http://127.0.0.1:9/v1", "max_retries": 0}
    messages: list[Any] = [{"role": "user", "content": "warm"}]
    with contextlib.suppress(Exception):  # a newer SDK may shape an answer differently: warming is optional
        client = openai.OpenAI(**options, http_client=httpx2.Client(transport=Transport()))
        client.chat.completions.create(model="warm", messages=messages)
        client.chat.completions.parse(model="warm", messages=messages, response_format=Label)
        for _ in client.chat.completions.create(model="warm", messages=messages, stream=True):
            pass
        client.responses.create(model="warm", input="warm")
    with contextlib.suppress(Exception):
        aclient = openai.AsyncOpenAI(**options, http_client=httpx2.AsyncClient(transport=AsyncTransport()))
        asyncio.run(aclient.chat.completions.create(model="warm", messages=messages))


def warm_pytest() -> None:
    """A pytest session over one trivial test in a temporary folder, its output discarded."""
    import pytest

    with tempfile.TemporaryDirectory(prefix="kata-warm-") as folder:
        (Path(folder) / "test_warm.py").write_text("def test_warm():\n    assert True\n")
        (Path(folder) / "pytest.ini").write_text("[pytest]\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with contextlib.suppress(Exception):
                pytest.main(["-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-c",
                             str(Path(folder) / "pytest.ini"), "--rootdir", folder, folder])
