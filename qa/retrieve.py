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
# Hybrid fusion (see fuse_scores): dense scores min-max normalised over the candidates, plus
# BM25 scores divided by the best one, weighted LEXICAL_WEIGHT * coverage ** COVERAGE_POWER, where
# coverage is how much of the question the best BM25 passage holds (index.lexical). A question in
# the reports' own words leans on BM25; a paraphrase leans on the model. Measured on the three gold
# sets (README, "Retrieval"): weights 1.0-2.0 with power 2 beat dense-only on MRR on all three
# sets; 1.5 is the middle of that range, not the best of any one set. Weighted reciprocal rank
# fusion, used before, measured worse than dense-only on the seed set.
LEXICAL_WEIGHT = 1.5
COVERAGE_POWER = 2
RRF_K = 60  # the bm25 retriever's rank_score is 1 / (RRF_K + rank)
# Which report a question is about: dense and hybrid rank a passage by its dense score plus this
# weight times the question's similarity to its report's title and kind, so that in a library
# of police, children's services and Post Office reports "Does Essex have enough trained CID
# officers?" looks in the police report first. Ranking only: a Hit's score stays the passage's
# own similarity, which "not found" reads. Measured (README): 0.2 lifts MRR on the seed and
# Ofsted sets and leaves the Post Office set's; 0.4 measured about the same; 0.2 is the smaller.
REPORT_PRIOR_WEIGHT = 0.2
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


def fuse_scores(dense: dict[int, float], lexical: dict[int, float], coverage: float) -> dict[int, float]:
    """Hybrid scores: normalised dense plus BM25 weighted by the question's lexical coverage.

    :param dense: dense score of every candidate passage (from either retriever).
    :param lexical: BM25 scores of the passages BM25 found (others count 0).
    :param coverage: 0..1, how much of the question the best BM25 passage holds.
    """
    if not dense:
        return {}
    low, high = min(dense.values()), max(dense.values())
    spread = (high - low) or 1.0
    best = max(lexical.values(), default=0.0)
    weight = LEXICAL_WEIGHT * coverage**COVERAGE_POWER / best if best > 0 else 0.0
    return {key: (d - low) / spread + weight * lexical.get(key, 0.0) for key, d in dense.items()}


def retrieve(
    index: LoadedIndex, question: str, question_vector: np.ndarray, k: int,
    retriever: str = "hybrid", reports: set[str] | None = None, report_prior: dict[str, float] | None = None,
) -> list[Hit]:
    """The ``k`` best passages for a question, best first.

    :param retriever: ``dense`` (FAISS, passage and sentence vectors), ``bm25`` (lexical) or
        ``hybrid`` (both, fused by :func:`fuse_scores`).
    :param reports: if given, only passages of these report ids.
    :param report_prior: report id -> the question's similarity to that report (its title);
        dense and hybrid add ``REPORT_PRIOR_WEIGHT`` times it to a passage's dense score to rank.
    """
    if retriever not in RETRIEVERS:
        raise ValueError(f"retriever must be one of {', '.join(RETRIEVERS)}. Currently, retriever is {retriever!r}")
    allowed = index.report_keys(reports) if reports else None
    if allowed is not None and not len(allowed):
        return []
    pool = max(CANDIDATES, k)
    dense = dense_candidates(index, question_vector, pool, allowed) if retriever != "bm25" else {}
    lexical: dict[int, float] = {}
    if retriever != "dense":
        keys, scores = index.lexical.search(question, pool, allowed=allowed)
        lexical = dict(zip(keys.tolist(), scores.tolist()))
    if retriever == "hybrid":
        for key in lexical:
            if key not in dense:
                dense[key] = dense_score(index, key, question_vector)
    prior = report_prior or {}
    ranked = {key: d + REPORT_PRIOR_WEIGHT * prior.get(index.passages[key].report, 0.0) for key, d in dense.items()}
    if retriever == "dense":
        order = ranked
    elif retriever == "bm25":
        order = {key: 1.0 / (RRF_K + rank) for rank, key in enumerate(lexical, start=1)}
    else:
        coverage = index.lexical.coverage(question, next(iter(lexical))) if lexical else 0.0
        order = fuse_scores(ranked, lexical, coverage)
    best = sorted(order, key=lambda key: -order[key])[:k]
    return [
        Hit(index.passages[key], dense[key] if key in dense else dense_score(index, key, question_vector), key, order[key])
        for key in best
    ]
