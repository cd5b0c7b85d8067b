"""Vectors on disk and in memory: the only module that imports faiss.

The interface is small on purpose (``add / remove / search / get / save / load``) so another
nearest-neighbour backend can replace FAISS behind it. Two implement it: :class:`VectorIndex`
compares a question with every vector (exact), :class:`ApproximateIndex` with the vectors of the
few lists of an inverted file nearest it (FAISS IVF, vectors in half precision).
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import faiss
import numpy as np

# One question is searched on one thread: FAISS parallelises a single query poorly, and on this
# 2-core machine shared with the model a second thread made flat and IVF search slower, not
# faster (bench/scale.py measures both). Training uses every core (see ``threads``).
SEARCH_THREADS = int(os.environ.get("REPORTQA_FAISS_THREADS") or 1)
faiss.omp_set_num_threads(SEARCH_THREADS)

# An approximate search limited to at most this many ids compares the question with each of
# them (exact, and cheap: a few milliseconds); a wider one probes more lists (see search).
EXACT_WITHIN = 10_000


@contextlib.contextmanager
def threads(n: int | None = None):
    """Let FAISS use ``n`` threads (default: every core) inside the block, e.g. to train."""
    faiss.omp_set_num_threads(n or os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(SEARCH_THREADS)


def _check(dimension: int, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise ValueError(f"vectors must have shape (n, {dimension}). Currently, shape is {vectors.shape}")
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
    return np.ascontiguousarray(ids, dtype=np.int64), vectors


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``ids`` by ``scores``, best first."""
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order]


