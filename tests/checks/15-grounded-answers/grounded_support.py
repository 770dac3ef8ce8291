"""Helpers of kata 15's checks: building the learner's help centre, and what the checks expect of it.

Everything here observes behaviour only: the public constructor, `import_folder`, `index`, `retrieve`,
`answer` and the CLI's `main`, the values they return and the requests that reach the (replayed) model.
The expected retrieval is computed here, independently of the learner's code, with the kit's embedder:
the same vectors the grader sends back for `POST /v1/embeddings`.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata.checks import expect
from kata.embedder import embed

DEFAULTS = {
    "embedding_model": "text-embedding-3-small",
    "embedding_dimensions": 512,
    "answer_model": "gpt-4o-mini",
    "top_k": 3,
    "min_similarity": 0.2,
    "request_timeout": 15.0,
}
SCHEMA_FIELDS = ("answer", "citations")  # sorted, as SentRequest.schema_fields lists them
SCORE_TOLERANCE = 1e-4  # float32 vectors: a learner's cosine and the check's agree far closer than this
TIE = 1e-6  # scores closer than this are the same score (the check's data avoid ties at a cut-off)

_BLANK_LINE = re.compile(r"\n[ \t]*\n")


# --------------------------------------------------------------------------- the articles, as the checks see them


def paragraphs(body: str) -> list[str]:
    """The brief's chunks: the body split at blank lines, each paragraph stripped, empty ones dropped."""
    return [part.strip() for part in _BLANK_LINE.split(body.replace("\r\n", "\n")) if part.strip()]


def read_articles(folder: Path) -> dict[str, str]:
    """id -> body of the Markdown articles of a folder the grader owns, read as the legacy importer reads them
    (the file name is the id, the first line the title, the rest the body)."""
    articles = {}
    for path in sorted(folder.glob("*.md")):
        _, _, rest = path.read_text(encoding="utf-8").replace("\r\n", "\n").partition("\n")
        articles[path.stem] = rest.strip()
    return articles


@dataclass(frozen=True)
class Hit:
    """One paragraph the brief's retrieval returns."""

    score: float
    article_id: str
    text: str

    def show(self) -> str:
        return f"{self.article_id} ({self.score:.3f}) {short(self.text)!r}"


def short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Corpus:
    """The chunks of a set of articles, and the retrieval the brief defines over them."""

    def __init__(self, articles: dict[str, str]) -> None:
        self.chunks = [(article_id, text) for article_id, body in articles.items() for text in paragraphs(body)]
        self._vectors: dict[int, list[list[float]]] = {}

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.chunks]

    def vectors(self, dimensions: int) -> list[list[float]]:
        if dimensions not in self._vectors:
            self._vectors[dimensions] = embed(self.texts, dimensions)
        return self._vectors[dimensions]

    def scored(self, question: str, dimensions: int = DEFAULTS["embedding_dimensions"]) -> list[Hit]:
        """Every chunk with its cosine similarity to the question, best first."""
        query = embed([question], dimensions)[0]
        hits = [
            Hit(sum(a * b for a, b in zip(vector, query, strict=True)), article_id, text)
            for vector, (article_id, text) in zip(self.vectors(dimensions), self.chunks, strict=True)
        ]
        return sorted(hits, key=lambda hit: -hit.score)

    def expected(
        self,
        question: str,
        k: int = DEFAULTS["top_k"],
        threshold: float = DEFAULTS["min_similarity"],
        dimensions: int = DEFAULTS["embedding_dimensions"],
    ) -> list[Hit]:
        """The at most k most similar chunks at or above the threshold, best first."""
        eligible = [hit for hit in self.scored(question, dimensions) if hit.score >= threshold]
        chosen = eligible[:k]
        if len(eligible) > k and abs(eligible[k - 1].score - eligible[k].score) < TIE:
            raise AssertionError(f"kit defect: the check's question {question!r} has a tie at its cut-off")
        return chosen

    def score_of(self, text: str, question: str, dimensions: int) -> float | None:
        """The cosine similarity of a chunk's text to the question (None when no chunk has that text)."""
        for hit in self.scored(question, dimensions):
            if hit.text == text:
                return hit.score
        return None


# --------------------------------------------------------------------------- building the help centre


def repository(learner: Any, db_path: Path) -> Any:
    """The learner's ArticleRepository on `db_path`."""
    return learner.load("helpdesk.repository").ArticleRepository(db_path)


