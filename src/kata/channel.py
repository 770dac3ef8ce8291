"""The results channel from the pytest subprocess back to the grader.

Learner code runs in the same process as the plugin that reports results, so the channel must not
be forgeable by printing or by writing a file: each record is signed with a key that the grader
hands over through a pipe, which the plugin reads and closes before any learner code is imported.
Records written by anyone without the key fail verification and are reported as tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def new_key() -> bytes:
    return secrets.token_bytes(32)


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def hand_over_key(key: bytes) -> int:
    """Put the key in a pipe and return the read end's fd, for the child process to inherit."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, key.hex().encode())
    os.close(write_fd)
    return read_fd


def take_key(fd: int) -> bytes:
    """Read the key from the inherited pipe and close it (the plugin does this once, at start)."""
    with os.fdopen(fd, "rb") as pipe:
        return bytes.fromhex(pipe.read().decode())


class ChannelWriter:
    """Writes signed JSON records, one per line."""

    def __init__(self, path: Path, key: bytes) -> None:
        self._key = key
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held for the session

    def send(self, kind: str, **data: Any) -> None:
        payload = json.dumps({"kind": kind, **data}, sort_keys=True)
        self._file.write(json.dumps({"payload": payload, "mac": _sign(self._key, payload)}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass
class Received:
    """What the grader read back: verified records, and how many lines failed verification."""

    records: list[dict[str, Any]] = field(default_factory=list)
    forged: int = 0

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]


def read_channel(path: Path, key: bytes) -> Received:
    """Read and verify every record in the channel file."""
    received = Received()
    if not path.exists():
        return received
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            outer = json.loads(line)
            payload, mac = outer["payload"], outer["mac"]
            ok = isinstance(payload, str) and hmac.compare_digest(_sign(key, payload), str(mac))
        except (ValueError, KeyError, TypeError):
            ok = False
        if ok:
            received.records.append(json.loads(payload))
        else:
            received.forged += 1
    return received
