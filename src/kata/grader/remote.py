"""The grader's side of a learner host: the remote interface hidden checks drive learner code with.

A check never holds a learner object. `learner.load("helpdesk.service")` returns a `Handle` to the
module in the host; reading an attribute, calling, iterating or indexing a handle sends a request and
returns what came back, decoded into plain values (`kata.protocol.codec`): numbers, strings, containers,
`Record`s, `EnumValue`s, datetimes, DataFrames, or further handles. A handle cannot be compared,
hashed or used as a truth value (that would need learner code to decide), so a check that tries
is a kit error, never a silent pass.

While a call runs, the host may ask the grader for things: model requests (answered by the
`on_http` callback, from the cassettes), the clock, and notes of `time.sleep`. Every wait for the
host has the check's deadline; a host that misses it is killed and the check times out.
"""

from __future__ import annotations

import inspect
import socket
import time
from collections.abc import Callable
from typing import Any

from kata.protocol import wire
from kata.protocol.clock import FakeClock
from kata.protocol.codec import CodecError, decode_from_host, encode_for_host


class CheckTimeout(BaseException):
    """The learner's code did not answer before the check's deadline (a BaseException: checks never catch it)."""


class HostGone(BaseException):
    """The learner host ended (it exited, crashed or was killed) while the check needed it."""

    def __init__(self, why: str, code: int | None = None) -> None:
        super().__init__(why)
        self.why, self.code = why, code


class LearnerKilled(Exception):
    """The learner's process was killed on purpose, at a request the check chose (`openai_client(kill_on=...)`):
    a check catches it, then `learner.restart()` and runs the learner's code again."""


class HandleMisuse(TypeError):
    """A check compared or hashed a handle: a defect of the check, reported as a kit problem."""


class RemoteError(Exception):
    """Learner code raised (or could not be imported); `types` holds its class and base class names."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.kind = str(info.get("kind", "raised"))
        self.types = [str(t) for t in info.get("types", [])][:20] or ["Exception"]
        self.type_name = self.types[0]
        self.text = str(info.get("message", ""))[:2000]
        self.where = str(info.get("where", ""))[:1000]
        super().__init__(f"{self.type_name}: {self.text}" if self.text else self.type_name)

    def is_a(self, *names: str) -> bool:
        """Whether the learner's exception is (a subclass of) one of these class names."""
        return any(name in self.types for name in names)


class ModelClient:
    """A model client for learner code, kept by the grader: the host builds a real SDK client from it
    whose requests come back here. `timeout_on`/`error_on` simulate time-outs and dropped connections
    (request indexes or a predicate on the SentRequest), `on_timeout` runs before a simulated time-out,
    `on_request` sees every request; `sdk_defaults` keeps the SDK's own retries and time-out; `kill_on`
    kills the learner's process at a request; `slow_on` answers a request of an async client only once the
    learner's process has stopped sending others."""

    def __init__(self, number: int, *, is_async: bool = False, timeout_on: Any = None,
                 on_timeout: Callable[[Any], None] | None = None, error_on: Any = None,
                 on_request: Callable[[Any], None] | None = None, sdk_defaults: bool = False,
                 kill_on: Any = None, slow_on: Any = None) -> None:
        self.number, self.is_async, self.sdk_defaults = number, is_async, sdk_defaults
        self.timeout_on, self.on_timeout, self.error_on, self.on_request = timeout_on, on_timeout, error_on, on_request
        self.kill_on, self.slow_on = kill_on, slow_on

    def __repr__(self) -> str:
        return f"<model client {self.number}>"


