"""Large libraries: a version's vectors searched approximately, built once per version.

Below ``APPROXIMATE_ABOVE`` passages every question is compared with every vector (exact, and
fast enough). Above it the three sets of vectors of a version — passages, passages with their
headings, sentences — are each put in an inverted file (:class:`index.vectors.ApproximateIndex`,
IVF with vectors in half precision) kept as artefacts of the version (``combined/K/passages.ivf``, ``contexts.ivf``,
``sentences.ivf`` and ``search.json``, which says how they were built and is written last).

A sync builds them before it commits (:func:`build`), from the previous version's when it can:
a copy of its lists with the removed reports' vectors taken out and the new reports' put in,
keeping the trained centroids, until the vectors added since they were trained pass
``RETRAIN_AFTER`` of the vectors they were trained on (or the library shrinks by as much);
then the centroids are learnt again. Loading maps the files read-only (:func:`open_version`).

Sentence vectors carry ids that do not change from version to version: the segment's name
(40 bits) and the sentence's row within the segment (23 bits), so a report's sentences can be
taken out of a copied index without renumbering the rest.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from index.store import IndexDir, Manifest, ReportEntry
from index.vectors import ApproximateIndex

# Measured on this machine (bench/scale.py, synthetic libraries of real sentences): exact search
# reads every vector, so the three searches of a question (passages, passages with headings,
# ~4x as many sentences) take p50 4 ms at 10k passages, 11 ms at 20k, 67 ms at 100k, 680 ms at
# 1M; approximate search 0.5 ms at 10k to 20k. The six gold reports (3,900 passages) stay exact.
APPROXIMATE_ABOVE = 10_000  # passages; REPORTQA_APPROXIMATE_ABOVE overrides (tests lower it)
# Share of the trained size added (or removed) before the centroids are learnt again. Measured
# (100k passages, the new reports on other topics than those trained on: other corpus reports'
# sentences): recall@10 against exact search 0.972 / 0.971 / 0.960 / 0.949 after adding 25% /
# 50% / 100% / 200% of the trained size, 0.984-0.986 retrained, search p50 +22% / +23% / +40% /
# +54% as the new topics crowd into a few lists. Up to half, what a sync saves is worth it.
RETRAIN_AFTER = 0.5
KINDS = ("passages", "contexts", "sentences")
SEARCH = "search.json"
ROW_BITS = 23  # a sentence id: 40 bits of its segment's name, 23 of its row in the segment
TRAIN_PER_LIST = 32  # k-means sample per list (FAISS warns under 39; measured to suffice here)


def approximate_above() -> int:
    """Passages above which a version is searched approximately."""
    value = os.environ.get("REPORTQA_APPROXIMATE_ABOVE")
    try:
        above = int(value) if value else APPROXIMATE_ABOVE
    except ValueError:
        raise ValueError(f"REPORTQA_APPROXIMATE_ABOVE must be a whole number of passages. Currently, it is {value!r}") from None
    if above < 0:
        raise ValueError(f"REPORTQA_APPROXIMATE_ABOVE must be at least 0. Currently, it is {above}")
    return above


def lists_for(vectors: int) -> int:
    """How many lists for this many vectors: the power of two nearest 4·√n (FAISS's rule of
    thumb), at least 1 and never more than a fortieth of the vectors (each list needs points to
    learn its centroid from)."""
    nlist = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(vectors))))
    return max(1, min(nlist, vectors // 40))


def probes_for(nlist: int) -> int:
    """How many lists a search probes: 2·√nlist. Measured with the gold questions on synthetic
    libraries (bench/scale.py), recall@10 against exact search of the hardest of the three sets
    (passages with headings) reached 0.95 at 64 of 1,024 lists (100k passages) and 0.97 at 128
    of 4,096 (1M); probing a fixed share of the lists instead asks too much of large indexes."""
    return min(nlist, max(8, round(2 * math.sqrt(nlist))))


def sentence_labels(segment: str, count: int) -> np.ndarray:
    """The ids of a segment's ``count`` sentences, stable across versions."""
    if count >= 1 << ROW_BITS:
        raise ValueError(f"segment {segment}: {count} sentences; at most {(1 << ROW_BITS) - 1} fit an id")
    return (int(segment[:10], 16) << ROW_BITS) | np.arange(count, dtype=np.int64)


