"""The two encoders side by side (index/embed.py): speed and agreement, with the real model.

`.venv/bin/python bench/encoders.py [REPORT...]` prints, for the seed and each report named
(default: one real report of the corpus), passages per second of torch and onnx-int8, one
question's latency, how closely their vectors agree (cosine), then passages per second at batch
sizes 8 to 128. :func:`measure` is what bench/run.py calls.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPORTS = ROOT.parent / "shared" / "corpus" / "reports"
REAL_REPORT = REPORTS / "80468_essex__ilacs_07-january-2019.pdf"
SEED = ROOT / "seeds" / "essex-police-hmic-inspection-news-summary.txt"
GROUP = 32  # passages timed at a time (whole batches of 16, as Embedder.encode makes them): see measure


def load_embedders():
    """The default model through both encoders: (torch, onnx-int8)."""
    from index.embed import Embedder, resolve_model

    spec = resolve_model()
    return Embedder(spec, "torch"), Embedder(spec, "onnx-int8")


def passages(path: Path, embedder) -> list[str]:
    """A report's passages as sync embeds them on their own (index.chunk.embedding_text)."""
    from index.chunk import chunk, embedding_text
    from index.parse import read_limited

    text = read_limited(Path(path))
    return [embedding_text(p) for p in chunk(Path(path).stem, text, embedder.max_tokens, embedder.count_tokens)]


def questions(gold: Path = ROOT / "tests" / "gold" / "seed.jsonl") -> list[str]:
    return [json.loads(line)["q"] for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(texts: list[str], queries: list[str], embedders=None, repeats: int = 3) -> dict:
    """Figures for torch against onnx-int8 on ``texts`` (passages) and ``queries`` (questions).

    Speed is the best of ``repeats`` runs of each group of :data:`GROUP` passages (longest
    first), summed, the encoders taking turns group by group so that a machine whose load
    changes slows both alike; query latency is the median of single-question calls.

    :param embedders: (torch, onnx-int8) Embedders already loaded; loaded here if None.
    :returns: passages, torch_passages_per_s, int8_passages_per_s, speedup, torch_query_ms,
        int8_query_ms, question_encoder, asked_query_ms and asked_cosine_min (torch's questions as
        an ask encodes them, and their lowest cosine to torch's own), cosine_mean, cosine_p1 (1st
        percentile), cosine_min.
    """
    if not texts or not queries:
        raise ValueError(f"measure needs texts and queries. Currently, {len(texts)} texts and {len(queries)} queries")
    torch_embedder, int8_embedder = embedders or load_embedders()
    for e in (torch_embedder, int8_embedder):
        e.encode(texts[:8])  # warm up: first calls allocate
    ordered = sorted(texts, key=len, reverse=True)  # as Embedder.encode batches them
    groups = [ordered[i : i + GROUP] for i in range(0, len(ordered), GROUP)]
    best = {(name, g): float("inf") for name in ("torch", "int8") for g in range(len(groups))}
    for _ in range(repeats):
        for g, group in enumerate(groups):
            for name, e in (("torch", torch_embedder), ("int8", int8_embedder)):
                best[name, g] = min(best[name, g], _seconds(lambda: e.encode(group)))
    seconds = {name: sum(best[name, g] for g in range(len(groups))) for name in ("torch", "int8")}
    query_ms = {}
    for name, e in (("torch", torch_embedder), ("int8", int8_embedder)):
        query_ms[name] = 1000 * statistics.median(
            min(_seconds(lambda: e.encode([q])) for _ in range(repeats)) for q in queries
        )
    # What an ask runs: torch's questions through the float32 graph (Embedder.encode_question).
    query_ms["asked"] = 1000 * statistics.median(
        min(_seconds(lambda: torch_embedder.encode_question(q)) for _ in range(repeats)) for q in queries
    )
    asked = np.stack([torch_embedder.encode_question(q) for q in queries])
    asked_cosines = (asked * torch_embedder.encode(queries)).sum(axis=1)
    cosines = (torch_embedder.encode(texts) * int8_embedder.encode(texts)).sum(axis=1)
    return {
        "passages": len(texts),
        "torch_passages_per_s": len(texts) / seconds["torch"],
        "int8_passages_per_s": len(texts) / seconds["int8"],
        "speedup": seconds["torch"] / seconds["int8"],
        "torch_query_ms": query_ms["torch"],
        "int8_query_ms": query_ms["int8"],
        "question_encoder": torch_embedder.question_encoder,
        "asked_query_ms": query_ms["asked"],
        "asked_cosine_min": float(asked_cosines.min()),
        "cosine_mean": float(cosines.mean()),
        "cosine_p1": float(np.percentile(cosines, 1)),
        "cosine_min": float(cosines.min()),
    }


def batch_sizes(texts: list[str], embedders, sizes=(8, 16, 32, 64, 128), repeats: int = 3) -> dict:
    """Passages per second of each encoder at each batch size (texts sorted by length, as
    Embedder.encode does), the sizes taking turns."""
    names = ("torch", "onnx-int8")
    best = {(n, s): float("inf") for n in names for s in sizes}
    for _ in range(repeats):
        for size in sizes:
            for name, e in zip(names, embedders):
                best[name, size] = min(best[name, size], _seconds(lambda: e.encode(texts, batch_size=size)))
    return {name: {size: len(texts) / best[name, size] for size in sizes} for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*", type=Path, default=[REAL_REPORT], help="reports besides the seed")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    embedders = load_embedders()
    queries = questions()
    every = []
    for report in [SEED, *args.reports]:
        texts = passages(report, embedders[0])
        every += texts
        m = measure(texts, queries, embedders, args.repeats)
        print(f"{report.name}: {m['passages']} passages; torch {m['torch_passages_per_s']:.1f}/s, onnx-int8 "
              f"{m['int8_passages_per_s']:.1f}/s ({m['speedup']:.2f}x); one question {m['torch_query_ms']:.1f} ms "
              f"vs {m['int8_query_ms']:.1f} ms; cosine mean {m['cosine_mean']:.4f}, 1st percentile "
              f"{m['cosine_p1']:.4f}, min {m['cosine_min']:.4f}")
    for name, rates in batch_sizes(every, embedders, repeats=args.repeats).items():
        print(f"{name} passages/s by batch size ({len(every)} passages): "
              + ", ".join(f"{size}: {rate:.1f}" for size, rate in rates.items()))


if __name__ == "__main__":
    main()