def make_settings(learner: Any, db_path: Path, **fields: Any) -> Any:
    """Settings(db_path=..., **fields), failing clearly when a field of the brief is missing."""
    settings_cls = learner.load("helpdesk.config").Settings
    shown = ", ".join(f"{name}={value!r}" for name, value in fields.items())
    try:
        inspect.signature(settings_cls).bind(db_path=str(db_path), **fields)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(db_path=..., {shown}) is refused ({err})",
            expected="Settings has the fields embedding_model, embedding_dimensions, answer_model, top_k, "
            "min_similarity and request_timeout, with the brief's defaults",
            hint="Add the six fields, with their defaults, to the Settings dataclass in helpdesk/config.py.",
        )
    return settings_cls(db_path=str(db_path), **fields)


def make_centre(learner: Any, db_path: Path, client: Any, **fields: Any) -> Any:
    """HelpCentre(ArticleRepository(db_path), settings=Settings(db_path=..., **fields), client=client)."""
    settings = make_settings(learner, db_path, **fields)
    repo = repository(learner, db_path)
    centre_cls = learner.load("helpdesk.service").HelpCentre
    try:
        inspect.signature(centre_cls).bind(repo, settings=settings, client=client)
    except TypeError as err:
        expect(
            False,
            observed=f"HelpCentre(repo, settings=..., client=...) is refused ({err})",
            expected="HelpCentre(repo, settings=None, client=None), client being an openai.OpenAI",
            hint="Add a `client` parameter (default None) to HelpCentre and make every model request through it.",
        )
    return centre_cls(repo, settings=settings, client=client)


def indexed_centre(learner: Any, db_path: Path, client: Any, folder: Path, **fields: Any) -> Any:
    """A help centre whose articles were imported from `folder` (the legacy import) and then indexed."""
    centre = make_centre(learner, db_path, client, **fields)
    centre.import_folder(str(folder))
    call_index(centre)
    return centre


def call_index(centre: Any) -> None:
    index = getattr(centre, "index", None)
    expect(
        index is not None,
        observed="HelpCentre has no index() method",
        expected="index() brings the paragraphs' embeddings up to date with the stored articles",
        hint="Add HelpCentre.index(): split the articles into paragraphs and embed the ones not embedded yet.",
    )
    index()


# --------------------------------------------------------------------------- requests


def embedding_requests(requests: list[Any]) -> list[Any]:
    return [r for r in requests if r.path.endswith("/embeddings")]


def chat_requests(requests: list[Any]) -> list[Any]:
    return [r for r in requests if not r.path.endswith("/embeddings")]


def inputs_of(request: Any) -> list[str]:
    """The texts of one embeddings request (`input` is a string or a list of strings)."""
    value = request.body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def embedded_texts(requests: list[Any]) -> list[str]:
    return [text for request in embedding_requests(requests) for text in inputs_of(request)]


