"""Finding the passages nearest a question: dense (FAISS), lexical (BM25) or both fused."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.passage import Passage
from index.store import LoadedIndex

# A passage's dense score mixes its own vector with its best sentence's: a question about one
# fact of a long paragraph matches that sentence better than the whole (measured on the seed
# gold set: recall@3 0.75 passage-only, 0.85 mixed; see README).
PASSAGE_WEIGHT = 0.5
CANDIDATES = 50  # passages gathered from each retriever before exact scoring and fusion
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009)
LEXICAL_WEIGHT = 0.5  # BM25's vote in the fusion, relative to dense's 1.0
RETRIEVERS = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and how well it matched.

    :param score: dense similarity of the passage to the question (mixed cosine, see
        PASSAGE_WEIGHT), whatever the retriever: the calibrated "not found" threshold reads it.
    :param key: the passage's key in the index.
    :param rank_score: what the retriever ordered by (the fused score for hybrid).
    """

    passage: Passage
    score: float
    key: int = 0
    rank_score: float = 0.0


def sentence_similarities(index: LoadedIndex, key: int, question_vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of the question with each sentence of a passage, in order."""
    start, end = index.sentence_rows[key]
    return index.sentence_matrix[start:end] @ question_vector


def dense_score(index: LoadedIndex, key: int, question_vector: np.ndarray, passage_score: float | None = None) -> float:
    """``PASSAGE_WEIGHT * passage + (1 - PASSAGE_WEIGHT) * best sentence`` similarity."""
    if passage_score is None:
        passage_score = float(index.vectors.get(key) @ question_vector)
    sims = sentence_similarities(index, key, question_vector)
    best_sentence = float(sims.max()) if len(sims) else passage_score
    return PASSAGE_WEIGHT * passage_score + (1 - PASSAGE_WEIGHT) * best_sentence


def dense_candidates(index: LoadedIndex, question_vector: np.ndarray, pool: int, allowed: np.ndarray | None) -> dict[int, float]:
    """Dense scores of the passages nearest the question by passage or by sentence vector."""
    keys, scores = index.vectors.search(question_vector, pool, allowed=allowed)
    passage_scores: dict[int, float | None] = dict(zip(keys.tolist(), scores.tolist()))
    if len(index.sentence_owner):
        allowed_rows = None
        if allowed is not None:
            allowed_rows = np.concatenate([np.arange(*index.sentence_rows[int(key)]) for key in allowed])
        rows, _ = index.sentences.search(question_vector, pool, allowed=allowed_rows)
        for key in index.sentence_owner[rows].tolist():
            passage_scores.setdefault(key, None)
    return {key: dense_score(index, key, question_vector, s) for key, s in passage_scores.items()}


def fuse(rankings: list[tuple[list[int], float]], k: int | None = None) -> dict[int, float]:
    """Weighted reciprocal rank fusion: ``sum(weight / (k + rank))`` over the rankings."""
    k = RRF_K if k is None else k
    fused: dict[int, float] = {}
    for keys, weight in rankings:
        for rank, key in enumerate(keys, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


def retrieve(
    index: LoadedIndex, question: str, question_vector: np.ndarray, k: int,
    retriever: str = "hybrid", reports: set[str] | None = None,
) -> list[Hit]:
    """The ``k`` best passages for a question, best first.

    :param retriever: ``dense`` (FAISS, passage and sentence vectors), ``bm25`` (lexical) or
        ``hybrid`` (both, fused by weighted reciprocal rank fusion).
    :param reports: if given, only passages of these report ids.
    """
    if retriever not in RETRIEVERS:
        raise ValueError(f"retriever must be one of {', '.join(RETRIEVERS)}. Currently, retriever is {retriever!r}")
    allowed = index.report_keys(reports) if reports else None
    if allowed is not None and not len(allowed):
        return []
    pool = max(CANDIDATES, k)
    dense = dense_candidates(index, question_vector, pool, allowed) if retriever != "bm25" else {}
    lexical: list[int] = []
    if retriever != "dense":
        keys, _ = index.lexical.search(question, pool, allowed=allowed)
        lexical = keys.tolist()
    dense_order = sorted(dense, key=lambda key: -dense[key])
    if retriever == "dense":
        order = {key: dense[key] for key in dense_order}
    elif retriever == "bm25":
        order = {key: 1.0 / (RRF_K + rank) for rank, key in enumerate(lexical, start=1)}
    else:
        order = fuse([(dense_order, 1.0), (lexical, LEXICAL_WEIGHT)])
    best = sorted(order, key=lambda key: -order[key])[:k]
    return [
        Hit(index.passages[key], dense[key] if key in dense else dense_score(index, key, question_vector), key, order[key])
        for key in best
    ]
