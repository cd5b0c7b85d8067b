"""Lexical (BM25) search over passages: the only module that imports bm25s.

The BM25 index is built in memory from the passages of one index version when it is loaded, so
it always matches the FAISS vectors exactly (same passages, same keys) after every add, change
or removal. Building it costs a tokenising pass over the passages: seconds for a million short
passages, small next to embedding them (measured in bench/run.py).
"""
from __future__ import annotations

import logging
import math

import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)


class LexicalIndex:
    """BM25 over passage texts, searched by question; ids are the passages' keys.

    :param keys: passage keys, one per text.
    :param texts: passage texts.
    """

    def __init__(self, keys: list[int], texts: list[str]):
        import bm25s
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self._keys = np.asarray(keys, dtype=np.int64)
        self._retriever = None
        if texts:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)
            self._retriever = bm25s.BM25()
            self._retriever.index(tokens, show_progress=False)
            self._position = {int(k): i for i, k in enumerate(self._keys)}

    def terms(self, text: str) -> set[str]:
        """The terms BM25 sees in a text: stemmed words, stop words out."""
        import bm25s

        tokens = bm25s.tokenize([text], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False)
        return set(tokens[0])

    def _postings(self, term: str) -> np.ndarray:
        """Positions of the passages holding a term (empty if none does)."""
        t = self._retriever.vocab_dict.get(term)
        indptr = self._retriever.scores["indptr"]
        if t is None or t + 1 >= len(indptr):
            return np.zeros(0, dtype=np.int64)
        return self._retriever.scores["indices"][indptr[t]:indptr[t + 1]]

    def term_weights(self, question: str) -> dict[str, float]:
        """The question's terms and their IDF over the passages. A term found in no passage
        weighs most (it is the rarest), so a question about something the reports never mention
        ("Kent", "overtime") is covered little anywhere."""
        if self._retriever is None:
            return {}
        n = len(self._keys)
        weights = {}
        for term in self.terms(question):
            df = len(self._postings(term))
            weights[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return weights

    def coverage(self, question: str, key: int) -> float:
        """How much of the question passage ``key`` holds: the IDF-weighted share of the
        question's terms that occur in it, from 0 to 1."""
        weights = self.term_weights(question)
        total = sum(weights.values())
        if not total or int(key) not in self._position:
            return 0.0
        doc = self._position[int(key)]
        return sum(w for t, w in weights.items() if np.any(self._postings(t) == doc)) / total

    @staticmethod
    def share(weights: dict[str, float], terms: set[str]) -> float:
        """The IDF-weighted share of a question's terms (``term_weights``) among ``terms``."""
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0

    def __len__(self) -> int:
        return len(self._keys)

    def search(self, question: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Keys and BM25 scores of the ``k`` best passages (score > 0 only), best first.

        :param allowed: if given, only these passage keys are considered.
        """
        import bm25s

        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}")
        if self._retriever is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = bm25s.tokenize([question], stopwords="en", stemmer=self._stemmer, show_progress=False)
        if not query.vocab:  # nothing but stop words
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        weights = None
        if allowed is not None:
            weights = np.zeros(len(self._keys), dtype=np.float32)
            weights[[self._position[int(a)] for a in allowed if int(a) in self._position]] = 1.0
        n = min(k, len(self._keys))
        docs, scores = self._retriever.retrieve(query, k=n, show_progress=False, weight_mask=weights)
        docs, scores = docs[0], scores[0]
        keep = scores > 0
        return self._keys[docs[keep]], scores[keep].astype(np.float32)
