"""Prompt files: <root>/<name>/labels.json and <root>/<name>/versions/<n>.json, as plain dicts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class UnknownPrompt(KeyError):
    """The configuration names a label or a version that is not there."""

    def __str__(self) -> str:  # KeyError quotes its message; an operator wants the sentence
        return str(self.args[0])


def _folder(root: str | os.PathLike[str], name: str) -> Path:
    return Path(root) / name


def read_labels(root: str | os.PathLike[str], name: str) -> dict[str, int]:
    with open(_folder(root, name) / "labels.json", encoding="utf-8") as file:
        return {key: int(value) for key, value in json.load(file).items()}


def read_version(root: str | os.PathLike[str], name: str, number: int) -> dict[str, Any]:
    path = _folder(root, name) / "versions" / f"{number}.json"
    if not path.is_file():
        raise UnknownPrompt(f"version {number} of {name} does not exist (no file {path})")
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    document["version"] = number
    return document


def lookup(root: str | os.PathLike[str], name: str, label: str) -> dict[str, Any]:
    """The version document the label points at; UnknownPrompt when the label or the version is missing."""
    labels = read_labels(root, name)
    if label not in labels:
        raise UnknownPrompt(
            f"label {label!r} is not defined for prompt {name}; defined labels: {', '.join(sorted(labels))}"
        )
    return read_version(root, name, labels[label])


def publish_version(root: str | os.PathLike[str], name: str, model: str, system_prompt: str, note: str) -> int:
    """Write the next version (highest + 1) and return its number; never touches an existing file."""
    versions = _folder(root, name) / "versions"
    numbers = [int(p.stem) for p in versions.iterdir() if p.suffix == ".json" and p.stem.isdigit()]
    number = (max(numbers) if numbers else 0) + 1
    document = {"version": number, "model": model, "system_prompt": system_prompt, "note": note}
    fd = os.open(versions / f"{number}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps(document, indent=2) + "\n")
    return number


def set_label(root: str | os.PathLike[str], name: str, label: str, number: int) -> None:
    labels = read_labels(root, name)
    labels[label] = number
    target = _folder(root, name) / "labels.json"
    scratch = target.with_name(".labels.json.new")
    scratch.write_text(json.dumps(labels, indent=2) + "\n", encoding="utf-8")
    os.replace(scratch, target)
