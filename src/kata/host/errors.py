"""How an exception raised by learner code is told to the grader: its type names, text and the learner's frame."""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any


def learner_frame(exc: BaseException, work: Path) -> str:
    """`helpdesk/service.py:42 in submit` and its line, for the deepest frame inside the learner's code."""
    found = ""
    base = str(work.resolve()) + os.sep
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(base):
            found = f"{frame.filename[len(base):]}:{frame.lineno} in {frame.name}"
            if frame.line:
                found += f"\n    {frame.line.strip()}"
    return found


def describe_error(exc: BaseException, work: Path) -> dict[str, Any]:
    """An exception of learner code as plain data: its type names (the MRO), message and place."""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = exc.filename
        base = str(work.resolve()) + os.sep
        where = where[len(base):] if where.startswith(base) else Path(where).name
        return {"kind": "syntax", "types": ["SyntaxError"], "message": str(exc.msg)[:500],
                "where": f"{where}:{exc.lineno}"}
    if isinstance(exc, SystemExit):
        return {"kind": "exit", "types": ["SystemExit"], "message": repr(exc.code)[:200], "where": ""}
    names = [t.__name__ for t in type(exc).__mro__ if t not in (object, BaseException)]
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a learner exception whose __str__ fails
        message = "(its message could not be read)"
    cause = exc.__cause__ or exc.__context__
    return {"kind": "import" if isinstance(exc, ImportError) else "raised", "types": names[:20],
            "message": message[:2000], "where": learner_frame(exc, work)[:1000],
            "cause": type(cause).__name__ if cause is not None else ""}
