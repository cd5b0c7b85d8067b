"""Finding the passages nearest a question."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.passage import Passage
from index.store import LoadedIndex


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and how well it matched (cosine similarity for dense retrieval)."""

    passage: Passage
    score: float


def dense(index: LoadedIndex, question_vector: np.ndarray, k: int, reports: set[str] | None = None) -> list[Hit]:
    """The ``k`` passages whose vectors are nearest the question's, best first.

    :param reports: if given, only passages of these report ids.
    """
    allowed = index.report_keys(reports) if reports else None
    if allowed is not None and not len(allowed):
        return []
    keys, scores = index.vectors.search(question_vector, k, allowed=allowed)
    return [Hit(index.passages[int(key)], float(score)) for key, score in zip(keys, scores)]
