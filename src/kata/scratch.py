"""Where the kit's temporary folders go: in RAM when the machine has room there.

A grade copies a kata and its learner code writes small SQLite databases: on a disk every commit
waits for the disk (about 2 ms each here, and one grade of kata 09 commits 131 times). On a RAM-backed
file system the same commit is nearly free, so runs go to /dev/shm when it is writable and has room to
spare, and to the system's temporary folder otherwise, or to TMPDIR when the user set one. (In the
sandbox, /dev/shm is covered by an empty one of the run's own: see `kata.host.sandbox`.)
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_MEMORY = Path("/dev/shm")
MIN_FREE = 1 << 30  # below this, RAM is better left to the learner code (a container's 64 MB /dev/shm)


def root() -> Path | None:
    """The folder for temporary folders (`tempfile`'s `dir=`); None: the system's default."""
    if os.environ.get("TMPDIR"):
        return None  # the user's own choice
    try:
        stat = os.statvfs(SHARED_MEMORY)
    except OSError:
        return None
    if not os.access(SHARED_MEMORY, os.W_OK | os.X_OK) or stat.f_bavail * stat.f_frsize < MIN_FREE:
        return None
    return SHARED_MEMORY
