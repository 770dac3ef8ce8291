"""A cohort's outputs for instructors: gradebook.csv, checks.csv and a self-contained report.html.

pandas does the aggregation (pivot per learner, pass rates per kata and per check); the HTML page
has inline CSS, inline SVG charts and a few lines of inline script (filter and sort the learners'
table), and fetches nothing, so it can be mailed or opened from a shared drive offline.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from typing import TYPE_CHECKING

import pandas as pd

from kata.outputs.results import KataResult, Problem, Status

if TYPE_CHECKING:
    from kata.catalog import Kata
    from kata.instructor.records import LearnerRecord, RunSummary


# Kata states an instructor acts on (passed and attempted are read from the scores).
NOTEWORTHY = ("not attempted", "broken", "time-out", "error", "not handed in", "refused")


def _notes(record: LearnerRecord) -> str:
    if record.status.value != "graded":
        return f"{record.status.value}: {record.reason}"
    return "; ".join(note for k in record.katas if (note := _note(k)))


def _note(kata: KataResult) -> str:
    """A kata's state when an instructor acts on it, with what went wrong with the run (e.g. tampered)."""
    problem = kata.problem.value if kata.problem is not None else ""
    if kata.state in NOTEWORTHY:
        return f"{kata.id} {kata.state}" + (f" ({problem})" if problem and kata.state == "error" else "")
    return f"{kata.id} {problem}" if problem else ""


def _attempted(kata: KataResult) -> bool:
    """Handed in and changed from the starter: the results a check's pass rate is measured over."""
    return kata.state not in ("not attempted", "not handed in", "refused")


def gradebook_frame(learners: list[LearnerRecord], katas: list[Kata], maxima: dict[str, int]) -> pd.DataFrame:
    """A row per learner: status, a score column per kata, total, maximum, percent, notes."""
    rows = []
    for record in learners:
        row: dict[str, object] = {"learner": record.learner, "status": record.status.value}
        scores = {k.id: k.score for k in record.katas}
        for kata in katas:
            row[kata.name] = scores.get(kata.id, 0)
        row["total"] = record.score
        row["max_total"] = sum(maxima.values())
        row["percent"] = round(100 * record.score / row["max_total"], 1) if row["max_total"] else 0.0
        row["notes"] = _notes(record)
        rows.append(row)
    columns = ["learner", "status", *(k.name for k in katas), "total", "max_total", "percent", "notes"]
    return pd.DataFrame(rows, columns=columns)


def checks_frame(learners: list[LearnerRecord]) -> pd.DataFrame:
    """Long format: a row per (learner, kata, check) with status and points."""
    rows = []
    for record in learners:
        for kata in record.katas:
            for item in kata.checks:
                status = item.status.value
                if kata.problem in (Problem.REFUSED, Problem.MISSING):
                    status = kata.problem.value
                rows.append({"learner": record.learner, "kata": f"{kata.id}-{kata.slug}", "kata_state": kata.state,
                             "check": item.id, "title": item.title, "status": status, "points": item.points,
                             "max_points": item.max_points})
    return pd.DataFrame(rows, columns=["learner", "kata", "kata_state", "check", "title", "status", "points",
                                       "max_points"])


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def gradebook_csv(learners: list[LearnerRecord], katas: list[Kata], maxima: dict[str, int]) -> str:
    """The text of gradebook.csv."""
    return _csv(gradebook_frame(learners, katas, maxima))


def checks_csv(learners: list[LearnerRecord]) -> str:
    """The text of checks.csv."""
    return _csv(checks_frame(learners))