def describe_texts(texts: list[str], limit: int = 3) -> str:
    shown = "; ".join(repr(short(t)) for t in texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


def compare_texts(observed: list[str], expected: list[str]) -> str | None:
    """None when both hold the same texts as often; else what differs, in words."""
    got, want = Counter(observed), Counter(expected)
    if got == want:
        return None
    missing = list((want - got).elements())
    extra = list((got - want).elements())
    parts = []
    if missing:
        parts.append(f"{len(missing)} paragraph(s) not embedded: {describe_texts(missing)}")
    repeated = [t for t in extra if t in want]
    unknown = [t for t in extra if t not in want]
    if repeated:
        parts.append(f"{len(repeated)} embedded more than once: {describe_texts(repeated)}")
    if unknown:
        parts.append(f"{len(unknown)} text(s) that are not one paragraph of an article: {describe_texts(unknown)}")
    return "; ".join(parts)


def messages_of(request: Any) -> list[tuple[str, str]]:
    """(role, text) of each message of a chat request."""
    found = []
    for message in request.body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
        found.append((str(message.get("role")), content if isinstance(content, str) else ""))
    return found


def user_document(request: Any) -> tuple[dict[str, Any] | None, str]:
    """The user message parsed as the brief's JSON object, or None and why not."""
    users = [text for role, text in messages_of(request) if role == "user"]
    if len(users) != 1:
        return None, f"the request has {len(users)} user messages"
    try:
        document = json.loads(users[0])
    except ValueError as err:
        return None, f"the user message is not valid JSON ({err.__class__.__name__}: {str(err)[:80]})"
    if not isinstance(document, dict):
        return None, f"the user message is JSON, but a {type(document).__name__}, not an object"
    return document, ""


def sources_of(document: dict[str, Any]) -> list[tuple[Any, Any]] | None:
    """(article, text) of each source of the user document, or None when `sources` is not a list of objects."""
    sources = document.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        return None
    return [(s.get("article"), s.get("text")) for s in sources]


# --------------------------------------------------------------------------- results


def passages_of(result: Any, what: str) -> list[tuple[str, str, float]]:
    """(article_id, text, score) of each passage retrieve() returned, failing clearly on another shape."""
    try:
        items = list(result)
    except TypeError:
        items = None
    expect(
        items is not None,
        observed=f"{what} returned {result!r}",
        expected="a list of passages, each with article_id, text and score",
        hint="Return a list of small records (a dataclass, say) with the fields article_id, text and score.",
    )
    found = []
    for item in items or []:
        fields = [getattr(item, name, None) for name in ("article_id", "text", "score")]
        expect(
            isinstance(fields[0], str) and isinstance(fields[1], str) and isinstance(fields[2], int | float),
            observed=f"{what} returned a passage {item!r}",
            expected="each passage has article_id (str), text (str) and score (a number)",
            hint="Give every passage the fields article_id, text and score.",
        )
        found.append((fields[0], fields[1], float(fields[2])))
    return found


def show_passages(passages: list[tuple[str, str, float]]) -> str:
    if not passages:
        return "no passage"
    return ", ".join(f"{a} ({s:.3f}) {short(t)!r}" for a, t, s in passages)


def show_hits(hits: list[Hit]) -> str:
    return ", ".join(hit.show() for hit in hits) if hits else "no passage"


def expect_retrieval(passages: list[tuple[str, str, float]], hits: list[Hit], what: str, why: str, hint: str) -> None:
    """Expect the passages the brief's retrieval gives: the same chunks, the same scores, best first."""
    same_chunks = Counter((a, t) for a, t, _ in passages) == Counter((h.article_id, h.text) for h in hits)
    same_scores = len(passages) == len(hits) and all(
        abs(s - h.score) <= SCORE_TOLERANCE for (_, _, s), h in zip(passages, hits, strict=True)
    )
    expect(
        same_chunks and same_scores,
        observed=f"{what}: {show_passages(passages)}",
        expected=f"{show_hits(hits)} ({why})",
        hint=hint,
    )


def answer_of(result: Any, what: str) -> tuple[str, list[str], bool]:
    """(text, citations, answered) of an Answer, failing clearly on another shape."""
    text = getattr(result, "text", None)
    citations = getattr(result, "citations", None)
    answered = getattr(result, "answered", None)
    expect(
        isinstance(text, str) and isinstance(citations, list | tuple) and answered in (True, False),
        observed=f"{what} returned {result!r}",
        expected="an answer with text (str), citations (a list of article ids) and answered (True or False)",
        hint="Return a small record (a dataclass, say) with the fields text, citations and answered.",
    )
    return text, [str(c) for c in citations], bool(answered)


def recall(corpus: Corpus, golden: list[dict[str, Any]], k: int) -> float:
    """The brief's recall@k of the retrieval on a golden set, computed by the check."""
    total = 0.0
    for item in golden:
        found = {hit.article_id for hit in corpus.expected(item["question"], k=k)}
        wanted = set(item["articles"])
        total += len(found & wanted) / len(wanted)
    return total / len(golden)


def close(a: float, b: float, tolerance: float = 1e-9) -> bool:
    return math.isclose(a, b, abs_tol=tolerance)


# --------------------------------------------------------------------------- a legacy database

# The articles table exactly as the legacy release (3.2, the starter of this kata) creates it.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    views      INTEGER NOT NULL DEFAULT 0
)
"""


def legacy_database(path: Path, articles: dict[str, tuple[str, str]]) -> None:
    """An SQLite file as the legacy release leaves it (built by the grader, not by the learner's code)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(LEGACY_SCHEMA)
        conn.executemany(
            "INSERT INTO articles (id, title, body, updated_at, views) VALUES (?, ?, ?, ?, ?)",
            [(article_id, title, body, "2024-11-05T09:30:00+00:00", 40 + n)
             for n, (article_id, (title, body)) in enumerate(articles.items())],
        )
        conn.commit()
    finally:
        conn.close()


def titled_articles(folder: Path, ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (title, body) of some articles of a folder the grader owns."""
    found = {}
    for article_id in ids:
        first, _, rest = (folder / f"{article_id}.md").read_text(encoding="utf-8").partition("\n")
        found[article_id] = (first.removeprefix("# ").strip(), rest.strip())
    return found
