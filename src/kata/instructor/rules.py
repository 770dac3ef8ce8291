"""The rules a brief states and the checks that grade them.

A brief's `## Rules and checks` section is a list: each item is one rule, and ends by saying how it
is graded, either `Checks: `id`, `id`.` (the checks that fail when the rule is broken) or
`Not graded: why.` Keeping the mapping in the brief puts it where the author writes the rule and
where the learner reads it; `kata verify` proves it against the checks the kata really has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SECTION = "Rules and checks"
_HEADING = re.compile(r"^##\s+(.*?)\s*$")
_ITEM = re.compile(r"^[-*]\s+")
_CHECKS = re.compile(r"\bChecks?:\s*(`[a-z0-9-]+`(?:\s*(?:,|and|,\s*and)\s*`[a-z0-9-]+`)*)", re.IGNORECASE)
_NOT_GRADED = re.compile(r"\bNot graded:\s*(\S.*)", re.IGNORECASE | re.DOTALL)
_ID = re.compile(r"`([a-z0-9-]+)`")


@dataclass(frozen=True)
class Rule:
    """One rule of a brief: its text, where it is, and how it is graded."""

    text: str
    line: int
    checks: tuple[str, ...] = ()
    not_graded: str = ""

    @property
    def graded(self) -> bool:
        return bool(self.checks)


@dataclass(frozen=True)
class Rules:
    """What the rules section of one brief holds, and what is wrong with its form."""

    rules: tuple[Rule, ...]
    problems: tuple[str, ...]

    def named_checks(self) -> set[str]:
        return {c for rule in self.rules for c in rule.checks}


def _items(lines: list[str], start: int) -> list[tuple[int, str]]:
    """The top-level list items of a section, each with its indented continuation lines joined."""
    items: list[tuple[int, list[str]]] = []
    open_item = False
    for number, line in enumerate(lines, start):
        if _ITEM.match(line):
            items.append((number, [_ITEM.sub("", line, count=1).strip()]))
            open_item = True
        elif open_item and line.strip() and line.startswith((" ", "\t")):
            items[-1][1].append(line.strip())
        elif line.strip():
            open_item = False  # prose between or after the items is not part of a rule
    return [(number, " ".join(parts)) for number, parts in items]


def parse(text: str) -> Rules:
    """The rules of a brief's `## Rules and checks` section, and the problems of its form."""
    lines = text.splitlines()
    start = end = None
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and start is None and heading.group(1) == SECTION:
            start = index + 1
        elif heading and start is not None:
            end = index
            break
    if start is None:
        return Rules((), (f"the brief has no '## {SECTION}' section listing its rules",))
    rules, problems = [], []
    for line_no, item in _items(lines[start:end], start + 1):
        checks = _CHECKS.search(item)
        skipped = _NOT_GRADED.search(item)
        if checks and skipped:
            problems.append(f"line {line_no}: a rule is both graded and 'Not graded': {item[:60]}")
            continue
        if checks:
            ids = tuple(_ID.findall(checks.group(1)))
            rules.append(Rule(item[:checks.start()].strip(), line_no, checks=ids))
        elif skipped:
            rules.append(Rule(item[:skipped.start()].strip(), line_no, not_graded=skipped.group(1).strip()))
        else:
            problems.append(f"line {line_no}: a rule names no check and is not marked 'Not graded: why': "
                            f"{item[:60]}")
    if not rules and not problems:
        problems.append(f"the '## {SECTION}' section lists no rules")
    return Rules(tuple(rules), tuple(problems))


def read(brief: Path) -> Rules:
    """The rules of a brief file."""
    return parse(brief.read_text(encoding="utf-8"))


def against(rules: Rules, check_ids: set[str]) -> list[str]:
    """Problems of the mapping against the checks a kata has: unknown names, checks no rule names."""
    found = list(rules.problems)
    for rule in rules.rules:
        unknown = sorted(set(rule.checks) - check_ids)
        if unknown:
            found.append(f"line {rule.line}: names checks the kata does not have: {', '.join(unknown)}")
    if rules.rules:
        orphans = sorted(check_ids - rules.named_checks())
        if orphans:
            found.append(f"checks no rule names (say which rule each grades): {', '.join(orphans)}")
    return found
