"""A real OpenAI-compatible endpoint the grader records against (`kata live`, `kata record`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kata.grader import replay


@dataclass(frozen=True)
class LiveEndpoint:
    """A real OpenAI-compatible endpoint, and the model to ask instead of the one the code names."""

    base_url: str
    api_key: str = field(repr=False)
    model: str | None = None
    organization: str | None = field(default=None, repr=False)
    project: str | None = field(default=None, repr=False)

    def child_env(self) -> dict[str, str]:
        """What the grading process reads (the learner's OPENAI_* variables are removed there)."""
        env = {"KATA_LIVE_BASE_URL": self.base_url, "KATA_LIVE_API_KEY": self.api_key}
        for name, value in (("KATA_LIVE_MODEL", self.model), ("KATA_LIVE_ORGANIZATION", self.organization),
                            ("KATA_LIVE_PROJECT", self.project)):
            if value:
                env[name] = value
        return env

    @property
    def is_local(self) -> bool:
        return urlsplit(self.base_url).hostname in replay.LOCAL_HOSTS

    def describe(self) -> str:
        """`https://api.openai.com/v1, model gpt-4o-mini` (never the key)."""
        model = f", model {self.model} instead of the one your code names" if self.model else ""
        return f"{self.base_url}{model}"
