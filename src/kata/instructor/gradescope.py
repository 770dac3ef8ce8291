"""A Gradescope autograder bundle: `setup.sh`, `run_autograder` and the kit with its hidden checks.

Gradescope unpacks the bundle into `/autograder/source`, runs `setup.sh` once to build its image,
then `run_autograder` for each submission (uploaded to `/autograder/submission`), which must write
`/autograder/results/results.json`. Ours grades with `kata grade --target` and writes one
Gradescope test per check, with the learner-facing message as its output.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kata.catalog import Catalog, Kata, KitError
from kata.instructor import release

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PY=python3.11
fi
apt-get install -y -qq git >/dev/null 2>&1 || true   # known-wrong patches are not shipped; git is optional
"$PY" -m venv /autograder/kata-venv
/autograder/kata-venv/bin/pip install --quiet -c kit/constraints.txt ./kit
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json behind.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{KATA_PYTHON:-$ROOT/kata-venv/bin/python}}"
KIT="$ROOT/source/kit"
mkdir -p "$ROOT/results"
cd "$ROOT"
"$PY" -m kata --root "$KIT" grade {katas}--target "$ROOT/submission" \\
  --gradescope "$ROOT/results/results.json" --gradescope-visibility {visibility}
if [ ! -s "$ROOT/results/results.json" ]; then
  echo '{{"score": 0, "output": "The grader could not run. Please tell your instructor.", "tests": []}}' \\
    > "$ROOT/results/results.json"
fi
exit 0
"""


@dataclass(frozen=True)
class Bundle:
    """The zip written, and its size."""

    path: Path
    size: int


def build_bundle(catalog: Catalog, out: Path, *, katas: list[Kata] | None = None,
                 visibility: str = "after_published") -> Bundle:
    """Write the Gradescope autograder zip to `out`: the kit is a proven edition with hidden checks."""
    katas = katas or catalog.katas
    if out.suffix != ".zip":
        raise KitError(f"{out}: the Gradescope bundle is a .zip file")
    with tempfile.TemporaryDirectory(prefix="kata-gradescope-") as tmp:
        stage = Path(tmp) / "bundle"
        built = release.build(catalog, stage / "kit", with_hidden_checks=True, katas=katas)
        if not built.proven:
            failed = [r.id for r in built.proof if not r.full_marks]
            raise KitError(f"the reference solutions of {', '.join(failed)} do not pass against the bundle")
        shutil.rmtree(stage / "kit" / ".github", ignore_errors=True)  # Gradescope grades; no workflow needed
        names = "".join(f"{k.id} " for k in katas) if len(katas) < len(catalog.katas) else ""
        (stage / "setup.sh").write_text(SETUP_SH, encoding="utf-8")
        (stage / "run_autograder").write_text(RUN_AUTOGRADER.format(katas=names, visibility=visibility),
                                              encoding="utf-8")
        for script in ("setup.sh", "run_autograder"):
            (stage / script).chmod(0o755)
        out.parent.mkdir(parents=True, exist_ok=True)
        archive = shutil.make_archive(str(out.with_suffix("")), "zip", root_dir=stage)
    path = Path(archive)
    return Bundle(path=path, size=path.stat().st_size)
