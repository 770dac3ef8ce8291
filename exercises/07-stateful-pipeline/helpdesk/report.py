"""The morning report: how many e-mails came in, and where they went."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from helpdesk.models import IntakeResult, Queue


def render_report(day: str, results: list[IntakeResult]) -> str:
    """The report's text: the day, the number of e-mails, and the count per queue (every queue listed)."""
    counts = Counter(result.queue for result in results)
    lines = [f"Nightly intake {day}", f"e-mails: {len(results)}", ""]
    lines += [f"{queue.value}: {counts.get(queue, 0)}" for queue in Queue]
    return "\n".join(lines) + "\n"


def write_report(report_dir: str | Path, day: str, text: str) -> Path:
    """Write the report to <report_dir>/<day>.txt (replacing an older one) and return its path."""
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day}.txt"
    path.write_text(text, encoding="utf-8")
    return path
