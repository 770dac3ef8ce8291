"""Frames of plain JSON between the grader and a learner host, over an inherited socket.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. JSON carries only plain
data (None, bool, int, float, str, lists, objects): nothing that arrives can run code when it is
read, unlike pickle. The reader refuses a frame longer than its cap before reading it, so a hostile
host cannot make the grader buffer without end, and gives up at a deadline, so it cannot stall it.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

MAX_FRAME = 16 * 1024**2  # the largest frame either side accepts (a DataFrame of a few thousand rows fits)
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """The other side sent something that is not a frame, or went away."""


class PeerGone(WireError):
    """The other side closed the socket (it exited, crashed or was killed)."""


class WireTimeout(WireError):
    """No complete frame arrived before the deadline."""


def send(sock: socket.socket, message: Any) -> None:
    """Send one message; raises PeerGone if the other side has closed."""
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    if len(data) > MAX_FRAME:
        raise WireError(f"a message of {len(data)} bytes is larger than the {MAX_FRAME}-byte cap")
    try:
        sock.sendall(_HEADER.pack(len(data)) + data)
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise PeerGone(str(exc)) from exc


def _read_exactly(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireTimeout("no answer in time")
            sock.settimeout(remaining)
        else:
            sock.settimeout(None)
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except TimeoutError as exc:
            raise WireTimeout("no answer in time") from exc
        except (ConnectionResetError, OSError) as exc:
            raise PeerGone(str(exc)) from exc
        if not chunk:
            raise PeerGone("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, deadline: float | None = None, max_frame: int = MAX_FRAME) -> Any:
    """The next message; `deadline` is a `time.monotonic()` value (None waits for ever)."""
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size, deadline))
    if size > max_frame:
        raise WireError(f"a frame of {size} bytes is larger than the {max_frame}-byte cap")
    data = _read_exactly(sock, size, deadline)
    try:
        return json.loads(data.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nested deeper than json can read, too
        raise WireError(f"a frame that is not JSON ({str(exc)[:200]})") from None
