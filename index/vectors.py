"""Vectors on disk and in memory: the only module that imports faiss.

The interface is small on purpose (``add / remove / search / save / load``) so another
nearest-neighbour backend can replace FAISS behind it.
"""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    """Normalised vectors under int64 ids, searched by inner product (= cosine).

    :param dimension: the length of every vector.
    """

    def __init__(self, dimension: int):
        if dimension <= 0:
            raise ValueError(f"dimension must be greater than 0. Currently, dimension is {dimension}")
        self.dimension = dimension
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors must have shape (n, {self.dimension}). Currently, shape is {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids):
            self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; returns how many were removed."""
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the ``k`` nearest vectors, best first (fewer if the index is smaller).

        :param allowed: if given, only these ids are considered.
        """
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}")
        k = min(k, len(self))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def get(self, key: int) -> np.ndarray:
        """The vector stored under ``key``."""
        return self._index.reconstruct(int(key))

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """All ids and their vectors."""
        n = len(self)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vecs = self._index.index.reconstruct_n(0, n) if n else np.zeros((0, self.dimension), np.float32)
        return ids, vecs

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        raw = faiss.read_index(str(path))
        index = cls(raw.d)
        index._index = faiss.IndexIDMap2(raw) if not isinstance(raw, faiss.IndexIDMap2) else raw
        return index

    def merge(self, other: "VectorIndex") -> None:
        """Add every vector of ``other`` (ids must not clash)."""
        ids, vecs = other.vectors()
        self.add(ids, vecs)
