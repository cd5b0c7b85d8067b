"""Lexical (BM25) search over passages: the only module that imports bm25s.

A BM25 index is built from the passages of one index version and saved beside it (see
``index.store.LoadedIndex.lexical``), so it always matches the FAISS vectors exactly (same
passages, same keys) and a start loads it instead of re-tokenising every passage. What it was
built with (tokeniser, stemmer, their versions, and what its caller says its texts are made of)
is saved in ``meta.json``; :meth:`LexicalIndex.load` refuses a copy built any other way.
"""
from __future__ import annotations

import json
import logging
import functools
import math
import os
from pathlib import Path

import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)

# Bump when what a saved index holds, or how this module turns text into terms, changes.
FORMAT = 1
STOPWORDS = "en"
STEMMER = "english"
META = "meta.json"
KEYS = "keys.npy"    # passage keys by position (BM25's document numbers)
ORDER = "order.npy"  # positions sorted by key: keys[order] is sorted, for np.searchsorted


class LexicalMismatch(ValueError):
    """A saved BM25 index was built another way (another tokeniser, or other texts)."""


def settings() -> dict:
    """How texts become terms here: a saved index built with other settings is not loaded."""
    import bm25s
    import Stemmer

    return {"format": FORMAT, "stopwords": STOPWORDS, "stemmer": STEMMER, "pystemmer": Stemmer.version(),
            "bm25s": bm25s.__version__}

TERMS_CACHED = 1 << 16  # texts whose terms are remembered (sentences of cited passages, questions)


class LexicalIndex:
    """BM25 over passage texts, searched by question; ids are the passages' keys.

    :param keys: passage keys, one per text.
    :param texts: passage texts.
    :param made_from: what the texts were made from, as the caller names it (a digest, say);
        saved with the index, and :meth:`load` refuses a copy made from something else.
    """

    def __init__(self, keys: list[int], texts: list[str], made_from: str = ""):
        import bm25s

        if len(keys) != len(texts):
            raise ValueError(f"{len(keys)} keys for {len(texts)} texts")
        retriever = None
        if texts:
            tokens = bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=self._stemmer_for(), show_progress=False)
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
        keys = np.asarray(keys, dtype=np.int64)
        self._setup(keys, np.argsort(keys, kind="stable"), retriever, made_from)

    def _setup(self, keys: np.ndarray, order: np.ndarray, retriever, made_from: str) -> None:
        self._stemmer = self._stemmer_for()
        self._keys = keys
        self._order = order
        self._sorted = np.asarray(keys[order])  # subtle: a copy, so searchsorted reads RAM, not the file
        self._retriever = retriever
        self.made_from = made_from
        # Asking tokenises the question several times and the same passage sentences again and
        # again (bm25s.tokenize costs ~0.2 ms a call): remembered, an ask spends its time searching.
        self._terms = functools.lru_cache(maxsize=TERMS_CACHED)(self._tokenize)
        self._weights = functools.lru_cache(maxsize=256)(self._term_weights)

    @staticmethod
    def _stemmer_for():
        import Stemmer

        return Stemmer.Stemmer(STEMMER)

    # -- on disk --

    def save(self, path: Path) -> None:
        """Write the index into the folder ``path`` (created): bm25s's own files, the passage
        keys, and ``meta.json`` last (a folder without it is incomplete)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self._retriever is not None:
            self._retriever.save(path, corpus=None, show_progress=False)
        np.save(path / KEYS, np.ascontiguousarray(self._keys), allow_pickle=False)
        np.save(path / ORDER, np.ascontiguousarray(self._order), allow_pickle=False)
        meta = {**settings(), "passages": len(self._keys), "made_from": self.made_from}
        (path / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        for f in path.iterdir():  # a cache, but one a crash must not leave half-written
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())

    @classmethod
    def load(cls, path: Path, made_from: str = "", mmap: bool = True) -> "LexicalIndex":
        """An index saved by :meth:`save`.

        :param made_from: must equal what the saved index was made from.
        :param mmap: map the score arrays and keys from their files instead of reading them.
        :raises LexicalMismatch: it was built with other settings or from other texts.
        :raises OSError, ValueError: it is missing, incomplete or damaged.
        """
        import bm25s

        path = Path(path)
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        expected = {**settings(), "made_from": made_from}
        for name, value in expected.items():
            if meta.get(name) != value:
                raise LexicalMismatch(f"{path}: built with {name} {meta.get(name)!r}, not {value!r}")
        mode = "r" if mmap else None
        keys = np.load(path / KEYS, mmap_mode=mode, allow_pickle=False)
        order = np.load(path / ORDER, mmap_mode=mode, allow_pickle=False)
        if not len(keys) == len(order) == meta.get("passages"):
            raise ValueError(f"{path}: {len(keys)} keys for {meta.get('passages')} passages")
        retriever = None
        if len(keys):
            retriever = bm25s.BM25.load(path, mmap=mmap, show_progress=False)
            if retriever.scores["num_docs"] != len(keys):
                raise ValueError(f"{path}: BM25 holds {retriever.scores['num_docs']} passages, not {len(keys)}")
        index = cls.__new__(cls)
        index._setup(keys, order, retriever, made_from)
        return index

    # -- asking --

    def _positions(self, keys) -> np.ndarray:
        """The positions of passages ``keys``; keys not in the index are left out."""
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        if not len(self._sorted) or not len(keys):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, keys), len(self._sorted) - 1)
        return np.asarray(self._order[at[self._sorted[at] == keys]], dtype=np.int64)

    def terms(self, text: str) -> frozenset[str]:
        """The terms BM25 sees in a text: stemmed words, stop words out."""
        return self._terms(text)

    def _tokenize(self, text: str) -> frozenset[str]:
        import bm25s

        tokens = bm25s.tokenize([text], stopwords=STOPWORDS, stemmer=self._stemmer, return_ids=False, show_progress=False)
        return frozenset(tokens[0])

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
        return dict(self._weights(question))

    def _term_weights(self, question: str) -> dict[str, float]:
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
        at = self._positions([key])
        if not total or not len(at):
            return 0.0
        doc = at[0]
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
        query = bm25s.tokenize([question], stopwords=STOPWORDS, stemmer=self._stemmer, show_progress=False)
        if not query.vocab:  # nothing but stop words
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        weights = None
        if allowed is not None:
            weights = np.zeros(len(self._keys), dtype=np.float32)
            weights[self._positions(allowed)] = 1.0
        n = min(k, len(self._keys))
        docs, scores = self._retriever.retrieve(query, k=n, show_progress=False, weight_mask=weights)
        docs, scores = docs[0], scores[0]
        keep = scores > 0
        return self._keys[docs[keep]], scores[keep].astype(np.float32)
