"""Whether an index built by one encoder can be used with another.

The torch and int8 encoders of one model give close vectors, not equal ones. An index built by
one is used with the other only if they agree on the index's own passages: a probe of its first
:data:`PROBE` passages (their embedding texts, as stored) is embedded by the encoder asked for
and compared, cosine by cosine, with the vectors stored for them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.chunk import embedding_text
from index.store import IndexDir, IndexUnusable, Manifest, passage_key

PROBE = 32
# The lowest cosine accepted between the stored vector of a probe passage and the new one.
# Measured, torch against onnx-int8 (all-MiniLM-L6-v2), on the 1,603 passages of the six gold
# reports (`make eval`'s library): mean 0.991, 1st percentile 0.982, min 0.975 (contexts: 0.991,
# 0.985, 0.979; 6,245 sentences: 0.990, 0.980, 0.968); on the seed's 37 passages mean 0.991, min
# 0.984. Since int8 keeps two products in float32 (index.onnx_int8), closer: mean 0.995, min
# 0.983 over the gold passages; the seed's 0.995 / 0.992. 0.95 leaves room below the worst
# passage; stored vectors perturbed as little as another model's would be (noise of 0.05 a
# dimension) score about 0.7.
MIN_COSINE = 0.95


@dataclass(frozen=True)
class Agreement:
    """How well the encoder asked for reproduces an index's stored vectors."""

    built_with: str
    asked: str
    passages: int
    cosine_min: float
    cosine_mean: float

    @property
    def accepted(self) -> bool:
        return self.cosine_min >= MIN_COSINE


def encoder_of(embedder) -> tuple[str, str]:
    """The encoder an embedder runs and its file's sha256 (embedders without one are torch's)."""
    return getattr(embedder, "encoder", "torch"), getattr(embedder, "encoder_sha256", "")


def same_encoder(manifest: Manifest, embedder) -> bool:
    return (manifest.encoder, manifest.encoder_sha256) == encoder_of(embedder)


def probe(store: IndexDir, manifest: Manifest, size: int = PROBE) -> tuple[list[str], np.ndarray]:
    """The embedding texts of the index's first ``size`` passages and their stored vectors."""
    texts, vectors = [], []
    for entry in manifest.reports:
        if len(texts) >= size:
            break
        passages = store.read_passages(entry)[: size - len(texts)]
        stored = store.read_vectors(entry)
        for p in passages:
            texts.append(embedding_text(p))
            vectors.append(stored.get(passage_key(entry.segment, p)))
    dimension = manifest.dimension
    return texts, np.array(vectors, dtype=np.float32).reshape(-1, dimension)


def measure(store: IndexDir, manifest: Manifest, embedder) -> Agreement:
    """Embed the probe with ``embedder`` and compare with the stored vectors."""
    texts, stored = probe(store, manifest)
    fresh = embedder.encode(texts) if texts else np.zeros_like(stored)
    cosines = (fresh * stored).sum(axis=1) if texts else np.ones(1)
    asked = encoder_of(embedder)[0]
    return Agreement(manifest.encoder, asked, len(texts), float(cosines.min()), float(cosines.mean()))


def check_encoder(store: IndexDir, manifest: Manifest, embedder) -> Agreement | None:
    """Refuse an index whose vectors ``embedder`` does not reproduce; None if it built the index.

    :raises IndexUnusable: one line naming the index, both encoders, the cosine, what to do.
    """
    if same_encoder(manifest, embedder):
        return None
    found = measure(store, manifest, embedder)
    if not found.accepted:
        path = store.path
        raise IndexUnusable(
            f"{path}: index was built with encoder {found.built_with}, and {found.asked} does not reproduce its "
            f"vectors (min cosine {found.cosine_min:.3f} over {found.passages} passages, below {MIN_COSINE}); use "
            f"`python -m qa --index {path} --encoder {found.built_with} ...` or rebuild it with "
            f"`python -m qa --index {path} --encoder {found.asked} index --rebuild`"
        )
    return found