class _Vectors:
    """What both backends share: a FAISS index of ``dimension``-long vectors under int64 ids."""

    dimension: int
    _index: faiss.Index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _search(self, query: np.ndarray, k: int, params=None) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def get(self, key: int) -> np.ndarray:
        """The vector stored under ``key``."""
        return self._index.reconstruct(int(key))

    def get_many(self, keys: np.ndarray) -> np.ndarray:
        """The vectors stored under ``keys``, one row each (every key must be present)."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if not len(keys):
            return np.zeros((0, self.dimension), np.float32)
        return self._index.reconstruct_batch(keys)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))


def _check_dimension(dimension: int) -> int:
    if dimension <= 0:
        raise ValueError(f"dimension must be greater than 0. Currently, dimension is {dimension}")
    return dimension


def _check_k(k: int) -> None:
    if k <= 0:
        raise ValueError(f"k must be greater than 0. Currently, k is {k}")


class VectorIndex(_Vectors):
    """Normalised vectors under int64 ids, searched by inner product (= cosine), exactly.

    :param dimension: the length of every vector.
    """

    def __init__(self, dimension: int):
        self.dimension = _check_dimension(dimension)
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = _check(self.dimension, ids, vectors)
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; returns how many were removed."""
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the ``k`` nearest vectors, best first (fewer if the index is smaller).

        :param allowed: if given, only these ids are considered.
        """
        _check_k(k)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        return self._search(query, k, params)

    def matrix(self) -> np.ndarray:
        """Every vector in the order added, as a read-only view of the index's own storage (no
        copy). Valid while this index lives and is not changed."""
        n = len(self)
        if not n:
            return np.zeros((0, self.dimension), np.float32)
        flat = faiss.downcast_index(self._index.index)
        view = faiss.rev_swig_ptr(flat.get_xb(), n * self.dimension).reshape(n, self.dimension)
        view.flags.writeable = False
        return view

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """All ids and their vectors."""
        n = len(self)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vecs = self._index.index.reconstruct_n(0, n) if n else np.zeros((0, self.dimension), np.float32)
        return ids, vecs

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


class ApproximateIndex(_Vectors):
    """Normalised vectors under int64 ids in an inverted file (FAISS IVF, inner product).

    The vectors are split into ``nlist`` lists around centroids learnt by :meth:`train`; a
    question is compared with the centroids, then with every vector of the ``nprobe`` lists
    nearest it. The vectors are kept in half precision (fp16, the vectors themselves, not
    residuals): half the memory of float32 and, searching being bound by memory, 1.5-1.7x
    faster on this machine, while a cosine moves by under 1e-4 (measured: 5e-5 at most, 1e-5
    typically), far below any cut the answers make. They are kept by id in a hash table, so
    ids may be any int64, ``get`` returns a vector and :meth:`remove` takes a report's out.

    :param dimension: the length of every vector.
    :param nlist: how many lists (centroids).
    :param nprobe: how many lists a search compares the question with.
    """

    def __init__(self, dimension: int, nlist: int, nprobe: int):
        if nlist <= 0 or nprobe <= 0:
            raise ValueError(f"nlist and nprobe must be greater than 0. Currently, they are {nlist} and {nprobe}")
        self.dimension = _check_dimension(dimension)
        self._index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dimension), dimension, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT, False,
        )
        self._index.nprobe = min(nprobe, nlist)
        self._index.set_direct_map_type(faiss.DirectMap.Hashtable)
        self._mapped = False

    @property
    def nlist(self) -> int:
        return int(self._index.nlist)

    @property
    def nprobe(self) -> int:
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if value <= 0:
            raise ValueError(f"nprobe must be greater than 0. Currently, nprobe is {value}")
        self._index.nprobe = min(int(value), self.nlist)

    @property
    def is_trained(self) -> bool:
        return bool(self._index.is_trained)

    def train(self, sample: np.ndarray, seed: int = 1234) -> None:
        """Learn the lists' centroids from a sample of the vectors (k-means, every core)."""
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        if len(sample) < self.nlist:
            raise ValueError(f"{len(sample)} vectors cannot train {self.nlist} lists; give at least as many")
        self._index.cp.seed = seed
        self._index.cp.niter = 10  # k-means converges enough for search within 10 rounds
        self._index.cp.min_points_per_centroid = max(1, len(sample) // self.nlist)  # the caller chose the sample's size
        with threads():
            self._index.train(sample)

    def _writable(self) -> None:
        if self._mapped:
            raise ValueError("this approximate index is mapped read-only from its file; load it with mmap=False to change it")

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._writable()
        ids, vectors = _check(self.dimension, ids, vectors)
        if not self.is_trained:
            raise ValueError("train the approximate index before adding vectors to it")
        if len(ids):
            with threads():
                self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; returns how many were removed."""
        self._writable()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        return int(self._index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))) if len(ids) else 0

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of (about) the ``k`` nearest vectors, best first.

        :param allowed: if given, only these ids (each must be in the index). A few
            (``EXACT_WITHIN``) are compared one by one, exactly; more are searched with
            proportionally more lists probed, so as many of them are looked at as without.
        """
        _check_k(k)
        params = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if len(allowed) <= EXACT_WITHIN:
                query = np.asarray(query, dtype=np.float32).reshape(-1)
                return _top(allowed, self.get_many(allowed) @ query, k)
            nprobe = math.ceil(self.nprobe * len(self) / len(allowed))
            params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(allowed), nprobe=min(nprobe, self.nlist))
        return self._search(query, k, params)

    def list_sizes(self) -> np.ndarray:
        """How many vectors each list holds (an even spread searches fastest)."""
        invlists = self._index.invlists
        return np.array([invlists.list_size(i) for i in range(self.nlist)], dtype=np.int64)

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> "ApproximateIndex":
        """Read an index saved by :meth:`save`. With ``mmap`` the lists stay in the file, mapped
        read-only (start-up reads little; the pages a search touches come in as it runs) and
        the index cannot be changed."""
        raw = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)  # owns the index: keep it
        if not isinstance(raw, faiss.IndexIVFScalarQuantizer):
            raise ValueError(f"{path}: not an approximate index of this kind ({type(raw).__name__})")
        index = cls.__new__(cls)
        index.dimension, index._index, index._mapped = int(raw.d), raw, mmap
        if raw.direct_map.type != faiss.DirectMap.Hashtable:
            index._writable()
            raw.set_direct_map_type(faiss.DirectMap.Hashtable)
        return index
