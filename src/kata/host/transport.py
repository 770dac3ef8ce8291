"""The SDK client a check hands to learner code: a real `openai` client whose requests go to the grader.

The client is the official one, so learner code meets exactly the SDK's types, errors and streaming.
Only its HTTP transport is the kit's: each request goes over the channel as plain data, and the
grader answers it (from the cassettes, or a simulated time-out or dropped connection it chose).
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import httpx2

DUMMY_KEY = "kata-replay-key"  # not an sk- key on purpose: verify scans cassettes for those
BASE_URL = "https://api.openai.com/v1"


class NoRecordingMatched(Exception):
    """The grader has no recorded answer for this request (the check explains which part differed)."""


def _request_message(number: int, request: httpx2.Request) -> dict[str, Any]:
    timeout = (request.extensions or {}).get("timeout") or {}
    return {
        "op": "http", "client": number, "method": request.method, "url": str(request.url),
        "headers": [[k, v] for k, v in request.headers.multi_items()],
        "body": base64.b64encode(request.read()).decode(),
        "timeout": {k: v for k, v in timeout.items() if isinstance(v, int | float)},
    }


def _response(request: httpx2.Request, answer: Any) -> httpx2.Response:
    if not isinstance(answer, dict):
        raise httpx2.ConnectError("the grader gave no answer", request=request)
    fault = answer.get("fault")
    if fault == "timeout":
        raise httpx2.ReadTimeout("simulated time-out", request=request)
    if fault == "connect":
        raise httpx2.ConnectError("simulated connection error", request=request)
    if fault == "kill":  # the check kills the process here: nothing more of the learner's code runs
        os._exit(137)
    if fault:
        raise NoRecordingMatched(str(answer.get("message", "no recorded answer matches this request")))
    headers = [(str(k), str(v)) for k, v in answer.get("headers", [])]
    body = base64.b64decode(str(answer.get("body", "")))
    return httpx2.Response(int(answer.get("status", 500)), headers=headers, content=body, request=request)


class GraderTransport(httpx2.BaseTransport):
    def __init__(self, channel: Any, number: int) -> None:
        self.channel, self.number = channel, number

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return _response(request, self.channel.ask(_request_message(self.number, request)))


SETTLE_ROUNDS = 20  # event-loop rounds without a new request after which the other tasks are taken as waiting


class AsyncGraderTransport(httpx2.AsyncBaseTransport):
    """Requests of an `AsyncOpenAI`: before each goes out, the other tasks get their turns, as on a real
    network, so the grader sees how many are in flight at once (and can hold a slow one back)."""

    def __init__(self, channel: Any, number: int) -> None:
        self.channel, self.number = channel, number
        self.in_flight = self.started = self.parked = 0
        self.unsent: set[int] = set()  # started, not yet sent to the grader

    async def _settle(self) -> None:
        quiet, seen = 0, self.started
        while quiet < SETTLE_ROUNDS:
            await asyncio.sleep(0)
            quiet, seen = (quiet + 1, seen) if self.started == seen else (0, self.started)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        self.in_flight += 1
        self.started += 1
        ticket = self.started
        self.unsent.add(ticket)
        try:
            await self._settle()
            while min(self.unsent) != ticket:  # requests reach the grader in the order they were started
                await asyncio.sleep(0)
            self.unsent.discard(ticket)
            answer = self.channel.ask({**_request_message(self.number, request), "in_flight": self.in_flight})
            while isinstance(answer, dict) and answer.get("fault") == "later":
                self.parked += 1  # a slow request the grader holds back: the others go ahead
                try:
                    await self._settle()
                finally:
                    self.parked -= 1
                busy = self.in_flight - self.parked - 1  # requests still going, besides the held ones
                answer = self.channel.ask({"op": "http", "client": self.number, "again": answer.get("id"),
                                           "busy": busy})
            return _response(request, answer)
        finally:
            self.unsent.discard(ticket)
            self.in_flight -= 1


def client_for(channel: Any, number: int, is_async: bool = False, sdk_defaults: bool = False) -> Any:
    """An `openai.OpenAI` (or `AsyncOpenAI`) whose requests the grader answers. The SDK's own retries are
    off, unless `sdk_defaults` asks for the client a caller gets from `openai.OpenAI()` (two retries, a
    600 s time-out): what a brief's time-out and retry rules are graded against."""
    import openai

    options: dict[str, Any] = {"api_key": DUMMY_KEY, "base_url": BASE_URL}
    if not sdk_defaults:
        options["max_retries"] = 0
    if is_async:
        transport = AsyncGraderTransport(channel, number)
        client = openai.AsyncOpenAI(**options, http_client=httpx2.AsyncClient(transport=transport))
        # On an async client's first request the SDK looks its platform up in a worker thread, which the
        # event loop's turns do not wait for: the first wave of requests would then reach the grader in
        # fewer at once than later ones. Looked up here, only the learner's code decides what is in flight.
        try:
            from openai._base_client import get_platform

            client._platform = get_platform()
        except (ImportError, AttributeError):
            pass
        return client
    return openai.OpenAI(**options, http_client=httpx2.Client(transport=GraderTransport(channel, number)))
