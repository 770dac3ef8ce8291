"""The learner host's request loop: import, read, call, and answer with plain data.

The grader drives; the host answers each request with `{"ok": value}` or `{"err": {...}}`. While a
call runs, learner code may need the grader: a model request (`http`), the clock (`clock`), or a
note that it called `time.sleep`. Those go out as requests of the host's own and the grader answers
them before it answers the call, so one socket carries both directions in turn.
"""

from __future__ import annotations

import importlib
import inspect
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from kata.host.errors import describe_error
from kata.host.transport import client_for
from kata.protocol import wire
from kata.protocol.codec import CodecError, HostCodec


class Channel:
    """The host's end of the socket to the grader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def ask(self, message: dict[str, Any]) -> Any:
        """Send a request of the host's own and wait for the grader's answer."""
        wire.send(self.sock, message)
        return wire.receive(self.sock)


class RemoteClock:
    """The clock a check hands to learner code: `monotonic()`, `time()` and `sleep()` ask the grader."""

    def __init__(self, channel: Channel, number: int) -> None:
        self._channel, self._number = channel, number

    def _ask(self, name: str, *args: float) -> Any:
        answer = self._channel.ask({"op": "clock", "clock": self._number, "name": name, "args": list(args)})
        return float(answer.get("value", 0.0)) if isinstance(answer, dict) else 0.0

    def monotonic(self) -> float:
        return self._ask("monotonic")

    def time(self) -> float:
        return self._ask("time")

    def sleep(self, seconds: float) -> None:
        self._ask("sleep", float(seconds))

    def __repr__(self) -> str:
        return "<the grader's clock>"


class Host:
    """Serves one graded check (or the service's own tests) for the grader."""

    def __init__(self, sock: socket.socket, work: Path) -> None:
        self.channel = Channel(sock)
        self.work = work
        self.codec = HostCodec(self._resolve)
        self._clients: dict[int, Any] = {}
        self._clocks: dict[int, RemoteClock] = {}

    def _resolve(self, tag: dict[str, Any]) -> Any:
        number = int(tag.get("id", 0))
        if tag["$"] == "clock":
            return self._clocks.setdefault(number, RemoteClock(self.channel, number))
        if number not in self._clients:
            self._clients[number] = client_for(self.channel, number, bool(tag.get("async")),
                                              bool(tag.get("sdk_defaults")))
        return self._clients[number]

    def serve(self) -> None:
        """Answer requests until the grader closes the socket."""
        while True:
            try:
                request = wire.receive(self.channel.sock)
            except wire.WireError:
                return
            try:
                reply = {"ok": self.codec.encode(self._handle(request))}
            except CodecError as exc:
                reply = {"err": {"kind": "codec", "types": ["CodecError"], "message": str(exc)[:500], "where": ""}}
            except BaseException as exc:  # noqa: BLE001 - every learner failure goes back as data
                reply = {"err": describe_error(exc, self.work)}
            try:
                wire.send(self.channel.sock, reply)
            except wire.WireError as exc:
                if "larger than" in str(exc):
                    wire.send(self.channel.sock, {"err": {"kind": "codec", "types": ["CodecError"],
                                                          "message": str(exc), "where": ""}})
                    continue
                return

    def _object(self, request: dict[str, Any]) -> Any:
        return self.codec.decode({"$": "handle", "id": request.get("obj")})

    def _handle(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if op == "import":
            module = importlib.import_module(str(request["module"]))
            return module
        if op == "getattr":
            return getattr(self._object(request), str(request["name"]))
        if op == "call":
            func = self._object(request)
            args = [self.codec.decode(a) for a in request.get("args", [])]
            kwargs = {str(k): self.codec.decode(v) for k, v in request.get("kwargs", {}).items()}
            return func(*args, **kwargs)
        if op == "signature":
            sig = inspect.signature(self._object(request))
            return [{"name": p.name, "kind": int(p.kind), "default": p.default is not inspect.Parameter.empty}
                    for p in sig.parameters.values()]
        if op == "list":
            return list(self._object(request))
        if op == "len":
            return len(self._object(request))
        if op == "getitem":
            return self._object(request)[self.codec.decode(request.get("key"))]
        if op == "run_tests":
            from kata.host.service_tests import run_service_tests

            limit = request.get("limit")
            return run_service_tests([str(p) for p in request.get("paths", [])], str(request.get("rootdir", ".")),
                                     self.work, float(limit) if isinstance(limit, int | float) else 10.0)
        raise ValueError(f"unknown request {op!r}")


def _no_real_sleep(channel: Channel) -> None:
    """Grading never really waits: `time.sleep` is noted for the grader and returns at once."""

    def sleep(seconds: float) -> None:
        channel.ask({"op": "slept", "seconds": float(seconds)})

    time.sleep = sleep  # type: ignore[assignment]


class NetworkBlocked(OSError):
    """Learner code tried to open a network connection; grading never touches the network."""


def _no_network() -> None:
    """Refuse internet sockets in this process (in the sandbox there is no network interface anyway)."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkBlocked(f"network access is blocked while grading (a connection to {address!r})")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded  # type: ignore[method-assign,assignment]


def _no_sdk_retry_delay() -> None:
    """The SDK sleeps between its own retries; while grading, time must not really pass."""
    from openai._base_client import BaseClient

    BaseClient._calculate_retry_timeout = lambda self, *args, **kwargs: 0.0  # type: ignore[method-assign]


def run(sock: socket.socket, work: Path) -> None:
    """Become the learner host for `work` and serve until the grader is done (then exit)."""
    host = Host(sock, work)
    _no_sdk_retry_delay()
    _no_real_sleep(host.channel)
    _no_network()
    sys.path.insert(0, str(work))  # only now, with the sandbox complete, can a submission file be read
    # Bytecode of the submission goes to the run's own folder: the first host of a run compiles a module,
    # the others load it (a run forks a host per check). Nothing is written beside the submission.
    sys.pycache_prefix = os.path.join(os.getcwd(), "pycache")
    sys.dont_write_bytecode = False
    host.serve()
