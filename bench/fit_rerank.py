"""Fit the second stage's weights (qa.rerank.Weights) on the developers' gold sets, honestly:
each set's figure is also given with weights fitted on the other sets alone (leave one set out).

    .venv/bin/python bench/fit_rerank.py [--library DIR] [--index DIR]

Prints, per gold set, MRR and recall@1 of the first stage alone (dense only, for reference), of
the weights in qa/rerank.py, of weights fitted on all sets, and of weights fitted without that
set; then the weights each fit chose. The search is coordinate ascent over a small grid, on the
mean of the sets' MRRs (each set counts the same, whatever its size).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GRID = {
    "prior": [0.0, 0.1, 0.2, 0.3, 0.4],
    "lexical": [0.5, 1.0, 1.5, 2.0, 3.0],
    "proximity": [0.0, 0.1, 0.2, 0.4],
    "footnote": [0.0, 0.1, 0.2, 0.4],
    "heading": [0.0, 0.1, 0.2, 0.4],
}


def gather_all(asker, sets):
    """For every answerable gold question: its candidates' evidence, the BM25 coverage, and
    which candidates are relevant."""
    from qa.eval import read_gold, relevant
    from qa.retrieve import gather

    from gold import GOLD

    index = asker.loaded()
    questions = []
    for name in sets:
        for g in read_gold(GOLD / f"{name}.jsonl"):
            if g.abstain:
                continue
            vector = asker.embedder.encode_question(g.q)
            prior = {rid: float(v @ vector) for rid, v in asker.report_vectors(index).items()}
            evidence, coverage = gather(index, g.q, vector, report_prior=prior, with_proximity=True)
            good = {k for k in evidence if relevant(g, index.passages[k])}
            questions.append((name, evidence, coverage, good))
    return questions


def figures(questions, weights, sets):
    """set -> (MRR, recall@1) over the top 10 reranked candidates."""
    from qa.rerank import rerank

    out = {}
    for name in sets:
        rr, r1, n = 0.0, 0, 0
        for set_name, evidence, coverage, good in questions:
            if set_name != name:
                continue
            n += 1
            scores = rerank(evidence, coverage, weights)
            order = sorted(scores, key=lambda k: -scores[k])[:10]
            rank = next((i for i, k in enumerate(order, start=1) if k in good), None)
            rr += 1 / rank if rank else 0.0
            r1 += rank == 1
        out[name] = (rr / max(n, 1), r1 / max(n, 1))
    return out


def mean_mrr(questions, weights, sets) -> float:
    f = figures(questions, weights, sets)
    return sum(m for m, _ in f.values()) / len(f)


def fit(questions, sets, start):
    best_w, best = start, mean_mrr(questions, start, sets)
    for _ in range(3):
        improved = False
        for field, values in GRID.items():
            for value in values:
                w = replace(best_w, **{field: value})
                m = mean_mrr(questions, w, sets)
                if m > best + 1e-9:
                    best_w, best, improved = w, m, True
        if not improved:
            break
    return best_w


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--library", type=Path, default=ROOT / "var" / "gold-library")
    p.add_argument("--index", type=Path, default=ROOT / "var" / "gold-index")
    args = p.parse_args()
    from gold import SETS, make_library
    from qa.ask import Asker
    from qa.rerank import WEIGHTS, Weights

    asker = Asker(make_library(args.library), args.index)
    asker.sync(progress=False, out=lambda line: None)
    questions = gather_all(asker, SETS)
    dense_only = Weights(prior=WEIGHTS.prior, lexical=0.0, proximity=0.0, footnote=0.0, heading=0.0)
    fitted = fit(questions, SETS, WEIGHTS)
    rows = {"first stage, dense only": figures(questions, dense_only, SETS),
            "qa/rerank.py weights": figures(questions, WEIGHTS, SETS),
            "fitted on all sets": figures(questions, fitted, SETS)}
    held, chosen = {}, {}
    for name in SETS:
        w = fit(questions, [s for s in SETS if s != name], WEIGHTS)
        chosen[name] = w
        held[name] = figures(questions, w, [name])[name]
    rows["fitted without the set (held out)"] = held
    print("| weights | " + " | ".join(SETS) + " | mean |")
    print("|---" * (len(SETS) + 2) + "|")
    for label, f in rows.items():
        cells = [f"{f[s][0]:.3f} / {f[s][1]:.3f}" for s in SETS]
        print(f"| {label} | " + " | ".join(cells) + f" | {sum(f[s][0] for s in SETS) / len(SETS):.3f} |")
    print("(each cell: MRR / recall@1 over the top 10, candidates of the first stage)")
    print(f"\nqa/rerank.py: {asdict(WEIGHTS)}\nfitted on all sets: {asdict(fitted)}")
    for name, w in chosen.items():
        print(f"fitted without {name}: {asdict(w)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
