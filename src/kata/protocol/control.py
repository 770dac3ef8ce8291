"""The control sockets of the forking servers (the host launcher and a run's zygote): one JSON object per
line, descriptors passed along by SCM_RIGHTS.

`ControlLines` is the asking side's reader, with a deadline on every answer; `serve_requests` is the
server's loop. Both sides are kit code: no learner code writes to these sockets.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import time
from collections.abc import Callable, Container, Mapping
from typing import Any

MAX_REQUEST = 1 << 20


class ControlLines:
    """Reads one JSON object per line from a control socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def read(self, timeout: float) -> dict[str, Any] | None:
        """The next object; None at the end of the stream, on an error, on garbage or after `timeout` s."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(65536)
            except OSError:
                return None
            if not data:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        with contextlib.suppress(ValueError, RecursionError):
            message = json.loads(line)
            return message if isinstance(message, dict) else None
        return None

    def ask_for_process(self, request: dict[str, Any], timeout: float = 30.0) -> tuple[socket.socket, int] | None:
        """Send `request` with one end of a new socket pair, for the process the server starts to serve on;
        (our end, the new process's pid), or None when no pid came back (our end is then closed)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self.sock, [json.dumps(request).encode()], [theirs.fileno()])
            reply = self.read(timeout)
        except OSError:
            reply = None
        finally:
            theirs.close()
        if not reply or not isinstance(reply.get("pid"), int) or isinstance(reply["pid"], bool):
            ours.close()
            return None
        return ours, int(reply["pid"])


def answer(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one object as a line."""
    sock.sendall(json.dumps(message).encode() + b"\n")


Handler = Callable[[dict[str, Any], int | None], dict[str, Any]]


def serve_requests(sock: socket.socket, handlers: Mapping[str, Handler], takes_fd: Container[str],
                   before_each: Callable[[], None], at_end: Callable[[], None]) -> int:
    """Say ready, then answer `{"op": ...}` requests with `handlers[op](request, fd)` until the asking side
    closes the socket (then `at_end()`). An op in `takes_fd` gets the one descriptor sent with it (and is
    refused without one); descriptors sent with any other request are closed."""
    answer(sock, {"ready": True, "pid": os.getpid()})
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_REQUEST, 2)
        except OSError:
            data, fds = b"", []
        if not data:
            for fd in fds:
                os.close(fd)
            at_end()
            return 0
        before_each()
        try:
            request = json.loads(data)
        except (ValueError, RecursionError):
            request = {}
        op = request.get("op") if isinstance(request, dict) else None
        handler = handlers.get(op) if isinstance(op, str) else None
        fd = fds.pop(0) if handler is not None and op in takes_fd and len(fds) == 1 else None
        for extra in fds:
            os.close(extra)
        if handler is None or (op in takes_fd and fd is None):
            answer(sock, {"error": "unknown request"})
        else:
            answer(sock, handler(request, fd))
