"""Token estimates, left behind by the digest spike (OPS-311) and agreed with the platform team.

The on-call hosts have no internet egress, so no tokenizer can be downloaded there; this rough
estimate (about four characters per token for English text) is what the cost dashboard uses too.
Nothing in the tool calls it yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# Every chat message costs a few tokens of framing (role, separators) beside its content.
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """Estimated tokens of a text: one per four characters, rounded up (0 for an empty text)."""
    return math.ceil(len(text) / 4)


def estimate_chat_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimated tokens of a chat request: each message's content plus its framing."""
    return sum(MESSAGE_OVERHEAD_TOKENS + estimate_tokens(str(m.get("content") or "")) for m in messages)
