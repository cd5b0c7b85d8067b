"""Finding the passages nearest a question: dense (FAISS), lexical (BM25), or both reranked (qa.rerank)."""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from index.passage import Passage
from index.store import LoadedIndex
from qa.rerank import WEIGHTS, Evidence, Weights, rerank

# A passage's dense score mixes its own vectors with its best sentence's: a question about one
# fact of a long paragraph matches that sentence better than the whole (measured on the seed
# gold set: recall@3 0.75 passage-only, 0.85 mixed; see README). The passage's own similarity is
# the mean of the passage embedded alone and embedded with the headings it sits under.
PASSAGE_WEIGHT = 0.5
CANDIDATES = 50  # passages gathered from each search before exact scoring and reranking
RRF_K = 60  # the bm25 retriever's rank_score is 1 / (RRF_K + rank)
RETRIEVERS = ("dense", "bm25", "hybrid")
NOTES = ("footnote", "reference")  # the apparatus of a report, weighed down (qa.rerank)
# In a large library the passage searches run on a second thread while the caller searches
# the sentences (FAISS lets go of the GIL): 8 ms instead of 14 for the three at 1M passages on
# this 2-core machine (bench/scale.py). A small library's searches take well under a millisecond:
# they stay on the caller's thread. The BM25 search needs no question vector: it can run here
# while the caller encodes the question (:func:`start_lexical`).
_searches = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="passage-search")  # threads start on first use


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and how well it matched.

    :param score: dense similarity of the passage to the question (mixed cosine, see
        PASSAGE_WEIGHT), whatever the retriever: the calibrated "not found" threshold reads it.
    :param key: the passage's key in the index.
    :param rank_score: what the retriever ordered by (the reranked score for hybrid).
    """

    passage: Passage
    score: float
    key: int = 0
    rank_score: float = 0.0


def sentence_similarities(index: LoadedIndex, key: int, question_vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of the question with each sentence of a passage, in order."""
    start, end = index.sentence_rows[key]
    return index.sentence_vectors(slice(start, end)) @ question_vector


