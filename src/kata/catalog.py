"""The kata catalog: every `exercises/NN-slug/kata.toml`, read into validated models."""

from __future__ import annotations

import base64
import json
import os
import re
import tomllib
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class KitError(Exception):
    """A problem with the kit itself or with how it was called (exit code 2)."""


class ReplaySpec(BaseModel):
    """How replay identifies the input record a request is about."""

    model_config = ConfigDict(extra="forbid")

    record_pattern: str = Field(description="regex finding record ids in the user content of a request")

    @field_validator("record_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class KataSpec(BaseModel):
    """The contents of one `kata.toml`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^\d{2}$")
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=3)
    phase: int = Field(ge=2, le=4)
    skills: list[str] = Field(min_length=1)
    estimated_minutes: int = Field(gt=0)
    package: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    pass_mark: int = Field(default=100, ge=1, le=100, description="percent of the maximum score")
    time_limit: float = Field(default=60, gt=0, description="seconds for the whole kata")
    check_time_limit: float = Field(default=10, gt=0, description="seconds for one check")
    existing_tests_points: int = Field(default=1, ge=1)
    hints: list[str] = Field(min_length=1)
    replay: ReplaySpec

    @field_validator("hints")
    @classmethod
    def _no_empty_hint(cls, hints: list[str]) -> list[str]:
        for number, hint in enumerate(hints, 1):
            if not hint.strip():
                raise ValueError(f"hint {number} is empty")
        return hints

    @model_validator(mode="after")
    def _limits(self) -> KataSpec:
        if self.check_time_limit > self.time_limit:
            raise ValueError("check_time_limit is longer than time_limit")
        return self

    @property
    def name(self) -> str:
        """The folder name shared by every part of the kata, e.g. `01-ticket-triage`."""
        return f"{self.id}-{self.slug}"


@dataclass(frozen=True)
class Kata:
    """A kata and where its parts live in a kit."""

    spec: KataSpec
    root: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def exercise_dir(self) -> Path:
        return self.root / "exercises" / self.name

    @property
    def solution_dir(self) -> Path:
        return self.root / "solutions" / self.name

    @property
    def fixtures_dir(self) -> Path:
        return self.root / "fixtures" / self.name

    @property
    def cassette_dir(self) -> Path:
        return self.fixtures_dir / "cassettes"

    @property
    def service_tests_dir(self) -> Path:
        """The kit's pristine copy of the legacy service's own tests."""
        return self.fixtures_dir / "service-tests"

    @property
    def checks_dir(self) -> Path:
        return self.root / "tests" / "checks" / self.name

    @property
    def wrong_dir(self) -> Path:
        return self.root / "tests" / "wrong" / self.name

    @property
    def has_hidden_checks(self) -> bool:
        return self.checks_dir.is_dir() and any(self.checks_dir.glob("test_*.py"))

    @property
    def alternative_dir(self) -> Path:
        return self.root / "tests" / "alternative" / self.name

    def alternative_solutions(self) -> list[Path]:
        """Other correct solutions (overlays on the starter) that must also get full marks."""
        if not self.alternative_dir.is_dir():
            return []
        return sorted(p for p in self.alternative_dir.iterdir() if (p / "alternative.toml").is_file())

    def wrong_solutions(self) -> list[Path]:
        """The known-wrong solution overlays kept for this kata, sorted by name."""
        if not self.wrong_dir.is_dir():
            return []
        return sorted(p for p in self.wrong_dir.iterdir() if (p / "wrong.toml").is_file())


# A student edition keeps a kata's hints here, encoded, instead of in kata.toml: `kata hint` reveals them
# one at a time, and nobody reads the last one by accident while looking at the kata's settings.
HINTS_FILE = "hints.kata"
_HINTS_HEADER = "# kata hints, encoded so that they are revealed one at a time: run `kata hint NN`\n"
_HINTS_ARRAYS = (re.compile(r"^hints\s*=\s*\[[^\n]*\]\s*(#[^\n]*)?$\n?", re.MULTILINE),  # on one line
                 re.compile(r"^hints\s*=\s*\[\s*$.*?^\]\s*$\n?", re.MULTILINE | re.DOTALL))  # `]` on its own line


def encode_hints(hints: list[str]) -> str:
    """The text of a hints file: not a secret (anyone can decode it), only not readable at a glance."""
    packed = base64.b64encode(zlib.compress(json.dumps(hints).encode("utf-8"), 9)).decode("ascii")
    return _HINTS_HEADER + "\n".join(packed[i:i + 76] for i in range(0, len(packed), 76)) + "\n"


def decode_hints(text: str) -> list[str]:
    """The hints a hints file holds."""
    packed = "".join(line for line in text.splitlines() if line and not line.startswith("#"))
    hints = json.loads(zlib.decompress(base64.b64decode(packed)).decode("utf-8"))
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise ValueError("not a list of hints")
    return hints


def without_hints(toml_text: str) -> str:
    """A kata.toml's text without its `hints` array (for a student edition, which encodes them)."""
    wanted = {k: v for k, v in tomllib.loads(toml_text).items() if k != "hints"}
    for pattern in _HINTS_ARRAYS:
        stripped = pattern.sub("", toml_text, count=1)
        try:
            if tomllib.loads(stripped) == wanted:
                return stripped
        except tomllib.TOMLDecodeError:
            continue
    raise KitError("kata.toml: its hints array could not be taken out cleanly (write it on one line, or as "
                   "`hints = [` ... `]` with the brackets on lines of their own)")


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(x) for x in item["loc"]) or "(top level)"
        parts.append(f"field '{where}': {item['msg']}")
    return "; ".join(parts)


