"""The kit's embedding model: deterministic vectors for `POST /v1/embeddings`, at record time and in replay.

Recorded embeddings would tie a kata to one way of chunking and batching (a request about other texts,
or the same texts in other batches, matches no recording), and a real embedding model is far too large to
ship. So the grader answers embeddings requests itself with this scheme, the same in every run:

- a text is lower-cased and split into word tokens (letters and digits); a few very common English words
  are dropped, and a trailing plural "s" is taken off (so "refunds" and "refund" agree);
- each token adds +1 or -1 (chosen by its SHA-256) to one of `dimensions` coordinates (also chosen by its
  SHA-256): feature hashing, so texts sharing words get a higher cosine similarity;
- the vector is scaled to unit length (a text with no tokens gets a fixed unit vector).

It measures word overlap, not meaning: "refund" and "money back" are unrelated to it. Live mode and recording
against an endpoint use it too: a kata's thresholds are set for these vectors, and a recording then replays
with the same answers it was made with.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from typing import Any

DEFAULT_DIMENSIONS = 64
MAX_DIMENSIONS = 3072  # text-embedding-3-large's size; larger requests are refused like the API does
TOKEN = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    "a an and are as at be by do does for from has have how i in is it its me my of on or our so that the "
    "their them there this to was we what when where which who will with you your".split()
)


def tokens(text: str) -> list[str]:
    """The tokens a text contributes: lower-cased words, common words dropped, a plural `s` removed."""
    found = []
    for word in TOKEN.findall(text.lower()):
        if word in STOP_WORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word)
    return found


def _slot(token: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.sha256(token.encode()).digest()
    return int.from_bytes(digest[:4], "big") % dimensions, 1.0 if digest[4] & 1 else -1.0


def vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The unit-length embedding of one text."""
    values = [0.0] * dimensions
    for token in tokens(text):
        index, sign = _slot(token, dimensions)
        values[index] += sign
    norm = math.sqrt(sum(v * v for v in values))
    if norm == 0:
        values[0] = 1.0
        return values
    # float32, as the API sends them: learner code and checks then see the very same numbers.
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in values]


def embed(texts: list[str], dimensions: int = DEFAULT_DIMENSIONS) -> list[list[float]]:
    """The embeddings of `texts`, as the grader answers them."""
    return [vector(text, dimensions) for text in texts]


def _inputs(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [" ".join(map(str, value))]  # one text given as token ids
    if isinstance(value, list) and all(isinstance(v, str | list) for v in value):
        return [v if isinstance(v, str) else " ".join(map(str, v)) for v in value]
    return None


def response(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of the API's answer to an embeddings request `body`."""
    texts = _inputs(body.get("input"))
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if not texts or not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_DIMENSIONS:
        what = "input" if not texts else "dimensions"
        return 400, {"error": {"message": f"Invalid value for '{what}'.", "type": "invalid_request_error",
                               "param": what, "code": "invalid_value"}}
    as_base64 = body.get("encoding_format") == "base64"  # what the SDK asks for unless told otherwise
    data = []
    for index, values in enumerate(embed(texts, dimensions)):
        encoded: Any = (base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
                        if as_base64 else values)
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    used = sum(max(1, len(text.split())) for text in texts)
    return 200, {"object": "list", "data": data, "model": str(body.get("model", "text-embedding-3-small")),
                 "usage": {"prompt_tokens": used, "total_tokens": used}}
