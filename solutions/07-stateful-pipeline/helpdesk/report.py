"""The morning report: how many e-mails came in, where they went, and which ones failed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from helpdesk.models import IntakeResult, Queue


def render_report(day: str, results: list[IntakeResult], failed: dict[str, str] | None = None) -> str:
    """The report's text: the day, the number of e-mails, the count per queue (every queue listed) and,
    when some failed, each of them with its reason (the next run retries them)."""
    failed = failed or {}
    counts = Counter(result.queue for result in results)
    lines = [f"Nightly intake {day}", f"e-mails: {len(results) + len(failed)}", ""]
    lines += [f"{queue.value}: {counts.get(queue, 0)}" for queue in Queue]
    if failed:
        lines += ["", f"failed: {len(failed)} (the next run retries them)"]
        lines += [f"  {message_id}: {reason}" for message_id, reason in sorted(failed.items())]
    return "\n".join(lines) + "\n"


def write_report(report_dir: str | Path, day: str, text: str) -> Path:
    """Write the report to <report_dir>/<day>.txt (replacing an older one) and return its path."""
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day}.txt"
    path.write_text(text, encoding="utf-8")
    return path