# --- report.html -----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:70rem;color:#1d2330;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #dde;
padding-bottom:.3rem}
.meta{color:#667;font-size:.9rem}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #dde;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #eef}th{cursor:pointer;background:#f6f7fb}td.num,th.num{text-align:right}
.bar{display:inline-block;height:.7rem;background:#4a7bd0;border-radius:2px;vertical-align:middle}
.bar.low{background:#d0574a}.bar.mid{background:#d09a4a}
.status-refused,.status-empty,.status-error{color:#b0322a;font-weight:600}.problem{color:#b0322a}
.state-passed{background:#e6f4ea}.state-attempted{background:#fff6e0}.state-broken,.state-time-out,.state-error{
background:#fbe4e2}.state-not-attempted,.state-not-handed-in{color:#889}td small{display:block;font-size:.75rem}
tr.kata-head th{background:#eef1f8;cursor:default}
input[type=search]{padding:.3rem .5rem;width:18rem;margin:.5rem 0}
svg text{font-size:11px;fill:#334}
"""

_SCRIPT = """
document.getElementById('filter').addEventListener('input', function (e) {
  var q = e.target.value.toLowerCase();
  document.querySelectorAll('#learners tbody tr').forEach(function (tr) {
    tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
  });
});
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], rows = Array.from(body.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent;
      var y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      return dir * (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
document.getElementById('shown').textContent = document.querySelectorAll('#learners tbody tr').length;
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bar(percent: float, width: int = 160) -> str:
    tone = "low" if percent < 50 else ("mid" if percent < 80 else "")
    return f'<span class="bar {tone}" style="width:{max(1, round(width * percent / 100))}px"></span>'


def _histogram(percents: list[float]) -> str:
    """Inline SVG: learners per 10-point band of the total score."""
    bands = [0] * 10
    for value in percents:
        bands[min(9, int(value // 10))] += 1
    top = max(bands) or 1
    width, height, gap = 52, 140, 6
    parts = [f'<svg id="histogram" role="img" aria-label="score distribution" width="{10 * (width + gap)}" '
             f'height="{height + 40}" xmlns="http://www.w3.org/2000/svg">']
    for i, count in enumerate(bands):
        bar = round(height * count / top)
        x = i * (width + gap)
        parts.append(f'<rect class="band" data-count="{count}" x="{x}" y="{height - bar + 14}" width="{width}" '
                     f'height="{bar}" fill="#4a7bd0"><title>{count} learner(s)</title></rect>')
        parts.append(f'<text x="{x + width / 2}" y="{height - bar + 10}" text-anchor="middle">{count}</text>')
        label = f"{i * 10}-{i * 10 + 9}" if i < 9 else "90-100"
        parts.append(f'<text x="{x + width / 2}" y="{height + 30}" text-anchor="middle">{label}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def _why(kata: KataResult) -> str:
    """The reason of a kata's problem: its message, else the first failed check's observation."""
    if kata.message:
        return kata.message
    failed = next((c for c in kata.checks if c.cause or c.status is Status.ERROR), None)
    return failed.message.splitlines()[0].removeprefix("observed: ") if failed and failed.message else ""


def render_html(learners: list[LearnerRecord], katas: list[Kata], maxima: dict[str, int],
                summary: RunSummary) -> str:
    """The self-contained cohort report."""
    book = gradebook_frame(learners, katas, maxima)
    checks = checks_frame(learners)
    graded = book[book["status"] == "graded"]
    total_max = sum(maxima.values())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>Cohort report: {len(learners)} learners</title><style>{_CSS}</style></head><body>",
           f"<h1>Cohort report</h1><p class='meta'>{len(learners)} learners, {len(katas)} katas, generated {now}. "
           f"Isolation: {_e(summary.isolation)}.</p>"]
    full = int((graded["percent"] >= 100).sum()) if total_max else 0
    cards = [("learners", len(learners)), ("graded", len(graded)),
             ("median score", f"{graded['percent'].median():.0f}%" if len(graded) else "–"),
             ("all katas passed", full),
             ("not graded", len(learners) - len(graded))]
    out.append("<div class='cards' id='summary'>" + "".join(
        f"<div class='card' data-name='{_e(name)}'><b>{_e(value)}</b>{_e(name)}</div>" for name, value in cards)
        + "</div>")

    out.append("<h2>Score distribution</h2><p class='meta'>Learners per band of the total score "
               f"(maximum {total_max} points).</p>")
    out.append(_histogram(list(graded["percent"])))

    out.append("<h2>Katas</h2><p class='meta'>Pass rate and mean score over the learners who attempted the "
               "kata (handed it in, changed from the starter); <i>broken</i>: the code did not compile or import."
               "</p><table id='katas'><thead><tr><th>kata</th><th class='num'>passed</th><th>pass rate</th>"
               "<th class='num'>mean score</th><th class='num'>not attempted</th><th class='num'>broken</th>"
               "<th class='num'>time-outs</th><th class='num'>errors</th><th class='num'>not handed in</th>"
               "</tr></thead><tbody>")
    for kata in katas:
        all_results = [k for r in learners if r.status.value == "graded" for k in r.katas if k.id == kata.id]
        states = [k.state for k in all_results]
        results = [k for k in all_results if _attempted(k)]
        passed = sum(1 for k in results if k.passed)
        rate = 100 * passed / len(results) if results else 0.0
        mean = sum(k.score for k in results) / len(results) if results else 0.0
        counts = "".join(f"<td class='num'>{states.count(state)}</td>"
                         for state in ("not attempted", "broken", "time-out", "error", "not handed in"))
        out.append(f"<tr data-kata='{_e(kata.name)}'><td>{_e(kata.id)} {_e(kata.spec.title)}</td>"
                   f"<td class='num'>{passed}/{len(results)}</td><td>{_bar(rate)} {rate:.0f}%</td>"
                   f"<td class='num'>{mean:.1f}/{maxima.get(kata.id, 0)}</td>{counts}</tr>")
    out.append("</tbody></table>")

    out.append("<h2>Checks, hardest first</h2><p class='meta'>Per kata, the share of the learners who attempted it "
               "that passed each check: the concepts the cohort struggles with are at the top.</p>")
    attempted = {(r.learner, f"{k.id}-{k.slug}") for r in learners for k in r.katas if _attempted(k)}
    ran = checks[checks["status"].isin([s.value for s in Status]) & (checks["max_points"] > 0)]
    ran = ran[[(learner, kata) in attempted for learner, kata in zip(ran["learner"], ran["kata"], strict=True)]]
    if len(ran):
        rates = (ran.assign(ok=ran["status"] == Status.PASSED.value)
                 .groupby(["kata", "check", "title"], as_index=False)
                 .agg(passed=("ok", "sum"), learners=("ok", "size")))
        rates["rate"] = 100 * rates["passed"] / rates["learners"]
        rates = rates.sort_values(["kata", "rate", "check"], kind="stable")
        out.append("<table id='checks'><thead><tr><th>check</th><th class='num'>passed</th>"
                   "<th>pass rate</th></tr></thead><tbody>")
        for kata_name, group in rates.groupby("kata", sort=True):
            out.append(f"<tr class='kata-head'><th colspan='3'>{_e(kata_name)}</th></tr>")
            for row in group.itertuples():
                out.append(f"<tr data-check='{_e(row.check)}' data-kata='{_e(row.kata)}' data-rate='{row.rate:.1f}'>"
                           f"<td>{_e(row.title)} <span class='meta'>[{_e(row.check)}]</span></td>"
                           f"<td class='num'>{row.passed}/{row.learners}</td>"
                           f"<td>{_bar(row.rate)} {row.rate:.0f}%</td></tr>")
        out.append("</tbody></table>")

    out.append("<h2>Problems</h2><ul id='problems'>")
    problems = 0
    for record in learners:
        if record.status.value != "graded":
            problems += 1
            out.append(f"<li class='problem' data-learner='{_e(record.learner)}'>{_e(record.learner)}: "
                       f"{_e(record.status.value)}: {_e(record.reason)}</li>")
            continue
        for kata in record.katas:
            if kata.state in ("broken", "time-out", "error", "refused"):
                problems += 1
                out.append(f"<li class='problem' data-learner='{_e(record.learner)}'>{_e(record.learner)}, kata "
                           f"{_e(kata.id)}: {_e(kata.state)}: {_e(_why(kata))}</li>")
    if not problems:
        out.append("<li>None: every submission ran to the end.</li>")
    out.append("</ul>")

    out.append("<h2>Learners</h2><input type='search' id='filter' placeholder='filter learners'> "
               "<span class='meta'><span id='shown'></span> rows</span>"
               "<table id='learners' class='sortable'><thead><tr><th>learner</th><th>status</th>")
    out += [f"<th class='num'>{_e(k.id)}</th>" for k in katas]
    out.append("<th class='num'>total</th><th class='num'>%</th><th>notes</th></tr></thead><tbody>")
    by_learner = {r.learner: {k.id: k for k in r.katas} for r in learners}
    for row in book.to_dict("records"):
        status = _e(row["status"])
        feedback = f"feedback/{row['learner']}.md"  # learner ids are sanitised: a plain file name
        cells = [f"<td><a href='{_e(feedback)}'>{_e(row['learner'])}</a></td>",
                 f"<td class='status-{status}'>{status}</td>"]
        for kata in katas:
            result = by_learner.get(row["learner"], {}).get(kata.id)
            state = result.state if result is not None else "not handed in"
            cells.append(f"<td class='num state-{_e(state.replace(' ', '-'))}' data-state='{_e(state)}' "
                         f"data-v='{_e(row[kata.name])}' title='{_e(state)}'>{_e(row[kata.name])}"
                         f"{'' if state in ('passed', 'attempted') else ' <small>' + _e(state) + '</small>'}</td>")
        cells += [f"<td class='num'>{row['total']}/{row['max_total']}</td>",
                  f"<td class='num' data-v='{row['percent']}'>{row['percent']:.0f}</td>",
                  f"<td>{_e(row['notes'])}</td>"]
        out.append(f"<tr data-learner='{_e(row['learner'])}'>{''.join(cells)}</tr>")
    out.append(f"</tbody></table><script>{_SCRIPT}</script></body></html>\n")
    return "\n".join(out)

