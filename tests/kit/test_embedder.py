"""The kit's embedder answers `POST /v1/embeddings` in the API's wire format, the same way every time."""

from __future__ import annotations

import json
import math

import httpx2
import openai
import pytest

from kata import embedder


def _client() -> openai.OpenAI:
    def answer(request: httpx2.Request) -> httpx2.Response:
        status, body = embedder.response(json.loads(request.content))
        return httpx2.Response(status, json=body)

    return openai.OpenAI(api_key="test", base_url="https://api.openai.com/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(answer)))


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("encoding", ["float", None])  # None: the SDK asks for base64 and decodes it
def test_the_sdk_reads_the_vectors_it_would_get_from_the_api(encoding: str | None) -> None:
    texts = ["How do I get a refund?", "Refunds take five days", "Resetting your password"]
    options = {"encoding_format": encoding} if encoding else {}
    result = _client().embeddings.create(model="text-embedding-3-small", input=texts, dimensions=32, **options)
    vectors = [item.embedding for item in result.data]
    assert [len(v) for v in vectors] == [32, 32, 32]
    assert vectors == embedder.embed(texts, 32)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-5) for v in vectors)
    assert result.usage.prompt_tokens > 0


def test_texts_sharing_words_are_closer_than_unrelated_ones() -> None:
    refund, refunds, password = embedder.embed(
        ["how do I get a refund for my order", "refunds for an order take five days", "reset the password"], 64)
    assert _cosine(refund, refunds) > 0.3
    assert _cosine(refund, refunds) > _cosine(refund, password) + 0.3


def test_a_text_without_words_still_gets_a_unit_vector() -> None:
    assert embedder.vector("?!", 8) == [1.0, 0, 0, 0, 0, 0, 0, 0]


def test_bad_dimensions_are_refused_as_the_api_does() -> None:
    with pytest.raises(openai.BadRequestError):
        _client().embeddings.create(model="text-embedding-3-small", input="x", dimensions=0)