def dense_scores(index: LoadedIndex, keys: list[int], question_vector: np.ndarray) -> dict[int, float]:
    """``PASSAGE_WEIGHT * passage + (1 - PASSAGE_WEIGHT) * best sentence`` similarity of each
    passage, where the passage's is the mean of its vectors alone and with its headings. All
    passages at once: one read of each index for the lot."""
    if not keys:
        return {}
    ids = np.array(keys, dtype=np.int64)
    alone = (index.vectors.get_many(ids) @ question_vector).astype(np.float64)
    passage = 0.5 * alone + 0.5 * (index.contexts.get_many(ids) @ question_vector).astype(np.float64)
    spans = np.array([index.sentence_rows[key] for key in keys], dtype=np.int64).reshape(-1, 2)
    counts = spans[:, 1] - spans[:, 0]
    best = passage.copy()  # a passage without sentences counts its own similarity twice
    if counts.sum():
        rows = np.repeat(spans[:, 0] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        sims = index.sentence_vectors(rows) @ question_vector
        has = counts > 0
        best[has] = np.maximum.reduceat(sims, (np.cumsum(counts) - counts)[has])
    mixed = PASSAGE_WEIGHT * passage + (1 - PASSAGE_WEIGHT) * best
    return dict(zip(keys, mixed.astype(float).tolist()))


def dense_score(index: LoadedIndex, key: int, question_vector: np.ndarray) -> float:
    """:func:`dense_scores` of one passage."""
    return dense_scores(index, [key], question_vector)[key]


def _nearest_passages(index: LoadedIndex, question_vector: np.ndarray, pool: int, allowed: np.ndarray | None) -> set[int]:
    keys: set[int] = set()
    for vectors in (index.vectors, index.contexts):
        keys.update(vectors.search(question_vector, pool, allowed=allowed)[0].tolist())
    return keys


def nearest_keys(index: LoadedIndex, question_vector: np.ndarray, pool: int, allowed: np.ndarray | None) -> set[int]:
    """Keys of the passages nearest the question by passage, passage-with-headings or sentence
    vector (``pool`` from each search)."""
    passages = None
    if _large(index):
        passages = _searches.submit(_nearest_passages, index, question_vector, pool, allowed)
    else:
        keys = _nearest_passages(index, question_vector, pool, allowed)
    rows = index.nearest_sentences(question_vector, pool, allowed)[0] if len(index.sentence_owner) else []
    if passages is not None:
        keys = passages.result()
    keys.update(index.sentence_owner[rows].tolist())
    return keys


def dense_candidates(index: LoadedIndex, question_vector: np.ndarray, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
    """Dense scores of the passages nearest the question (:func:`nearest_keys`)."""
    return dense_scores(index, list(nearest_keys(index, question_vector, pool, allowed)), question_vector)


def proximity(index: LoadedIndex, key: int, weights: dict[str, float]) -> float:
    """The IDF-weighted share of the question's terms that the passage's best sentence holds."""
    p = index.passages[key]
    return max((index.lexical.share(weights, index.lexical.terms(p.text[s:e])) for s, e in p.sentences), default=0.0)


def _scope(index: LoadedIndex, reports: set[str] | None, k: int) -> tuple[np.ndarray | None, int]:
    """The passage keys a search may return (None: all) and how many candidates each search gathers."""
    return (index.report_keys(reports) if reports else None), max(CANDIDATES, k)


def _lexical(index: LoadedIndex, question: str, pool: int, allowed: np.ndarray | None,
             started: Future | None) -> tuple[np.ndarray, np.ndarray]:
    return started.result() if started is not None else index.lexical.search(question, pool, allowed=allowed)


def _large(index: LoadedIndex) -> bool:
    return index.search.get("kind") == "ivf" and (os.cpu_count() or 1) > 1


def start_lexical(index: LoadedIndex, question: str, k: int, reports: set[str] | None = None) -> Future | None:
    """In a large library, start the BM25 search that :func:`retrieve` makes for these
    arguments on another thread, and return it to pass to :func:`retrieve` as ``lexical``: a
    caller that must first encode the question does both at once (at 100k passages, 1.7 ms of
    an 18 ms ask; bench/scale.py). None in a small library, whose search takes 0.1 ms."""
    if not _large(index):
        return None
    allowed, pool = _scope(index, reports, k)
    return _searches.submit(index.lexical.search, question, pool, allowed=allowed)


def gather(
    index: LoadedIndex, question: str, question_vector: np.ndarray, pool: int = CANDIDATES,
    allowed: np.ndarray | None = None, report_prior: dict[str, float] | None = None, with_proximity: bool = False,
    lexical: Future | None = None,
) -> tuple[dict[int, Evidence], float]:
    """The first stage: candidates from the dense and BM25 searches, with what is known of each,
    and how much of the question the best BM25 passage covers (0..1).

    :param lexical: the BM25 search already started (:func:`start_lexical`), if it was.
    """
    dense = dense_candidates(index, question_vector, pool, allowed)
    keys, scores = _lexical(index, question, pool, allowed, lexical)
    lexical = dict(zip(keys.tolist(), scores.tolist()))
    dense.update(dense_scores(index, [key for key in lexical if key not in dense], question_vector))
    prior = report_prior or {}
    weights = index.lexical.term_weights(question) if with_proximity else {}
    evidence = {
        key: Evidence(
            dense=d, bm25=lexical.get(key, 0.0), prior=prior.get(index.passages[key].report, 0.0),
            proximity=proximity(index, key, weights) if with_proximity else 0.0,
            footnote=index.passages[key].kind in NOTES, heading=index.passages[key].kind == "heading",
        )
        for key, d in dense.items()
    }
    coverage = index.lexical.coverage(question, next(iter(lexical))) if lexical else 0.0
    return evidence, coverage


def retrieve(
    index: LoadedIndex, question: str, question_vector: np.ndarray, k: int,
    retriever: str = "hybrid", reports: set[str] | None = None, report_prior: dict[str, float] | None = None,
    weights: Weights = WEIGHTS, lexical: Future | None = None,
) -> list[Hit]:
    """The ``k`` best passages for a question, best first.

    :param retriever: ``dense`` (passage, passage-with-headings and sentence vectors, plus the
        report prior), ``bm25`` (lexical) or ``hybrid`` (both, reordered by :func:`qa.rerank.rerank`).
    :param reports: if given, only passages of these report ids.
    :param report_prior: report id -> the question's similarity to that report (its title);
        dense and hybrid weigh it in to rank.
    :param lexical: the BM25 search for the same question, k and reports, already started
        (:func:`start_lexical`); otherwise bm25 and hybrid search here.
    """
    if retriever not in RETRIEVERS:
        raise ValueError(f"retriever must be one of {', '.join(RETRIEVERS)}. Currently, retriever is {retriever!r}")
    allowed, pool = _scope(index, reports, k)
    if allowed is not None and not len(allowed):
        return []
    if retriever == "bm25":
        keys, _ = _lexical(index, question, pool, allowed, lexical)
        order = {key: 1.0 / (RRF_K + rank) for rank, key in enumerate(keys.tolist(), start=1)}
        dense = dense_scores(index, list(order), question_vector)
    elif retriever == "dense":
        dense = dense_candidates(index, question_vector, pool, allowed)
        prior = report_prior or {}
        order = {key: d + weights.prior * prior.get(index.passages[key].report, 0.0) for key, d in dense.items()}
    else:
        evidence, coverage = gather(index, question, question_vector, pool, allowed, report_prior,
                                    with_proximity=weights.proximity > 0, lexical=lexical)
        order = rerank(evidence, coverage, weights)
        dense = {key: e.dense for key, e in evidence.items()}
    best = sorted(order, key=lambda key: -order[key])[:k]
    return [Hit(index.passages[key], dense[key], key, order[key]) for key in best]
