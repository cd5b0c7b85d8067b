"""Seeded synthetic libraries that look like real text to the vector index, for measuring scale.

A million passages cannot be embedded here (the model reads ~85 passages/s), so a synthetic
library is made of the real thing: each synthetic passage is 2–6 real corpus sentences, and its
vectors are made from those sentences' real embeddings (the normalised mean of their vectors
plus a little seeded noise; each sentence's own vector is its real vector plus noise). Questions
are embedded for real, and the real corpus's own passages sit in the index among the synthetic
ones, so a gold question's right answer is there to be found.

The real corpus is indexed once with the real model (a normal sync) and kept under
``var/bench-cache/corpus-KEY/``, KEY a hash of the report files, the model and the chunker; a
synthetic library is kept under ``var/bench-cache/synthetic-KEY/``, KEY a hash of the corpus
key, its size, its seed and this generator's version. Both are written through
:meth:`index.store.IndexDir.write_segment`, so the real load and ask path runs on them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.chunk import CHUNKER_VERSION  # noqa: E402
from index.passage import Passage, Report  # noqa: E402
from index.store import IndexDir, Manifest, ReportEntry, load  # noqa: E402

CACHE = ROOT / "var" / "bench-cache"
CORPUS = ROOT.parent / "shared" / "corpus" / "reports"
GENERATOR = "3"  # bump when what generate() writes changes: cached libraries are then remade
PASSAGES_PER_REPORT = 1000
# Lengths of the noise added to unit vectors, as measured on the real corpus (medians over its
# 3,898 passages): a passage's vector has cosine 0.86 with the normalised mean of its sentences'
# (noise 0.6 gives 0.86) and 0.88 with the passage embedded with its headings (0.55 gives
# 0.88). A sentence recurring in another report gets noise 0.5 (cosine 0.89 with the real
# sentence, 0.8 between two copies): with less, the ~300 copies of each real sentence a
# million passages hold stand so close together that approximate search finds them all too
# easily (recall@10 0.98 probing 16 of 8,192 lists at noise 0.3).
NOISE = {"sentence": 0.5, "passage": 0.6, "context": 0.55}
WINDOW = 12  # a passage's sentences come from this many consecutive real sentences: one topic


def _key(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:16]


def corpus_files(quick: bool = False) -> list[Path]:
    """The real reports: the seed library alone (quick) or the corpus PDFs and the seed."""
    seeds = sorted(p for p in (ROOT / "seeds").iterdir() if p.is_file())
    return seeds if quick else sorted(CORPUS.glob("*.pdf")) + seeds


def real_index(files: list[Path], embedder=None, cache: Path = CACHE, out=print) -> Path:
    """The index of the real ``files`` built by a normal sync with the real model, once: kept
    under ``cache/corpus-KEY/index``, KEY the files' hashes, the model and the chunker."""
    from index.embed import resolve_model
    from index.read import file_sha256
    from index.sync import sync

    spec = embedder.spec if embedder is not None else resolve_model()
    key = _key(spec.sha256, CHUNKER_VERSION, *sorted(f"{f.name}={file_sha256(f)}" for f in files))
    home = cache / f"corpus-{key}"
    index = home / "index"
    if (home / "done").exists():
        return index
    library = home / "library"
    library.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy2(f, library / f.name)
    started = time.monotonic()
    sync(library, index, embedder=embedder, model=spec.name, progress=False, out=lambda line: None)
    (home / "done").write_text(f"{time.monotonic() - started:.1f} s\n")
    out(f"real corpus indexed once with the real model: {len(files)} reports in {time.monotonic() - started:.0f} s -> {index}")
    return index


@dataclass
class SentencePool:
    """The real sentences synthetic passages are made of, in reading order, with their real
    vectors; ``source`` numbers the real report each comes from."""

    texts: list[str]
    vectors: np.ndarray
    source: np.ndarray


