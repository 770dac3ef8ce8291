"""What a cohort run knows of each learner: the typed values the gradebook, the report and the feedback render."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from kata.outputs.results import KataResult


class Kind(StrEnum):
    FOLDER = "folder"
    ZIP = "zip"
    GIT = "git"


class SubmissionStatus(StrEnum):
    GRADED = "graded"
    REFUSED = "refused"  # unsafe or unreadable: nothing of it was run
    EMPTY = "empty"  # no kata folder found in it
    ERROR = "error"  # the kit or the machine failed on it (an exception): not a verdict, retried by the next run


class LearnerRecord(BaseModel):
    """Everything known about one learner after a run: `results/<learner>.json`."""

    learner: str
    source: str
    kind: Kind
    status: SubmissionStatus
    reason: str = ""
    score: int
    max_score: int
    katas: list[KataResult]


@dataclass
class RunSummary:
    """What one `kata cohort` run did."""

    learners: list[LearnerRecord]
    graded: int  # (learner, kata) pairs graded in this run
    reused: int  # pairs whose earlier result was still valid
    isolation: str  # how graded code was isolated, in words
    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C: the outputs hold what was graded before it
    planned: int = 0  # pairs this run set out to grade