def load_spec(path: Path) -> KataSpec:
    """Read and validate one kata.toml; errors name the file and the field."""
    if not path.is_file():
        raise KitError(f"{path}: missing (every kata folder needs a kata.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise KitError(f"{path}: not valid TOML: {exc}") from exc
    encoded = path.parent / HINTS_FILE
    if "hints" not in data and encoded.is_file():
        try:
            data["hints"] = decode_hints(encoded.read_text(encoding="utf-8"))
        except (ValueError, zlib.error) as exc:
            raise KitError(f"{encoded}: not a hints file the kit wrote ({exc})") from exc
    try:
        spec = KataSpec.model_validate(data)
    except ValidationError as exc:
        raise KitError(f"{path}: {_describe(exc)}") from exc
    if path.parent.name != spec.name:
        raise KitError(f"{path}: field 'id'/'slug' give '{spec.name}' but the folder is '{path.parent.name}'")
    return spec


def is_kit(folder: Path) -> bool:
    """A kit (or a student edition) root: `pyproject.toml` beside `exercises/`, or beside `fixtures/` when the
    learner's exercises/ went missing (so that `kata reset` can bring the katas back)."""
    return (folder / "pyproject.toml").is_file() and ((folder / "exercises").is_dir() or (folder / "fixtures").is_dir())


def find_root(start: Path | None = None) -> Path:
    """The kit root: $KATA_ROOT, or the nearest kit folder upwards."""
    if env := os.environ.get("KATA_ROOT"):
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_kit(folder):
            return folder
    raise KitError("no kit found: run this inside the katas repository (a folder with exercises/)")


class Catalog:
    """All katas of one kit, in curriculum order (by phase, then id: kata 15 is a phase-3 kata added after
    the phase-4 ids were given). A kata whose kata.toml is broken is left out (and named in `broken`), so
    that one bad file does not stop the others from being graded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.broken: dict[str, str] = {}  # folder name -> what is wrong with its kata.toml

    @cached_property
    def katas(self) -> list[Kata]:
        katas = []
        exercises = self.root / "exercises"
        folders = sorted(p for p in exercises.iterdir() if p.is_dir() and p.name[:2].isdigit()) \
            if exercises.is_dir() else []
        for folder in folders:
            try:
                katas.append(Kata(load_spec(folder / "kata.toml"), self.root))
            except KitError as exc:
                self.broken[folder.name] = str(exc)
        ids = [k.id for k in katas]
        if len(set(ids)) != len(ids):
            raise KitError(f"{self.root / 'exercises'}: two katas share an id: {ids}")
        return sorted(katas, key=lambda k: (k.spec.phase, k.id))

    def get(self, kata_id: str) -> Kata:
        """The kata with this id (`1`, `01` and `01-ticket-triage` all work)."""
        wanted = kata_id.split("-", 1)[0].zfill(2)
        for kata in self.katas:
            if kata.id == wanted:
                return kata
        for name, problem in self.broken.items():
            if name[:2] == wanted:
                raise KitError(problem)
        known = ", ".join(k.id for k in self.katas) or "none"
        raise KitError(f"unknown kata '{kata_id}' (known: {known})")

    def select(self, ids: list[str] | None) -> list[Kata]:
        """The katas named (all when none are)."""
        if not ids or ids == ["all"]:
            return list(self.katas)
        return [self.get(i) for i in ids]
