"""The environment of a grader process: the learner's shell less what would change pytest, Python or the SDK."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kata.grader.endpoint import LiveEndpoint

# Variables of the learner's shell that would change how pytest, Python or the SDK behave.
SCRUBBED_ENV_PREFIXES = ("OPENAI_", "PYTEST_", "KATA_", "PYTHON", "COV_CORE_", "VIRTUAL_ENV_PROMPT")


def grader_env(live: LiveEndpoint | None = None) -> dict[str, str]:
    """The grader's environment: the learner's shell less what would change pytest, Python or the SDK."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_ENV_PREFIXES)}
    env.update(PYTHONHASHSEED="0", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    if live is not None:
        env.update(live.child_env())
    return env