def sentence_pool(index: Path) -> SentencePool:
    loaded = load(IndexDir(index))
    texts, rows, source = [], [], []
    for n, (rid, entry) in enumerate(sorted(loaded.entries.items())):
        for key, p in loaded.passages.items():
            if p.report != rid:
                continue
            start, end = loaded.sentence_rows[key]
            texts += [p.text[s:e] for s, e in p.sentences]
            rows += range(start, end)
            source += [n] * (end - start)
    vectors = loaded.sentence_vectors(np.array(rows, dtype=np.int64))
    return SentencePool(texts, np.array(vectors, dtype=np.float32), np.array(source, dtype=np.int32))


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _noisy(x: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    return _unit(x + rng.standard_normal(x.shape, dtype=np.float32) * (noise / np.sqrt(x.shape[-1])))


def synthetic_report(pool: SentencePool, number: int, passages: int, seed: int, noise: dict = NOISE):
    """One synthetic report: its passages, text, passage / context / sentence vectors.

    Each passage takes 2–6 sentences, in order, from a window of WINDOW consecutive real
    sentences of one real report (a passage keeps to one topic, as real ones do), so the same
    real sentence recurs across synthetic reports the way formulaic text does across real ones,
    each time with its own noise."""
    rng = np.random.default_rng([seed, number])
    n = len(pool.texts)
    counts = rng.integers(2, 7, size=passages)
    chosen: list[np.ndarray] = []
    for count in counts:
        start = int(rng.integers(0, n))
        window = np.flatnonzero(pool.source[start : start + WINDOW] == pool.source[start]) + start
        count = min(count, len(window))
        chosen.append(np.sort(rng.choice(window, size=count, replace=False)))
    report_id = f"synthetic-{number:05d}"
    records, text, offset = [], [], 0
    for i, rows in enumerate(chosen):
        sentences, spans, cursor = [], [], 0
        for r in rows:
            s = pool.texts[r]
            spans.append((cursor, cursor + len(s)))
            sentences.append(s)
            cursor += len(s) + 1
        body = " ".join(sentences)
        records.append(Passage(report_id, i + 1, 1, None, offset, offset + len(body), body, sentences=tuple(spans),
                               heading=f"Synthetic report {number} > Section {i // 10 + 1}"))
        text.append(body)
        offset += len(body) + 2
    flat = np.concatenate(chosen)
    sentence_vectors = _noisy(pool.vectors[flat], rng, noise["sentence"])
    bounds = np.cumsum([0, *map(len, chosen)])
    means = _unit(np.add.reduceat(pool.vectors[flat], bounds[:-1], axis=0))
    vectors = _noisy(means, rng, noise["passage"])
    contexts = _noisy(vectors, rng, noise["context"])  # the same passage read with its headings
    return records, "\n\n".join(text), vectors, contexts, sentence_vectors


def generate(total: int, real: Path, seed: int = 0, per_report: int = PASSAGES_PER_REPORT,
             cache: Path = CACHE, out=print) -> Path:
    """An index of about ``total`` passages: the real index's reports plus synthetic reports of
    ``per_report`` passages each, written as segments and committed as one version (no
    approximate index: building it is measured apart). Kept under ``cache``; returns its path."""
    real_manifest = IndexDir(real).read_manifest()
    real_passages = sum(e.report.passages for e in real_manifest.reports)
    home = cache / f"synthetic-{_key(real.parent.name, total, seed, per_report, GENERATOR)}"
    index = home / "index"
    if (home / "done").exists():
        return index
    shutil.rmtree(home, ignore_errors=True)
    started = time.monotonic()
    store = IndexDir(index)
    store.segments_dir.mkdir(parents=True)
    entries = []
    for entry in real_manifest.reports:  # the real reports, as they are
        for f in real.joinpath("segments").glob(f"{entry.segment}.*"):
            shutil.copy2(f, store.segments_dir / f.name)
        entries.append(entry)
    pool = sentence_pool(real)
    remaining, number = max(0, total - real_passages), 0
    while remaining > 0:
        size = min(per_report, remaining)
        passages, text, vectors, contexts, sentence_vectors = synthetic_report(pool, number, size, seed)
        segment = _key("synthetic", seed, number, size, real_manifest.model_sha256, GENERATOR) * 2
        store.write_segment(segment, passages, vectors, sentence_vectors, text, contexts)
        sha = hashlib.sha256(text.encode()).hexdigest()
        report = Report(id=passages[0].report, source=f"{passages[0].report}.txt", sha256=sha,
                        title=f"Synthetic report {number}", kind="synthetic", passages=size)
        entries.append(ReportEntry(report, segment, len(text), 0))
        remaining -= size
        number += 1
    store.commit(Manifest(
        model=real_manifest.model, model_sha256=real_manifest.model_sha256, dimension=real_manifest.dimension,
        max_tokens=real_manifest.max_tokens, chunker=real_manifest.chunker,
        encoder=real_manifest.encoder, encoder_sha256=real_manifest.encoder_sha256,
        reports=sorted(entries, key=lambda e: e.report.source),
    ))
    (home / "done").write_text(json.dumps({"passages": max(total, real_passages), "seconds": time.monotonic() - started}))
    out(f"synthetic library of {total} passages ({number} synthetic reports) written in {time.monotonic() - started:.0f} s -> {index}")
    return index


if __name__ == "__main__":
    real_index(corpus_files(quick="--quick" in sys.argv))
