"""The prompt registry: versioned prompts in files, and labels that say which version runs where.

Layout (one folder per prompt name, in the style of Langfuse's or MLflow's prompt registries):

    <prompts_dir>/<name>/labels.json          {"production": 4, "staging": 4}
    <prompts_dir>/<name>/versions/<n>.json    {"version": n, "model": "...", "system_prompt": "...", ...}

A version is immutable: once its file is written it is never changed, so a ticket that records
"version 4" can always be explained. A change of prompt or of model is a new version; which version
runs is configuration (a label), so a roll-back is moving a label, not a release.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS_FILE = "labels.json"
VERSIONS_DIR = "versions"


class PromptNotFound(LookupError):
    """A label or a version the registry does not have: a configuration error, raised at start-up."""


@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a prompt: the model it runs on and its system prompt."""

    name: str
    version: int
    model: str
    system_prompt: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # note, created_at, ...: kept as written


class PromptRegistry:
    """Reads and writes one registry folder. Nothing is cached: every call reads the files as they are."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def labels(self, name: str) -> dict[str, int]:
        """The labels of prompt `name` and the version each points at."""
        path = self.root / name / LABELS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PromptNotFound(f"prompt {name!r} has no {LABELS_FILE} in {self.root}") from None
        return {str(label): int(version) for label, version in raw.items()}

    def versions(self, name: str) -> list[int]:
        """The version numbers of prompt `name`, lowest first."""
        folder = self.root / name / VERSIONS_DIR
        return sorted(int(path.stem) for path in folder.glob("*.json") if path.stem.isdigit())

    def get(self, name: str, version: int) -> PromptVersion:
        """Version `version` of prompt `name`; PromptNotFound when its file does not exist."""
        path = self.root / name / VERSIONS_DIR / f"{version}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PromptNotFound(f"prompt {name!r} has no version {version} ({path} is missing)") from None
        extra = {key: value for key, value in raw.items() if key not in ("version", "model", "system_prompt")}
        return PromptVersion(name, version, str(raw["model"]), str(raw["system_prompt"]), extra)

    def resolve(self, name: str, label: str) -> PromptVersion:
        """The version `label` points at. An unknown label is an error, never a quiet default."""
        labels = self.labels(name)
        if label not in labels:
            known = ", ".join(sorted(labels)) or "none"
            raise PromptNotFound(f"prompt {name!r} has no label {label!r} (its labels: {known})")
        return self.get(name, labels[label])

    def publish(self, name: str, *, model: str, system_prompt: str, **extra: Any) -> PromptVersion:
        """Write a new version, numbered one above the highest; an existing file is never overwritten."""
        folder = self.root / name / VERSIONS_DIR
        number = max(self.versions(name), default=0) + 1
        document = {"version": number, "model": model, "system_prompt": system_prompt, **extra}
        # "x": fail rather than replace, should two operators publish at the same moment.
        with open(folder / f"{number}.json", "x", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.write("\n")
        return PromptVersion(name, number, model, system_prompt, dict(extra))

    def move_label(self, name: str, label: str, version: int) -> None:
        """Point `label` at `version` (which must exist); the other labels stay as they are."""
        self.get(name, version)
        labels = self.labels(name)
        labels[label] = version
        path = self.root / name / LABELS_FILE
        # Write beside it and rename: a service starting meanwhile reads the old labels or the new, never half.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".labels-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(labels, file, indent=2)
            file.write("\n")
        os.replace(temporary, path)
