"""Domain objects shared by the repository, the digest builder and the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

# Incident numbers continue the wiki's hand-kept list, which ended at INC-2000 when this tool
# replaced it; people quote them in post-mortems, so the offset can never change.
REF_OFFSET = 2000


class Severity(IntEnum):
    """Incident severity; 1 is the worst. Stored as the number, shown as "SEV1".."SEV4"."""

    SEV1 = 1
    SEV2 = 2
    SEV3 = 3
    SEV4 = 4

    @property
    def label(self) -> str:
        """The name responders use, e.g. "SEV2"."""
        return f"SEV{self.value}"


@dataclass
class Incident:
    """An incident. `id` is None until the repository has stored it; `started_at` is in UTC."""

    id: int | None
    title: str
    severity: Severity
    started_at: datetime
    status: str = "open"
    digest: str | None = None

    @property
    def ref(self) -> str:
        """The human-facing reference, e.g. "INC-2001"; empty until the incident is stored."""
        return f"INC-{REF_OFFSET + self.id}" if self.id is not None else ""


@dataclass
class Event:
    """One line of an incident's timeline, as it was received.

    `at` is the timestamp text exactly as the source sent it (pager webhook, chat bot, monitoring,
    status page mails, or a person on the CLI), so its format and time zone depend on the source.
    """

    id: int | None
    incident_id: int
    at: str
    source: str
    message: str
