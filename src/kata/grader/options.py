"""How a grade runs (`RunOptions`), and the environment its grader process gets."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kata.host import sandbox

if TYPE_CHECKING:
    from kata.grader.endpoint import LiveEndpoint
    from kata.grader.launch import HostLauncher
    from kata.grader.warm import WarmGrader


class Stopped(Exception):
    """The command was stopped (Ctrl-C): a grade cut short gives no result, and none starts afresh."""

@dataclass(frozen=True)
class RunOptions:
    """How to run: time limit override, and recording against a stand-in instead of replaying."""

    time_limit: float | None = None
    standin_url: str | None = None  # set: record cassettes against this stand-in instead of replaying
    cassettes_out: Path | None = None  # where recording writes cassettes
    keep: bool = False  # keep the temporary folder (kit maintainers debugging a kata)
    # Resource limits and the namespace sandbox of the learner hosts (default: the kit's private folders
    # hidden, default limits; cohort grading also hides the other submissions and the outputs).
    isolation: sandbox.Isolation | None = None
    tmp_root: Path | None = None  # where the temporary folders go (default: `kata.scratch.root()`)
    # `kata watch`: fork each grade from a process that has already imported pytest and the SDK
    # (warm.WarmGrader); the cold path is used when it is None, gone, or the namespace sandbox is asked for.
    warm: WarmGrader | None = None
    # More warm graders, used with `warm`: the checks are split between them (`--kata-shard`), each a
    # grader process of its own, side by side on the machine's cores (one kata graded on its own).
    shards: tuple[WarmGrader, ...] = ()
    # With a warm grader: fork each grade from a process of the kata's own that has already collected its
    # checks (`warm`'s templates) instead of collecting them again for every grade.
    templates: bool = True
    # The host launcher of the command (kata.grader.launch): each run's learner hosts are forked from it
    # instead of a zygote of their own. None: the grader starts the run's zygote itself.
    launcher: HostLauncher | None = None
    # `kata live` / `kata record` against a real endpoint: record the traffic instead of replaying it.
    live: LiveEndpoint | None = None
    check_time_limit: float | None = None  # per-check limit override (live models answer slowly)
    # Set when the command is stopped: no grade starts, and a warm process that went is not replaced by a
    # cold one (`kata.grader.session`).
    stop: threading.Event | None = None

    def stopping(self) -> None:
        """Raise `Stopped` once the command is being stopped."""
        if self.stop is not None and self.stop.is_set():
            raise Stopped