class Connection:
    """One learner host, as the grader talks to it."""

    def __init__(self, sock: socket.socket, services: dict[str, Callable[[dict[str, Any]], Any]],
                 deadline: float | None = None, on_gone: Callable[[], int | None] | None = None) -> None:
        self.sock = sock
        self.services = services  # "http", "clock", "slept": the host's own requests
        self.deadline = deadline
        self.on_gone = on_gone  # returns the host's exit code, once it has ended
        self.clocks: dict[int, Any] = {}
        self.clients: dict[int, ModelClient] = {}
        self.gone: HostGone | LearnerKilled | None = None
        self.killing = False  # the grader told the host to die at a model request (kill_on)

    # ------------------------------------------------------------------ values

    def _reference(self, value: Any) -> Any | None:
        if isinstance(value, Handle):
            if object.__getattribute__(value, "_conn") is not self:
                raise HandleMisuse("a handle from another check's learner process")
            return {"$": "handle", "id": object.__getattribute__(value, "_id")}
        if isinstance(value, ModelClient):
            self.clients[value.number] = value
            return {"$": "client", "id": value.number, "async": value.is_async, "sdk_defaults": value.sdk_defaults}
        if isinstance(value, FakeClock):
            number = next((n for n, c in self.clocks.items() if c is value), len(self.clocks) + 1)
            self.clocks[number] = value
            return {"$": "clock", "id": number}
        return None

    def encode(self, value: Any) -> Any:
        return encode_for_host(value, self._reference)

    def decode(self, data: Any) -> Any:
        return decode_from_host(data, lambda number, kind: Handle(self, number, kind))

    # ------------------------------------------------------------------ requests

    def request(self, message: dict[str, Any]) -> Any:
        """Send a request and serve the host's own requests until its answer comes; the decoded value."""
        if self.gone is not None:
            raise self.gone
        try:
            wire.send(self.sock, message)
            while True:
                answer = wire.receive(self.sock, self.deadline)
                if not isinstance(answer, dict):
                    raise wire.WireError("an answer that is not an object")
                if "ok" in answer:
                    try:
                        return self.decode(answer["ok"])
                    except CodecError as exc:
                        raise RemoteError({"kind": "codec", "types": ["CodecError"], "message": str(exc)}) from None
                if "err" in answer:
                    raise RemoteError(answer["err"] if isinstance(answer["err"], dict) else {})
                self._serve(answer)
        except wire.WireTimeout:
            self._end("timeout")
            raise CheckTimeout() from None
        except wire.WireError as exc:
            self._end(str(exc))
            raise self.gone from None  # type: ignore[misc]

    def _serve(self, ask: dict[str, Any]) -> None:
        op = ask.get("op")
        service = self.services.get(str(op))
        if service is None:
            raise wire.WireError(f"the host asked for {str(op)[:40]!r}, which the grader does not offer")
        answer = service(ask)
        if isinstance(answer, dict) and answer.get("fault") == "kill":
            self.killing = True
        wire.send(self.sock, answer)

    def _end(self, why: str) -> None:
        code = self.on_gone() if self.on_gone is not None else None
        if self.killing:
            self.gone = LearnerKilled("the learner's process was killed at the request the check chose")
        else:
            self.gone = HostGone(why, code)
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def set_deadline(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds


class Handle:
    """An object that stays in the learner host; read, call, iterate or index it, never compare it."""

    __slots__ = ("_conn", "_id", "_type")

    def __init__(self, conn: Connection, number: int, kind: str) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_id", number)
        object.__setattr__(self, "_type", kind)

    def _ask(self, op: str, **fields: Any) -> Any:
        conn: Connection = object.__getattribute__(self, "_conn")
        return conn.request({"op": op, "obj": object.__getattribute__(self, "_id"), **fields})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # inspect, copy and pickle probe dunders: never ask the learner
        try:
            return self._ask("getattr", name=name)
        except RemoteError as exc:
            if exc.is_a("AttributeError"):
                raise AttributeError(f"{object.__getattribute__(self, '_type')} has no attribute {name!r}") from None
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        raise HandleMisuse("a check cannot set attributes of a learner object")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        conn: Connection = object.__getattribute__(self, "_conn")
        return self._ask("call", args=[conn.encode(a) for a in args],
                         kwargs={k: conn.encode(v) for k, v in kwargs.items()})

    @property
    def __signature__(self) -> inspect.Signature:
        params = self._ask("signature")
        kinds = type(inspect.Parameter.POSITIONAL_ONLY)
        built = []
        for param in params:
            number = int(param["kind"])
            kind = kinds(number) if 0 <= number <= 4 else kinds.POSITIONAL_OR_KEYWORD
            default = None if param["default"] else inspect.Parameter.empty
            built.append(inspect.Parameter(str(param["name"]), kind, default=default))
        try:
            return inspect.Signature(built)
        except ValueError:  # an order Python itself would refuse: bind nothing rather than guess
            return inspect.Signature([])

    def __iter__(self) -> Any:
        return iter(self._ask("list"))

    def __len__(self) -> int:
        return int(self._ask("len"))

    def __getitem__(self, key: Any) -> Any:
        conn: Connection = object.__getattribute__(self, "_conn")
        return self._ask("getitem", key=conn.encode(key))

    def __eq__(self, other: object) -> bool:
        raise HandleMisuse(f"a check compared {self!r}, an object that lives in the learner's process")

    def __ne__(self, other: object) -> bool:
        raise HandleMisuse(f"a check compared {self!r}, an object that lives in the learner's process")

    def __lt__(self, other: object) -> bool:
        raise HandleMisuse(f"a check ordered {self!r}, an object that lives in the learner's process")

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self) -> int:
        raise HandleMisuse(f"a check hashed {self!r}, an object that lives in the learner's process")

    def __bool__(self) -> bool:
        raise HandleMisuse(f"a check took the truth of {self!r}; compare one of its attributes instead")

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_type')} in the learner's process>"

    @property
    def type_name(self) -> str:
        """The learner object's type, as `module.Qualname` (a plain string the host reported)."""
        return object.__getattribute__(self, "_type")


class Learner:
    """The code being graded, as a check reaches it: `load(module)` gives a handle to the module."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._conn: Connection | None = None

    def restart(self) -> None:
        """End this check's learner process; the next `load()` starts a fresh one (a process started again
        after a crash or a kill: module state is gone, files and databases stay). Old handles are dead."""
        self._conn = None

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def load(self, module: str) -> Any:
        """Import `module` in the learner host (e.g. `helpdesk.service`) and return its handle."""
        return self.connection.request({"op": "import", "module": module})