@dataclass
class SentenceIds:
    """Maps sentence ids back to rows of a version's sentences (segment after segment)."""

    prefixes: np.ndarray  # the segments' 40-bit prefixes, sorted
    offsets: np.ndarray  # the row of each of those segments' first sentence

    @classmethod
    def of(cls, segments: list[tuple[str, int]]) -> "SentenceIds":
        """:param segments: each segment's name and sentence count, in row order."""
        prefixes = np.array([int(s[:10], 16) for s, _ in segments], dtype=np.int64)
        offsets = np.cumsum([0, *[n for _, n in segments]])[:-1].astype(np.int64)
        order = np.argsort(prefixes, kind="stable")
        if len(prefixes) and np.any(np.diff(prefixes[order]) == 0):
            raise ValueError("two segments share their first 40 bits; sentence ids would clash")
        return cls(prefixes[order], offsets[order])

    def rows(self, labels: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels, dtype=np.int64)
        where = np.searchsorted(self.prefixes, labels >> ROW_BITS)
        return self.offsets[where] + (labels & ((1 << ROW_BITS) - 1))


def _passage_ids(store: IndexDir, entry: ReportEntry) -> np.ndarray:
    return store.read_vectors(entry).vectors()[0]


def segment_vectors(store: IndexDir, entry: ReportEntry, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A segment's ids and vectors of one kind (``KINDS``), as the approximate index holds them."""
    if kind == "passages":
        return store.read_vectors(entry).vectors()
    if kind == "contexts":  # written in passage order, like the .faiss file's ids
        return _passage_ids(store, entry), store.read_context_vectors(entry)
    vectors = store.read_sentence_vectors(entry)
    return sentence_labels(entry.segment, len(vectors)), vectors


def segment_ids(store: IndexDir, entry: ReportEntry, kind: str) -> np.ndarray:
    """A segment's ids of one kind, reading no more than needed."""
    if kind == "sentences":
        path = (store.segments_dir / entry.segment).with_suffix(".npy")
        return sentence_labels(entry.segment, len(np.load(path, mmap_mode="r")))
    return _passage_ids(store, entry)


def read_search(store: IndexDir, manifest: Manifest | None) -> dict | None:
    """How ``manifest``'s version is searched approximately, if its indexes are built."""
    if manifest is None:
        return None
    path = store.artefact(manifest, SEARCH)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def needs_training(previous: dict | None, passages: int, added: int) -> bool:
    """Whether the centroids must be learnt again rather than kept from the previous version:
    none to keep, or since they were learnt more than ``RETRAIN_AFTER`` of their trained size
    was added, or the library shrank below ``1 - RETRAIN_AFTER`` of it."""
    if not previous or previous.get("kind") != "ivf":
        return True
    trained_on = previous["trained_on"]
    return previous["added_since_training"] + added > RETRAIN_AFTER * trained_on or passages < (1 - RETRAIN_AFTER) * trained_on


def _sample(store: IndexDir, entries: list[ReportEntry], kind: str, size: int, total: int, seed: int) -> np.ndarray:
    """About ``size`` of the version's vectors of one kind, drawn evenly from every segment."""
    rng = np.random.default_rng(seed)
    share = min(1.0, size / max(total, 1))
    parts = []
    for entry in entries:
        _, vectors = segment_vectors(store, entry, kind)
        parts.append(vectors[rng.random(len(vectors)) < share])
    return np.vstack(parts)


def _counts(store: IndexDir, entries: list[ReportEntry]) -> dict[str, int]:
    passages = sum(e.report.passages for e in entries)
    sentences = sum(len(segment_ids(store, e, "sentences")) for e in entries)
    return {"passages": passages, "contexts": passages, "sentences": sentences}


def build(store: IndexDir, manifest: Manifest, previous: Manifest | None = None, above: int | None = None,
          force: bool = False, out: Callable[[str], None] | None = None) -> dict:
    """Make the approximate indexes of ``manifest``'s version (unless it is small) and return
    how it is searched, for the manifest's ``search`` field: ``{"kind": "flat"}`` or
    ``{"kind": "ivf", "trained_on", "added_since_training", "retrained", "indexes": {kind:
    {"nlist", "nprobe", "vectors"}}, "seconds"}``. Cheap when nothing is to be built (it reads
    the manifest only) or when the version's indexes exist already.

    :param previous: the version it follows; its indexes, if built, are copied and changed.
    :param above: passages above which to build (default :func:`approximate_above`).
    :param force: build even below ``above`` (tests, benchmarks).
    """
    passages = sum(e.report.passages for e in manifest.reports)
    if not force and passages <= (approximate_above() if above is None else above):
        return {"kind": "flat"}
    done = read_search(store, manifest)
    if done:
        return done
    started = time.monotonic()
    before = read_search(store, previous)
    old = {e.segment: e for e in previous.reports} if before else {}
    new = {e.segment: e for e in manifest.reports}
    gone = [e for s, e in old.items() if s not in new]
    came = [e for s, e in new.items() if s not in old]
    added = sum(e.report.passages for e in came)
    retrain = needs_training(before, passages, added)
    SentenceIds.of([(e.segment, 0) for e in manifest.reports])  # refuse clashing sentence ids early
    counts = _counts(store, manifest.reports)
    indexes = {}
    for number, kind in enumerate(KINDS):
        if retrain:
            nlist = lists_for(counts[kind])
            index = ApproximateIndex(manifest.dimension, nlist, probes_for(nlist))
            index.train(_sample(store, manifest.reports, kind, TRAIN_PER_LIST * nlist, counts[kind], seed=number))
            for entry in manifest.reports:
                index.add(*segment_vectors(store, entry, kind))
        else:
            index = ApproximateIndex.load(store.artefact(previous, f"{kind}.ivf"))
            for entry in gone:
                index.remove(segment_ids(store, entry, kind))
            for entry in came:
                index.add(*segment_vectors(store, entry, kind))
        if len(index) != counts[kind]:
            raise RuntimeError(f"{store.path}: approximate {kind} index holds {len(index)} vectors, the version {counts[kind]}")
        store.save_artefact(manifest, f"{kind}.ivf", index.save)
        indexes[kind] = {"nlist": index.nlist, "nprobe": index.nprobe, "vectors": len(index)}
        del index
    info = {
        "kind": "ivf",
        "trained_on": passages if retrain else before["trained_on"],
        "added_since_training": 0 if retrain else before["added_since_training"] + added,
        "retrained": retrain,
        "indexes": indexes,
        "seconds": round(time.monotonic() - started, 1),
    }
    store.save_artefact(manifest, SEARCH, lambda tmp: tmp.write_text(json.dumps(info, indent=1), encoding="utf-8"))
    if out:
        how = "trained" if retrain else f"copied from version {previous.version}, -{len(gone)} +{len(came)} reports"
        out(f"Approximate search for {passages} passages: {how} in {info['seconds']:.0f} s")
    return info


def open_version(store: IndexDir, manifest: Manifest, approximate: bool | None = None) -> tuple[dict, dict[str, ApproximateIndex]] | None:
    """The approximate indexes of the current version, mapped read-only, and how they were
    built; None when the version is searched exactly. Built now if missing (a version committed
    before it was large, or by an older release).

    :param approximate: None decides by size (:func:`approximate_above`); True builds and opens
        them whatever the size; False opens none.
    """
    if approximate is False:
        return None
    info = read_search(store, manifest)
    if info is None:
        passages = sum(e.report.passages for e in manifest.reports)
        if not approximate and passages <= approximate_above():
            return None
        previous = store.read_manifest(previous=True)
        try:
            info = build(store, manifest, previous, force=True)
        except ValueError:  # clashing sentence ids (about one in 10^6 libraries): search exactly
            return None
    return info, {kind: ApproximateIndex.load(store.artefact(manifest, f"{kind}.ivf"), mmap=True) for kind in KINDS}


def artefact_bytes(store: IndexDir, manifest: Manifest) -> int:
    """Bytes on disk of a version's approximate indexes."""
    return sum(p.stat().st_size for p in (store.artefact(manifest, f"{k}.ivf") for k in KINDS) if Path(p).exists())
