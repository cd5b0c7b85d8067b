"""The encoders side by side (index/embed.py): speed and agreement, with the real model.

`.venv/bin/python bench/encoders.py [REPORT...]` prints, for the seed and each report named
(default: one real report of the corpus), passages per second of the torch encoder run by torch
and by onnxruntime (its float32 graph, the default runtime) and of onnx-int8, one question's
latency, how closely their vectors agree (cosine), then passages per second at batch sizes 8 to
128. :func:`measure` is what bench/run.py calls.
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


NAMES = ("torch", "float32", "int8")  # torch's runtime, the torch encoder on onnxruntime (the default), onnx-int8


def load_embedders() -> dict:
    """The default model three ways (:data:`NAMES`): the torch encoder run by torch, the torch
    encoder run by onnxruntime on its float32 graph (what Embedder() runs once `make setup` has
    exported it), and onnx-int8."""
    from index.embed import Embedder, resolve_model

    spec = resolve_model()
    return {"torch": Embedder(spec, "torch", runtime="torch"), "float32": Embedder(spec, "torch", runtime="onnxruntime"),
            "int8": Embedder(spec, "onnx-int8")}


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


def measure(texts: list[str], queries: list[str], embedders: dict | None = None, repeats: int = 3) -> dict:
    """Figures for the three runs of the model (:data:`NAMES`) on ``texts`` (passages) and
    ``queries`` (questions).

    Speed is the best of ``repeats`` runs of each group of :data:`GROUP` passages (longest
    first), summed, the three taking turns group by group so that a machine whose load changes
    slows all alike; query latency is the median of single-question calls, as an ask makes them
    (Embedder.encode_question).

    :param embedders: :func:`load_embedders`' dict, already loaded; loaded here if None.
    :returns: passages; NAME_passages_per_s and NAME_query_ms for each name; speedup (int8 over
        torch), float32_speedup (float32 over torch), int8_over_float32; cosine_mean, cosine_p1
        (1st percentile) and cosine_min of int8 against torch; float32_cosine_min against torch,
        over the passages and the questions.
    """
    embedders = embedders or load_embedders()
    for e in embedders.values():
        e.encode(texts[:8])  # warm up: first calls allocate
    ordered = sorted(texts, key=len, reverse=True)  # as Embedder.encode batches them
    groups = [ordered[i : i + GROUP] for i in range(0, len(ordered), GROUP)]
    best = {(name, g): float("inf") for name in NAMES for g in range(len(groups))}
    for _ in range(repeats):
        for g, group in enumerate(groups):
            for name in NAMES:
                best[name, g] = min(best[name, g], _seconds(lambda: embedders[name].encode(group)))
    seconds = {name: sum(best[name, g] for g in range(len(groups))) for name in NAMES}
    figures = {"passages": len(texts)}
    for name in NAMES:
        figures[f"{name}_passages_per_s"] = len(texts) / seconds[name]
        figures[f"{name}_query_ms"] = 1000 * statistics.median(
            min(_seconds(lambda: embedders[name].encode_question(q)) for _ in range(repeats)) for q in queries
        )
    vectors = {name: (embedders[name].encode(texts), np.stack([embedders[name].encode_question(q) for q in queries]))
               for name in NAMES}
    cosines = (vectors["torch"][0] * vectors["int8"][0]).sum(axis=1)
    exact = np.concatenate([(vectors["torch"][i] * vectors["float32"][i]).sum(axis=1) for i in (0, 1)])
    return {
        **figures,
        "speedup": seconds["torch"] / seconds["int8"],
        "float32_speedup": seconds["torch"] / seconds["float32"],
        "int8_over_float32": seconds["float32"] / seconds["int8"],
        "cosine_mean": float(cosines.mean()),
        "cosine_p1": float(np.percentile(cosines, 1)),
        "cosine_min": float(cosines.min()),
        "float32_cosine_min": float(exact.min()),
    }


def batch_sizes(texts: list[str], embedders, sizes=(8, 16, 32, 64, 128), repeats: int = 3) -> dict:
    """Passages per second of each encoder at each batch size (texts sorted by length, as
    Embedder.encode does), the sizes taking turns."""
    best = {(n, s): float("inf") for n in NAMES for s in sizes}
    for _ in range(repeats):
        for size in sizes:
            for name in NAMES:
                best[name, size] = min(best[name, size], _seconds(lambda: embedders[name].encode(texts, batch_size=size)))
    return {name: {size: len(texts) / best[name, size] for size in sizes} for name in NAMES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*", type=Path, default=[REAL_REPORT], help="reports besides the seed")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    embedders = load_embedders()
    queries = questions()
    every = []
    for report in [SEED, *args.reports]:
        texts = passages(report, embedders["torch"])
        every += texts
        m = measure(texts, queries, embedders, args.repeats)
        print(f"{report.name}: {m['passages']} passages; passages/s and one question: "
              + "; ".join(f"{n} {m[n + '_passages_per_s']:.1f}/s, {m[n + '_query_ms']:.1f} ms" for n in NAMES)
              + f"; int8 {m['speedup']:.2f}x torch, float32 on onnxruntime {m['float32_speedup']:.2f}x (cosine to torch >= "
              f"{m['float32_cosine_min']:.5f}); int8 cosine mean {m['cosine_mean']:.4f}, 1st percentile "
              f"{m['cosine_p1']:.4f}, min {m['cosine_min']:.4f}")
    for name, rates in batch_sizes(every, embedders, repeats=args.repeats).items():
        print(f"{name} passages/s by batch size ({len(every)} passages): "
              + ", ".join(f"{size}: {rate:.1f}" for size, rate in rates.items()))


if __name__ == "__main__":
    main()
