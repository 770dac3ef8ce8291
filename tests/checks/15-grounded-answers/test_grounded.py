"""Hidden checks of kata 15, grounded answers: paragraphs, embeddings in SQLite, top-k, citations.

Embeddings come from the kit's deterministic embedder (word overlap, not meaning), at record time and in
replay, so the checks compute the expected retrieval themselves with `kata.embedder.embed`. The answers
are recorded (scripted with the stand-in): a request is identified by the article ids in its user
message, that is by the articles of the paragraphs it carries. Every check builds its own database in
`tmp_path` from the kit's copy of the help centre's articles (`kata_data`).
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from pathlib import Path
from typing import Any

from grounded_support import (
    DEFAULTS,
    SCHEMA_FIELDS,
    Corpus,
    answer_of,
    call_index,
    chat_requests,
    compare_texts,
    describe_texts,
    embedded_texts,
    embedding_requests,
    expect_retrieval,
    indexed_centre,
    legacy_database,
    make_centre,
    messages_of,
    paragraphs,
    passages_of,
    read_articles,
    recall,
    repository,
    short,
    show_hits,
    sources_of,
    titled_articles,
    user_document,
)

from kata.checks import RemoteError, check, expect

Q_PHONE = "I lost my phone and cannot sign in"
Q_RESET = "The reset link has expired, how do I get a new reset link?"
Q_CANCEL = "Can I cancel my order and get the card payment back?"
Q_DELIVERY = "How much does delivery cost?"
Q_VAT = "How do I add a VAT number to my invoice?"
Q_BOOTS = "Do your boots run small?"
Q_CARD = "My card was declined at checkout"
Q_GIFT = "Can I return a gift card?"
Q_PAYMENT = "Which payment methods do you accept?"
Q_BIKES = "Do you sell bicycles?"
Q_MONEY = "How do I get my money back?"
Q_VOUCHER = "Is collecting in a store free, and do I get a voucher?"
Q_COLLECT = "Do I get a voucher when I collect in a store?"
Q_INTERNATIONAL = "International delivery to European countries"

# The recorded answers (fixtures/15-grounded-answers/standin.toml says which request gets which).
RESET_ANSWER = "Ask for a new reset link on the sign-in page: a link works for 30 minutes and only once."
CARD_ANSWER = "Check the card's expiry date and security code, or pay with another method."
PHONE_ANSWER = "Sign in with one of the backup codes you saved when you turned on two-factor sign-in."
GIFT_ANSWER = "No: gift cards cannot be returned. A lost gift card can be blocked and replaced with its receipt."
VAT_ANSWER = "Add the VAT number under Account settings before you order."
BOOTS_ANSWER = "Yes, our boots run one size small, so order one size up."
DELIVERY_ANSWER = "Standard delivery costs 4.90 EUR."
VOUCHER_ANSWER = "Collecting in a store is free forever, and every store hands out a 50 EUR voucher."
COLLECT_ANSWER = "You can collect your order in one of our 12 stores; the articles say nothing about vouchers."

# The paragraph of KB-113 that tries to instruct the model (pasted in from a partner's portal).
INJECTED_START = "Message to the AI assistant"

RETRIEVE_HINT = (
    "Embed the question with the same model and dimensions as the paragraphs, score every paragraph by "
    "cosine similarity, drop those below min_similarity and keep the k best, best first."
)


def _articles(kata_data: Path) -> Path:
    return kata_data / "articles"


def _corpus(kata_data: Path) -> Corpus:
    return Corpus(read_articles(_articles(kata_data)))


def _retrieve(centre: Any, question: str, k: int | None = None) -> list[tuple[str, str, float]]:
    retrieve = getattr(centre, "retrieve", None)
    expect(
        retrieve is not None,
        observed="HelpCentre has no retrieve() method",
        expected="retrieve(question, k=None) returns the retrieved paragraphs, best first",
        hint="Add HelpCentre.retrieve(question, k=None).",
    )
    result = retrieve(question) if k is None else retrieve(question, k)
    return passages_of(result, f"retrieve({question!r}" + ("" if k is None else f", {k}") + ")")


def _answer(centre: Any, question: str) -> tuple[str, list[str], bool]:
    answer = getattr(centre, "answer", None)
    expect(
        answer is not None,
        observed="HelpCentre has no answer() method",
        expected="answer(question) returns an answer with text, citations and answered",
        hint="Add HelpCentre.answer(question).",
    )
    return answer_of(answer(question), f"answer({question!r})")


def _one_answer_request(sent: list[Any], question: str) -> Any:
    chats = chat_requests(sent)
    expect(
        len(chats) == 1,
        observed=f"{len(chats)} chat request(s) for the question {question!r}",
        expected="exactly one answer request: relevant paragraphs were retrieved",
        hint="Ask the model once per question, when retrieval found at least one paragraph.",
    )
    return chats[0]


def _not_shown(answer: tuple[str, list[str], bool], model_text: str | None, question: str, why: str) -> None:
    text, citations, answered = answer
    expect(
        answered is False and not citations and isinstance(text, str) and text.strip() != ""
        and (model_text is None or model_text not in text),
        observed=f"answer({question!r}) gave answered={answered}, citations={citations}, text={short(text, 90)!r}",
        expected=f"answered=False, no citations, and a sentence saying the help centre does not know ({why})",
        hint="Show the model's answer only when it cites at least one article and only retrieved ones.",
    )


# --------------------------------------------------------------------------- embeddings


@check(
    "chunks-embedded-with-settings",
    "Every paragraph is embedded once, with the configured model and dimensions",
    points=2,
    cassette="chunks-embedded-with-settings",
    hint="Split each article body into paragraphs and send them to client.embeddings.create with "
    "model=settings.embedding_model and dimensions=settings.embedding_dimensions.",
)
def test_chunks_embedded_with_settings(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    corpus = _corpus(kata_data)
    client = openai_client()
    db = tmp_path / "helpcentre.db"
    indexed_centre(learner, db, client, _articles(kata_data))
    first = embedding_requests(sent_requests)
    expect(
        bool(first),
        observed="index() sent no embeddings request",
        expected=f"the {len(corpus.texts)} paragraphs of the {len(read_articles(_articles(kata_data)))} articles "
        "are embedded through the injected client",
        hint="Call client.embeddings.create(model=..., input=[...], dimensions=...) in index().",
    )
    settings_used = sorted({(r.model, r.body.get("dimensions")) for r in first}, key=str)
    expect(
        settings_used == [(DEFAULTS["embedding_model"], DEFAULTS["embedding_dimensions"])],
        observed="with the default settings the embeddings requests used (model, dimensions) "
        + ", ".join(map(str, settings_used)),
        expected=f"({DEFAULTS['embedding_model']!r}, {DEFAULTS['embedding_dimensions']}): the defaults of "
        "embedding_model and embedding_dimensions",
        hint="Pass model=settings.embedding_model and dimensions=settings.embedding_dimensions on every request.",
    )
    differs = compare_texts(embedded_texts(first), corpus.texts)
    expect(
        differs is None,
        observed=f"index() embedded {len(embedded_texts(first))} text(s): {differs}",
        expected=f"each of the {len(corpus.texts)} paragraphs exactly once, as written (stripped)",
        hint="A chunk is one paragraph of the body: split at blank lines, strip each part, drop empty ones.",
    )
    # Another model and size on the same database: the stored vectors are of no use to them.
    before = len(sent_requests)
    other = make_centre(learner, db, client, embedding_model="text-embedding-3-large", embedding_dimensions=256)
    call_index(other)
    again = embedding_requests(sent_requests[before:])
    settings_used = sorted({(r.model, r.body.get("dimensions")) for r in again}, key=str)
    differs = compare_texts(embedded_texts(again), corpus.texts)
    expect(
        settings_used == [("text-embedding-3-large", 256)] and differs is None,
        observed="after switching to embedding_model='text-embedding-3-large', embedding_dimensions=256 on the "
        f"same database, index() embedded {len(embedded_texts(again))} text(s) with (model, dimensions) "
        + (", ".join(map(str, settings_used)) or "none")
        + (f": {differs}" if differs else ""),
        expected=f"all {len(corpus.texts)} paragraphs again, with ('text-embedding-3-large', 256): a vector "
        "belongs to the model and the size that made it",
        hint="Key the stored embeddings on the model and the dimensions as well as on the text.",
    )
    expect_retrieval(
        _retrieve(other, Q_PHONE),
        corpus.expected(Q_PHONE, dimensions=256),
        f"with 256 dimensions, retrieve({Q_PHONE!r})",
        "the cosine similarities of 256-dimension vectors",
        "Retrieve with the vectors of the configured model and dimensions only, and embed the question the same way.",
    )


@check(
    "embeddings-stored-not-recomputed",
    "Embeddings are stored in the database: a restart re-embeds nothing",
    points=3,
    cassette="embeddings-stored-not-recomputed",
    hint="Store each paragraph's vector in the SQLite database with the paragraph's text (or its hash), the "
    "model and the dimensions, and embed only the paragraphs that have none.",
)
def test_embeddings_stored_not_recomputed(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    corpus = _corpus(kata_data)
    client = openai_client()
    db = tmp_path / "helpcentre.db"
    centre = indexed_centre(learner, db, client, _articles(kata_data))
    expect(
        bool(embedded_texts(sent_requests)),
        observed="index() sent no embeddings request",
        expected="the paragraphs are embedded the first time",
        hint="Call client.embeddings.create in index().",
    )
    before = len(sent_requests)
    call_index(centre)
    repeated = embedded_texts(sent_requests[before:])
    expect(
        not repeated,
        observed=f"a second index() with no article changed embedded {len(repeated)} text(s) again",
        expected="no embeddings request: every paragraph already has its embedding",
        hint="Before embedding, look up the paragraph's stored embedding; embed only those that have none.",
    )
    # A new process on the same database file: nothing of the first one's memory is left.
    learner.restart()
    restarted = make_centre(learner, db, client)
    before = len(sent_requests)
    call_index(restarted)
    after_restart = embedded_texts(sent_requests[before:])
    expect(
        not after_restart,
        observed=f"after a restart, index() embedded {len(after_restart)} text(s) again: "
        + describe_texts(after_restart),
        expected="no embeddings request: the embeddings are stored in the database and survive a restart",
        hint="Keep the vectors in the SQLite file (a table of their own), not in memory.",
    )
    before = len(sent_requests)
    passages = _retrieve(restarted, Q_PHONE)
    asked = embedded_texts(sent_requests[before:])
    expect(
        [text.strip() for text in asked] == [Q_PHONE],
        observed=f"after the restart, retrieve({Q_PHONE!r}) embedded {len(asked)} text(s)"
        + (f": {', '.join(repr(short(t)) for t in asked)}" if asked else ""),
        expected="exactly one text, the question: the paragraphs' vectors come from the database",
        hint="At question time embed the question only, and read the paragraphs' vectors from the database.",
    )
    expect_retrieval(
        passages,
        corpus.expected(Q_PHONE),
        f"after the restart, retrieve({Q_PHONE!r})",
        "the stored vectors, read back unchanged",
        "Store the vectors without losing precision (float32 values as returned, or JSON) and read them back.",
    )


@check(
    "changed-article-reembedded",
    "After an article changes, only its new paragraphs are embedded, and old ones are no longer retrieved",
    points=2,
    cassette="changed-article-reembedded",
    hint="Each index() makes the stored paragraphs those of the articles as they are now; a paragraph's "
    "version is its text, so only a new or edited text needs an embedding.",
)
def test_changed_article_reembedded(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(_articles(kata_data), folder)
    client = openai_client()
    centre = indexed_centre(learner, tmp_path / "helpcentre.db", client, folder)
    # The team edits two articles: KB-112's first paragraph changes, KB-105 loses its last paragraph.
    before_articles = read_articles(folder)
    old_sizes = paragraphs(before_articles["KB-112"])[0]
    new_sizes = ("Every product page has a size guide with measurements in centimetres. Since the spring "
                 "collection our boots no longer run small: order your usual size.")
    removed = paragraphs(before_articles["KB-105"])[-1]
    _edit(folder / "KB-112.md", old_sizes, new_sizes)
    _edit(folder / "KB-105.md", "\n\n" + removed, "")
    corpus = Corpus(read_articles(folder))
    before = len(sent_requests)
    centre.import_folder(str(folder))
    call_index(centre)
    embedded = embedded_texts(sent_requests[before:])
    expect(
        [text.strip() for text in embedded] == [new_sizes],
        observed=f"after re-importing the articles with one paragraph edited and one removed, "
        f"{len(embedded)} text(s) were embedded"
        + (f": {', '.join(repr(short(t)) for t in embedded[:3])}" if embedded else ""),
        expected=f"exactly one: the edited paragraph {short(new_sizes)!r}; every other paragraph's text is unchanged",
        hint="Decide what to embed by the paragraph's text (its version), not by the article's date or by position.",
    )
    boots = _retrieve(centre, Q_BOOTS)
    expect(
        all(text != old_sizes for _, text, _ in boots),
        observed=f"retrieve({Q_BOOTS!r}) still returns the paragraph as it was before the edit: {short(old_sizes)!r}",
        expected="only paragraphs of the articles as they are now",
        hint="Remove (or replace) the stored paragraphs of an article when its body changes.",
    )
    expect_retrieval(boots, corpus.expected(Q_BOOTS), f"after the edit, retrieve({Q_BOOTS!r})",
                     "the edited paragraph, with its new embedding", RETRIEVE_HINT)
    international = _retrieve(centre, Q_INTERNATIONAL)
    expect(
        all(text != removed for _, text, _ in international),
        observed=f"retrieve({Q_INTERNATIONAL!r}) still returns a paragraph removed from KB-105: {short(removed)!r}",
        expected="a paragraph deleted from its article is no longer retrieved",
        hint="Remove the stored paragraphs an article no longer has.",
    )
    expect_retrieval(international, corpus.expected(Q_INTERNATIONAL), f"after the edit, retrieve({Q_INTERNATIONAL!r})",
                     "the paragraph was removed", RETRIEVE_HINT)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise AssertionError(f"kit defect: {path.name} does not hold the text the check edits")
    path.write_text(text.replace(old, new), encoding="utf-8")


# --------------------------------------------------------------------------- retrieval


@check(
    "top-k-by-cosine",
    "retrieve() returns the k paragraphs most similar to the question, best first, with their scores",
    points=3,
    cassette="top-k-by-cosine",
    hint=RETRIEVE_HINT,
)
def test_top_k_by_cosine(learner: Any, openai_client: Any, kata_data: Path, tmp_path: Path) -> None:
    corpus = _corpus(kata_data)
    db = tmp_path / "helpcentre.db"
    centre = indexed_centre(learner, db, openai_client(), _articles(kata_data))
    for question, k in ((Q_PHONE, None), (Q_PHONE, 1), (Q_CANCEL, 5)):
        expect_retrieval(
            _retrieve(centre, question, k),
            corpus.expected(question, k=DEFAULTS["top_k"] if k is None else k),
            f"retrieve({question!r}" + ("" if k is None else f", {k}") + ")",
            f"the {DEFAULTS['top_k'] if k is None else k} best by cosine similarity"
            + (" (top_k's default)" if k is None else ""),
            RETRIEVE_HINT,
        )
    two = make_centre(learner, db, openai_client(), top_k=2)
    expect_retrieval(_retrieve(two, Q_PHONE), corpus.expected(Q_PHONE, k=2),
                     f"with top_k=2, retrieve({Q_PHONE!r})", "settings.top_k is the default k",
                     "Use settings.top_k when retrieve() is called without k.")


@check(
    "threshold-filters-chunks",
    "Paragraphs below min_similarity are never retrieved",
    points=2,
    cassette="threshold-filters-chunks",
    hint="Drop every paragraph whose similarity is below settings.min_similarity, even when fewer than k remain.",
)
def test_threshold_filters_chunks(learner: Any, openai_client: Any, kata_data: Path, tmp_path: Path) -> None:
    corpus = _corpus(kata_data)
    db = tmp_path / "helpcentre.db"
    centre = indexed_centre(learner, db, openai_client(), _articles(kata_data))
    for question in (Q_DELIVERY, Q_VAT):
        hits = corpus.expected(question)
        below = [hit for hit in corpus.scored(question)[:DEFAULTS["top_k"]] if hit not in hits]
        expect_retrieval(
            _retrieve(centre, question),
            hits,
            f"retrieve({question!r})",
            f"only {len(hits)} paragraph(s) reach min_similarity's default {DEFAULTS['min_similarity']}; "
            f"{show_hits(below)} fall below it",
            "Leave out paragraphs below settings.min_similarity (default 0.2), even if fewer than top_k remain.",
        )
    for threshold, question in ((0.42, Q_PHONE), (0.15, Q_BOOTS)):
        configured = make_centre(learner, db, openai_client(), min_similarity=threshold)
        expect_retrieval(
            _retrieve(configured, question),
            corpus.expected(question, threshold=threshold),
            f"with min_similarity={threshold}, retrieve({question!r})",
            f"the paragraphs at or above {threshold}",
            "Read the threshold from settings.min_similarity.",
        )


@check(
    "nothing-relevant-no-answer-request",
    "When nothing relevant is retrieved, no answer request is sent and the help centre says it does not know",
    points=2,
    cassette="nothing-relevant-no-answer-request",
    hint="Retrieve first; when no paragraph reaches min_similarity (or the question is blank), return the "
    "'does not know' answer without calling the chat model.",
)
def test_nothing_relevant(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    corpus = _corpus(kata_data)
    centre = indexed_centre(learner, tmp_path / "helpcentre.db", openai_client(), _articles(kata_data))
    for question in (Q_BIKES, Q_MONEY):
        best = corpus.scored(question)[0]
        before = len(sent_requests)
        answer = _answer(centre, question)
        chats = chat_requests(sent_requests[before:])
        expect(
            not chats,
            observed=f"answer({question!r}) sent {len(chats)} chat request(s)",
            expected=f"no answer request: the best paragraph scores {best.score:.3f}, below min_similarity "
            f"{DEFAULTS['min_similarity']} (the embedder measures shared words, not meaning)",
            hint="Do not ask the model without sources: with nothing retrieved, nothing can ground an answer.",
        )
        _not_shown(answer, None, question, "nothing relevant was retrieved")
    before = len(sent_requests)
    blank = _answer(centre, "   ")
    made = sent_requests[before:]
    expect(
        not made,
        observed=f"answer('   ') sent {len(made)} request(s) ({', '.join(sorted({r.path for r in made}))})",
        expected="no request at all for a blank question, neither an embedding nor an answer",
        hint="Check for a blank question before embedding it.",
    )
    _not_shown(blank, None, "   ", "the question is blank")


# --------------------------------------------------------------------------- the answer request


@check(
    "answer-request-carries-only-retrieved",
    "The answer request carries the question and the retrieved paragraphs, and nothing else of the articles",
    points=3,
    cassette="answer-request-carries-only-retrieved",
    hint="Send one chat.completions.parse request whose user message is the JSON object "
    '{"question": ..., "sources": [{"article": ..., "text": ...}, ...]}, in retrieval order; keep the '
    "articles out of the system message.",
)
def test_answer_request_carries_only_retrieved(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    corpus = _corpus(kata_data)
    centre = indexed_centre(learner, tmp_path / "helpcentre.db", openai_client(), _articles(kata_data),
                            answer_model="gpt-4.1-mini")
    hits = corpus.expected(Q_RESET)
    before = len(sent_requests)
    _answer(centre, Q_RESET)
    request = _one_answer_request(sent_requests[before:], Q_RESET)
    expect(
        request.method == "POST" and request.path.endswith("/chat/completions") and request.model == "gpt-4.1-mini",
        observed=f"the answer request went to {request.method} {request.path} with model {request.model!r}",
        expected="POST /v1/chat/completions with model=settings.answer_model ('gpt-4.1-mini' here)",
        hint="Use client.chat.completions.parse(model=settings.answer_model, ...).",
    )
    expect(
        request.structured and tuple(request.schema_fields) == SCHEMA_FIELDS,
        observed="the answer request asked for "
        + (f"a schema with fields {', '.join(request.schema_fields) or '(none)'}" if request.structured
           else "plain text, not structured output"),
        expected="structured output whose schema has exactly the fields answer and citations",
        hint="Pass a pydantic model with the fields `answer` (str) and `citations` (list of str) as response_format.",
    )
    document, why = user_document(request)
    expect(
        document is not None,
        observed=f"the answer request's user message cannot be read as the brief's JSON object: {why}",
        expected='one user message whose content is a JSON object {"question": ..., "sources": [...]}',
        hint="Build the user message with json.dumps from a dict; put your instructions in the system message.",
    )
    sources = sources_of(document)
    wanted = [(hit.article_id, hit.text) for hit in hits]
    expect(
        document.get("question") == Q_RESET and sources == wanted,
        observed=f"question={short(str(document.get('question')))!r}, sources="
        + ("not a list of objects" if sources is None else
           ", ".join(f"{a} {short(str(t))!r}" for a, t in sources) or "none"),
        expected=f"question={short(Q_RESET)!r} as asked, and the retrieved paragraphs in retrieval order, "
        f"each as article and text: {', '.join(f'{a} {short(t)!r}' for a, t in wanted)}",
        hint="Put exactly the passages retrieve() returned in sources, best first, each with its article id and text.",
    )
    retrieved_texts = {text for _, text in wanted}
    leaked = [text for text in corpus.texts if text not in retrieved_texts
              and any(text in content for _, content in messages_of(request))]
    expect(
        not leaked,
        observed=f"the answer request also carries {len(leaked)} paragraph(s) that were not retrieved, such as "
        f"{short(leaked[0]) if leaked else ''!r}",
        expected="nothing of the articles but the retrieved paragraphs",
        hint="Send the retrieved paragraphs only, not their whole articles or other articles.",
    )
    in_system = [text for _, text in wanted
                 if any(text in content for role, content in messages_of(request) if role in ("system", "developer"))]
    expect(
        not in_system,
        observed=f"the system message carries article text, such as {short(in_system[0]) if in_system else ''!r}",
        expected="article text only in the user message, as data; the system message holds your instructions",
        hint="Keep the instructions in the system message and the sources in the user message's JSON.",
    )


@check(
    "grounded-answer-shown",
    "An answer citing retrieved articles is shown with its citations",
    points=2,
    cassette="grounded-answer-shown",
    hint="Read message.parsed: show its answer and its citations when every citation is a retrieved article.",
)
def test_grounded_answer_shown(learner: Any, openai_client: Any, kata_data: Path, tmp_path: Path) -> None:
    centre = indexed_centre(learner, tmp_path / "helpcentre.db", openai_client(), _articles(kata_data))
    cases = [
        (Q_CARD, CARD_ANSWER, ["KB-106"]),
        (Q_PHONE, PHONE_ANSWER, ["KB-110"]),
        (Q_GIFT, GIFT_ANSWER, ["KB-107", "KB-104"]),
    ]
    for question, model_text, cited in cases:
        text, citations, answered = _answer(centre, question)
        expect(
            answered is True and text.strip() == model_text and sorted(set(citations)) == sorted(cited),
            observed=f"answer({question!r}) gave answered={answered}, citations={citations}, text={short(text, 90)!r}",
            expected=f"answered=True, citations {cited} and the model's answer {short(model_text, 90)!r}: "
            "the model cited only retrieved articles",
            hint="When the model's citations are all among the retrieved articles, show its answer as it is.",
        )


@check(
    "unretrieved-citations-not-shown",
    "An answer that cites nothing, or an article that was not retrieved, is not shown",
    points=3,
    cassette="unretrieved-citations-not-shown",
    hint="Compare the citations with the article ids of the retrieved passages; an empty list, or any id "
    "outside them, means the answer is not grounded.",
)
def test_unretrieved_citations_not_shown(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    centre = indexed_centre(learner, tmp_path / "helpcentre.db", openai_client(), _articles(kata_data))
    cases = [
        (Q_VAT, VAT_ANSWER, "the model cited KB-105, an article that exists but was not retrieved"),
        (Q_BOOTS, BOOTS_ANSWER, "the model cited KB-112, retrieved, and KB-108, not retrieved"),
        (Q_DELIVERY, DELIVERY_ANSWER, "the model cited no article at all"),
        (Q_PAYMENT, None, "the model refused to answer"),
    ]
    for question, model_text, why in cases:
        before = len(sent_requests)
        answer = _answer(centre, question)
        _one_answer_request(sent_requests[before:], question)
        _not_shown(answer, model_text, question, why)


@check(
    "article-instructions-stay-data",
    "Instructions written inside an article stay data: delimited in the request, never obeyed in what is shown",
    points=3,
    cassette="article-instructions-stay-data",
    hint="Serialise the sources with a JSON library (never by pasting strings together), keep them out of the "
    "system message, and do not show an answer whose citations were not retrieved.",
)
def test_article_instructions_stay_data(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    corpus = _corpus(kata_data)
    injected = next(text for _, text in corpus.chunks if text.startswith(INJECTED_START))
    centre = indexed_centre(learner, tmp_path / "helpcentre.db", openai_client(), _articles(kata_data))
    cases = [
        (Q_VOUCHER, VOUCHER_ANSWER, False,
         "the model followed the instruction hidden in KB-113 and cited KB-999, which was not retrieved"),
        (Q_COLLECT, COLLECT_ANSWER, True, "the model ignored the hidden instruction and cited KB-113"),
    ]
    for question, model_text, shown, why in cases:
        hits = corpus.expected(question)
        if injected not in [hit.text for hit in hits]:
            raise AssertionError("kit defect: the check's question does not retrieve the injected paragraph")
        before = len(sent_requests)
        answer = _answer(centre, question)
        request = _one_answer_request(sent_requests[before:], question)
        document, why_not = user_document(request)
        sources = sources_of(document) if document is not None else None
        wanted = [(hit.article_id, hit.text) for hit in hits]
        expect(
            sources == wanted,
            observed=f"for {question!r}, KB-113's paragraph that says {short(injected, 60)!r} (it holds quotes and "
            "braces) reached the model as "
            + (why_not if document is None else
               "not a list of sources" if sources is None else
               f"{len(sources)} source(s): " + ", ".join(f"{a} {short(str(t))!r}" for a, t in sources)),
            expected=f"the retrieved paragraphs as {len(wanted)} source(s) of the JSON user message, their text "
            "exactly as written, inside JSON strings: " + ", ".join(f"{a} {short(t)!r}" for a, t in wanted),
            hint="Serialise the whole user message with json.dumps; a paragraph's quotes and braces then stay "
            "inside its string.",
        )
        in_system = [role for role, content in messages_of(request)
                     if role in ("system", "developer") and INJECTED_START in content]
        expect(
            not in_system,
            observed=f"the {in_system[0] if in_system else ''} message carries KB-113's hidden instruction",
            expected="article text only in the user message, as data",
            hint="Never put article text in the system (or developer) message.",
        )
        text, citations, answered = answer
        if shown:
            expect(
                answered is True and text.strip() == model_text and list(citations) == ["KB-113"],
                observed=f"answer({question!r}) gave answered={answered}, citations={citations}, "
                f"text={short(text, 90)!r}",
                expected=f"answered=True with citations ['KB-113']: {why}",
                hint="Keep answering normally: a source's hidden instruction is data, not a reason to refuse.",
            )
        else:
            _not_shown(answer, model_text, question, why)


# --------------------------------------------------------------------------- the golden set


@check(
    "recall-at-k-printed",
    "The CLI's eval command prints recall@k of the retrieval on a golden set",
    points=2,
    cassette="recall-at-k-printed",
    hint="For each golden question, the share of its articles found among the articles of retrieve(question, k); "
    "print the mean as 'recall@K: 0.xxx'.",
)
def test_recall_at_k_printed(learner: Any, openai_client: Any, kata_data: Path, tmp_path: Path) -> None:
    corpus = _corpus(kata_data)
    golden_path = kata_data / "golden.json"
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    client = openai_client()
    db = tmp_path / "helpcentre.db"
    indexed_centre(learner, db, client, _articles(kata_data))
    cli = learner.load("helpdesk.cli")
    try:
        inspect.signature(cli.main).bind(["eval"], out=None, client=client)
    except TypeError as err:
        expect(
            False,
            observed=f"helpdesk.cli.main(argv, out=..., client=...) is refused ({err})",
            expected="main(argv=None, out=None, client=None)",
            hint="Give the CLI's main a `client` parameter, used instead of building openai.OpenAI().",
        )
    for k in (3, 1):
        out = learner.load("kata.host.streams").RecordingOut()
        code = cli.main(["--db", str(db), "eval", str(golden_path), "--k", str(k)], out=out, client=client)
        printed = out.getvalue()
        found = re.search(rf"recall@{k}:\s*([0-9]*\.?[0-9]+)", printed)
        wanted = recall(corpus, golden, k)
        value = float(found.group(1)) if found else None
        expect(
            code == 0 and value is not None and abs(value - wanted) <= 0.0005 + 1e-9,
            observed=f"`eval golden.json --k {k}` exited with {code!r} and printed "
            + (repr(short(printed.strip(), 120)) if printed.strip() else "nothing"),
            expected=f"a line 'recall@{k}: {wanted:.3f}': the mean, over the {len(golden)} golden questions, of the "
            f"share of their articles among those of retrieve(question, {k})",
            hint="Print the value with three decimals, as recall@K: 0.xxx, for the k given with --k.",
        )


# --------------------------------------------------------------------------- time-outs and the legacy database


@check(
    "requests-have-a-timeout",
    "Every model request has a read time-out of at most request_timeout",
    points=1,
    cassette="requests-have-a-timeout",
    hint="Pass timeout=settings.request_timeout to embeddings.create and chat.completions.parse "
    "(or use client.with_options(timeout=...)).",
)
def test_requests_have_a_timeout(
    learner: Any, openai_client: Any, sent_requests: list[Any], kata_data: Path, tmp_path: Path
) -> None:
    client = openai_client(sdk_defaults=True)  # as openai.OpenAI() comes: a 600 s time-out
    db = tmp_path / "helpcentre.db"
    for limit, question, fields in ((5.0, Q_CARD, {"request_timeout": 5.0}),
                                    (DEFAULTS["request_timeout"], Q_PHONE, {})):
        before = len(sent_requests)
        centre = indexed_centre(learner, db, client, _articles(kata_data), **fields)
        _answer(centre, question)
        made = sent_requests[before:]
        slow = [r for r in made if r.timeout is None or r.timeout > limit + 1e-9]
        setting = f"request_timeout={limit:g}" + ("" if fields else " (the default)")
        expect(
            bool(chat_requests(made)),
            observed=f"with {setting}, no answer request was sent for {question!r}",
            expected="one answer request: relevant paragraphs were retrieved",
            hint="Ask the model when retrieval found at least one paragraph.",
        )
        expect(
            not slow,
            observed=f"with {setting}, {len(slow)} of {len(made)} request(s) had a time-out of "
            + ", ".join("none" if r.timeout is None else f"{r.timeout:g} s" for r in slow[:3])
            + (f" (first: {slow[0].path})" if slow else ""),
            expected=f"every request, embeddings and answers, with a read time-out of at most {limit:g} s, "
            "not the SDK's 600 s",
            hint="Give every model call timeout=settings.request_timeout; a caller's openai.OpenAI() waits 600 s.",
        )


@check(
    "legacy-database-keeps-working",
    "A database created by the legacy release keeps working: its articles are indexed, answered from, searched",
    points=2,
    cassette="legacy-database-keeps-working",
    hint="Add your tables beside the articles table when the database opens; leave the articles table as it is "
    "(or upgrade it on start-up).",
)
def test_legacy_database_keeps_working(learner: Any, openai_client: Any, kata_data: Path, tmp_path: Path) -> None:
    ids = ["KB-103", "KB-106", "KB-110"]
    articles = titled_articles(_articles(kata_data), ids)
    db = tmp_path / "helpcentre.db"
    legacy_database(db, articles)  # the grader's own file, as release 3.2 left it
    corpus = Corpus({article_id: body for article_id, (_, body) in articles.items()})
    try:
        centre = make_centre(learner, db, openai_client())
        call_index(centre)
    except RemoteError as err:
        expect(
            False,
            observed=f"opening and indexing a database created by the legacy release raised {err.type_name}: "
            f"{err.text[:200]}",
            expected="the help centre opens it, keeps its articles and indexes them",
            hint="CREATE TABLE IF NOT EXISTS leaves an existing table as it is: a new column in articles needs an "
            "upgrade on start-up; new tables of your own need none.",
        )
        raise
    expect_retrieval(_retrieve(centre, Q_PHONE), corpus.expected(Q_PHONE), f"retrieve({Q_PHONE!r})",
                     "the paragraphs of the legacy database's three articles", RETRIEVE_HINT)
    text, citations, answered = _answer(centre, Q_PHONE)
    expect(
        answered is True and list(citations) == ["KB-110"] and text.strip() == PHONE_ANSWER,
        observed=f"answer({Q_PHONE!r}) on the legacy database gave answered={answered}, citations={citations}",
        expected="answered=True, citations ['KB-110']: the model cited the retrieved KB-110",
        hint="Answer from the legacy database's articles as from any other.",
    )
    found = [getattr(a, "id", None) for a in centre.search("phone backup codes")]
    stored = repository(learner, db).get("KB-106")
    expect(
        found[:1] == ["KB-110"] and stored is not None and getattr(stored, "title", None) == articles["KB-106"][0],
        observed=f"after indexing, search('phone backup codes') found {found} and KB-106 reads back as "
        f"{getattr(stored, 'title', None)!r}",
        expected=f"the legacy search still finds KB-110 first, and KB-106 is still {articles['KB-106'][0]!r}",
        hint="Leave the articles and the keyword search as they were.",
    )
