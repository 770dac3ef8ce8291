"""The help centre's data: articles as the customer-care team writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One help-centre article. `id` is the number the team quotes, such as `KB-104`."""

    id: str
    title: str
    body: str
    updated_at: datetime | None = None

    @property
    def url(self) -> str:
        """Where the web shop shows the article."""
        return f"/help/{self.id.lower()}"
