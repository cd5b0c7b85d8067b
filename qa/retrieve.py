"""Finding the passages nearest a question."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.passage import Passage
from index.store import LoadedIndex

# A passage's dense score mixes its own vector with its best sentence's: a question about one
# fact of a long paragraph matches that sentence better than the whole (measured on the seed
# gold set: recall@3 0.75 passage-only, 0.82 mixed; see README).
PASSAGE_WEIGHT = 0.5
CANDIDATES = 50  # nearest passages and sentences gathered before exact re-scoring


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and how well it matched.

    :param score: the retriever's score (for dense: mixed cosine similarity, see PASSAGE_WEIGHT).
    :param key: the passage's key in the index.
    """

    passage: Passage
    score: float
    key: int = 0


def sentence_similarities(index: LoadedIndex, key: int, question_vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of the question with each sentence of a passage, in order."""
    start, end = index.sentence_rows[key]
    return index.sentence_matrix[start:end] @ question_vector


def dense(index: LoadedIndex, question_vector: np.ndarray, k: int, reports: set[str] | None = None) -> list[Hit]:
    """The ``k`` passages nearest the question, best first.

    Candidates come from two FAISS searches (passage vectors and sentence vectors); each is then
    scored exactly as ``PASSAGE_WEIGHT * passage + (1 - PASSAGE_WEIGHT) * best sentence``.

    :param reports: if given, only passages of these report ids.
    """
    allowed = index.report_keys(reports) if reports else None
    if allowed is not None and not len(allowed):
        return []
    pool = max(CANDIDATES, k)
    keys, scores = index.vectors.search(question_vector, pool, allowed=allowed)
    passage_scores = dict(zip(keys.tolist(), scores.tolist()))
    allowed_rows = None
    if allowed is not None:
        allowed_rows = np.concatenate([np.arange(*index.sentence_rows[int(key)]) for key in allowed])
    if len(index.sentence_owner):
        rows, _ = index.sentences.search(question_vector, pool, allowed=allowed_rows)
        for key in index.sentence_owner[rows].tolist():
            if key not in passage_scores:
                passage_scores[key] = float(index.vectors.get(key) @ question_vector)
    hits = []
    for key, passage_score in passage_scores.items():
        sims = sentence_similarities(index, key, question_vector)
        best_sentence = float(sims.max()) if len(sims) else passage_score
        score = PASSAGE_WEIGHT * passage_score + (1 - PASSAGE_WEIGHT) * best_sentence
        hits.append(Hit(index.passages[key], score, key))
    hits.sort(key=lambda h: -h.score)
    return hits[:k]
