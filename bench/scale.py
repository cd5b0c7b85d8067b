"""Large libraries: exact against approximate vector search, at 100k and 1M passages.

`.venv/bin/python bench/scale.py [--quick] [--sizes 100000 1000000]`; bench/run.py calls
:func:`measure`. The libraries are synthetic reports of real sentences among the real corpus's
own reports (bench/synthetic.py); the questions are the gold sets' (tests/gold/*.jsonl),
embedded with the real model. At each size:

- vector search p50 / p95 (ms), one question at a time, exact (flat) against approximate (IVF),
  for each of the three searches a question makes (passages, passages with headings, sentences;
  50 candidates each) and for the three together; recall@10 of approximate against exact;
  the same at other ``nprobe`` values, and on 1 against 2 threads;
- seconds to build the approximate indexes (train and fill) and to change them for a sync
  that removes one report and adds one; their bytes on disk;
- load seconds and resident memory (VmRSS) after loading and after the questions, against the
  bytes of the float32 vectors;
- ask p50 through qa.ask.Asker (real model, hybrid) against what an ask must do at the least:
  encoding the question, the dense searches with their candidates' exact scores, and the BM25
  search, one after another for each question (:func:`asks_against_searches`); also against the
  sum of those parts each timed in a loop of its own (warm caches no ask has); BM25 query p50.

Each part runs in a fresh process, so that its resident memory is its own. Timings are of a
shared machine: compare figures measured in one run.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "bench")) if p not in sys.path]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import synthetic  # noqa: E402

KINDS = ("passages", "contexts", "sentences")
CANDIDATES = 50  # what qa.retrieve asks of each search
QUICK_SIZE = 10_000
QUICK_ABOVE = 2_000  # quick mode lowers the threshold so the approximate path runs
QUICK = bool(os.environ.get("REPORTQA_BENCH_QUICK"))  # set for the parts of a quick run: no sweeps


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"p50": round(statistics.median(ordered) * 1000, 3), "p95": round(ordered[int(len(ordered) * 0.95)] * 1000, 3)}


def timed(fn, items) -> tuple[list, list[float]]:
    results, seconds = [], []
    for item in items:
        started = time.perf_counter()
        results.append(fn(item))
        seconds.append(time.perf_counter() - started)
    return results, seconds


def gold_questions(quick: bool) -> list[str]:
    files = [ROOT / "tests" / "gold" / "seed.jsonl"] if quick else sorted((ROOT / "tests" / "gold").glob("*.jsonl"))
    questions = []
    for f in files:
        questions += [json.loads(line)["q"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return questions


def question_vectors(questions: list[str], embedder, cache: Path = synthetic.CACHE) -> np.ndarray:
    """The questions embedded with the real model, once (kept under var/bench-cache)."""
    key = hashlib.sha256("\n".join([embedder.spec.sha256, *questions]).encode()).hexdigest()[:16]
    path = cache / f"questions-{key}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, embedder.encode(questions))
    return np.load(path)


def searches_in_turn(embedder, loaded, question: str) -> None:
    """What answering a question must do at the least, one step after another: encode it, make
    the dense searches with their candidates' exact scores (qa.retrieve.dense_candidates) and
    the BM25 search."""
    from qa.retrieve import dense_candidates

    vector = embedder.encode_question(question)
    dense_candidates(loaded, vector, CANDIDATES, None)
    loaded.lexical.search(question, CANDIDATES)


def asks_against_searches(asker, embedder, questions: list[str]) -> tuple[list[float], list[float]]:
    """Seconds of each ask and of :func:`searches_in_turn`, taking turns question by question so
    that load coming and going slows both alike. Each turn is of a question other than the
    one just asked, so neither finds the other's data in the CPU's caches."""
    loaded, asks, searches = asker.loaded(), [], []
    for i, question in enumerate(questions):
        started = time.perf_counter()
        asker.ask(question)
        asks.append(time.perf_counter() - started)
        other = questions[(i + len(questions) // 2) % len(questions)]
        started = time.perf_counter()
        searches_in_turn(embedder, loaded, other)
        searches.append(time.perf_counter() - started)
    return asks, searches


# --- the parts, each run in its own process ------------------------------------------------

def part_exact(index: Path, work: Path) -> dict:
    """Exact search, one flat index at a time (as load builds them below the threshold): its
    latency on 1 and 2 threads and each question's true top 10."""
    from index import approximate, vectors
    from index.store import IndexDir

    store, questions = IndexDir(index), np.load(work / "questions.npy")
    manifest = store.read_manifest()
    result, per_question = {}, []
    for kind in KINDS:
        flat = vectors.VectorIndex(manifest.dimension)
        for entry in manifest.reports:
            flat.add(*approximate.segment_vectors(store, entry, kind))
        flat.search(questions[0], CANDIDATES)
        found, seconds = timed(lambda q: flat.search(q, CANDIDATES)[0], questions)
        per_question.append(seconds)
        result[kind] = {"vectors": len(flat), **percentiles(seconds), "top10": [f[:10].tolist() for f in found]}
        if not QUICK:
            result[kind]["threads"] = threads_compare(flat, questions[:40])
        del flat
        gc.collect()
    result["three_searches"] = percentiles([sum(x) for x in zip(*per_question)])
    return result


def threads_compare(index, questions: np.ndarray) -> dict:
    """p50 of one question's search on 1 and on 2 FAISS threads, interleaved."""
    from index import vectors

    seconds = {1: [], 2: []}
    for q in questions:
        for n in (1, 2):
            with vectors.threads(n):
                started = time.perf_counter()
                index.search(q, CANDIDATES)
                seconds[n].append(time.perf_counter() - started)
    return {f"{n} thread{'s' if n > 1 else ''}": percentiles(s)["p50"] for n, s in seconds.items()}


def part_build(index: Path, work: Path) -> dict:
    """Build the approximate indexes (or read how long it took when they are kept from an
    earlier run), then time a sync's incremental change: one report out, one in."""
    from index import approximate
    from index.store import IndexDir, Manifest

    store = IndexDir(index)
    manifest = store.read_manifest()
    kept = approximate.read_search(store, manifest) is not None
    started = time.monotonic()
    info = approximate.build(store, manifest, force=True)
    seconds = info["seconds"] if kept else time.monotonic() - started
    vector_files = sum((store.segments_dir / e.segment).with_suffix(s).stat().st_size
                       for e in manifest.reports for s in (".faiss", ".ctx.npy", ".npy"))
    result = {"build_s": round(seconds, 1), "built_earlier": kept, "search": info,
              "disk_bytes": approximate.artefact_bytes(store, manifest), "segment_vector_bytes": vector_files}
    # A sync that removes one synthetic report and adds a new one: the indexes are copied, changed, saved.
    pool = synthetic.sentence_pool(Path(json.loads((work / "real.json").read_text())["index"]))
    passages, text, vecs, contexts, sentences = synthetic.synthetic_report(pool, 999_999, synthetic.PASSAGES_PER_REPORT, seed=7)
    segment = hashlib.sha256(b"incremental" + text.encode()).hexdigest()[:32]
    store.write_segment(segment, passages, vecs, sentences, text, contexts)
    gone = next(e for e in manifest.reports if e.report.kind == "synthetic")
    came = replace(gone, report=replace(gone.report, id="synthetic-new", source="synthetic-new.txt"), segment=segment)
    new = Manifest(**{**manifest.__dict__, "reports": [e for e in manifest.reports if e is not gone] + [came]})
    started = time.monotonic()
    changed = approximate.build(store, new, manifest, force=True)
    result["sync_change_s"] = round(time.monotonic() - started, 1)
    result["sync_change_retrained"] = changed["retrained"]
    shutil.rmtree(store.artefact(new, approximate.SEARCH).parent, ignore_errors=True)  # the cached library stays as it was
    for f in store.segments_dir.glob(f"{segment}.*"):
        f.unlink()
    return result


def part_approximate(index: Path, work: Path) -> dict:
    """Load as the app does (approximate indexes mapped), then search: latency, recall@10
    against the exact top 10, other nprobe values, threads, memory."""
    from index import approximate
    from index.store import IndexDir, load
    from qa.retrieve import dense_candidates, nearest_keys

    questions = np.load(work / "questions.npy")
    truth = json.loads((work / "exact.json").read_text())
    store = IndexDir(index)
    before = rss_mb()
    started = time.perf_counter()
    loaded = load(store)
    load_s = time.perf_counter() - started
    after_load = rss_mb()
    started = time.perf_counter()
    approximate.open_version(store, loaded.manifest)
    open_s = time.perf_counter() - started
    result = {"load_s": round(load_s, 2), "open_indexes_s": round(open_s, 2), "kind": loaded.search["kind"]}
    indexes = {"passages": loaded.vectors, "contexts": loaded.contexts, "sentences": loaded.sentences}

    def recall(found: list, kind: str) -> float:
        return float(np.mean([len(set(f[:10].tolist()) & set(t)) / max(1, min(10, len(t))) for f, t in zip(found, truth[kind]["top10"])]))

    per_question = []
    for kind, index_ in indexes.items():
        _, cold = timed(lambda q: index_.search(q, CANDIDATES), questions)  # pages of the mapped lists come in
        found, seconds = timed(lambda q: index_.search(q, CANDIDATES)[0], questions)
        per_question.append(seconds)
        row = {"vectors": len(index_), "cold_p50": percentiles(cold)["p50"], **percentiles(seconds), "recall@10": round(recall(found, kind), 3)}
        if hasattr(index_, "nprobe") and not QUICK:
            default = index_.nprobe
            row.update(nlist=index_.nlist, nprobe=default, sweep={})
            for nprobe in sorted({max(1, default // 4), max(1, default // 2), default * 2, default * 4} - {default}):
                index_.nprobe = nprobe
                timed(lambda q: index_.search(q, CANDIDATES), questions[:20])
                found, seconds = timed(lambda q: index_.search(q, CANDIDATES)[0], questions)
                row["sweep"][str(index_.nprobe)] = {**percentiles(seconds), "recall@10": round(recall(found, kind), 3)}
            index_.nprobe = default
            sizes = index_.list_sizes()
            row["list_sizes"] = {"mean": round(float(sizes.mean()), 1), "max": int(sizes.max())}
            row["threads"] = threads_compare(index_, questions[:40])
        if hasattr(index_, "nprobe"):
            row.update(nlist=index_.nlist, nprobe=index_.nprobe)
        result[kind] = row
    result["three_searches"] = percentiles([sum(x) for x in zip(*per_question)])
    _, seconds = timed(lambda q: nearest_keys(loaded, q, CANDIDATES, None), questions)
    result["three_searches_as_asked"] = percentiles(seconds)  # the passage searches beside the sentences'
    _, seconds = timed(lambda q: dense_candidates(loaded, q, CANDIDATES, None), questions)
    result["dense_candidates"] = percentiles(seconds)  # the three searches and exact scoring of the candidates
    d = loaded.manifest.dimension
    float32 = (2 * len(loaded.passages) + len(loaded.sentence_owner)) * d * 4
    result["memory"] = {
        "float32_bytes": float32, "rss_after_load_mb": round(after_load - before, 1),
        "rss_after_questions_mb": round(rss_mb() - before, 1),
    }
    return result


def part_exact_load(index: Path, work: Path) -> dict:
    """What loading costs when the same library is searched exactly (the flat indexes)."""
    from index.store import IndexDir, load

    before = rss_mb()
    started = time.perf_counter()
    loaded = load(IndexDir(index), approximate=False)
    return {"load_s": round(time.perf_counter() - started, 2), "rss_mb": round(rss_mb() - before, 1), "passages": len(loaded.passages)}


def part_ask(index: Path, work: Path) -> dict:
    """Asking through qa.ask.Asker with the real model, against encoding the question plus the
    dense search; BM25 alone."""
    from index.embed import Embedder
    from qa.ask import Asker
    from qa.retrieve import dense_candidates

    questions = json.loads((work / "questions.json").read_text())
    embedder = Embedder()
    embedder.encode(["warm up"])
    asker = Asker(index.parent / "library", index, embedder=embedder)
    before = rss_mb()
    started = time.perf_counter()
    loaded = asker.loaded()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    lexical = loaded.lexical
    bm25_s = time.perf_counter() - started
    started = time.perf_counter()
    asker.ask(questions[0])  # embeds the reports' titles once
    first = time.perf_counter() - started
    # A first pass reads the memory-mapped indexes' pages from disk; a running server has them
    # in memory, and the parts the ask is compared with below run warm: measured after it.
    _, cold = timed(asker.ask, questions)
    asks, in_turn = asks_against_searches(asker, embedder, questions)
    vectors, encodes = timed(embedder.encode_question, questions)
    _, dense = timed(lambda v: dense_candidates(loaded, v, CANDIDATES, None), vectors)
    _, bm25 = timed(lambda q: lexical.search(q, CANDIDATES), questions)
    return {
        "load_s": round(load_s, 2), "bm25_ready_s": round(bm25_s, 1), "first_ask_s": round(first, 2),
        "ask_cold": percentiles(cold), "ask": percentiles(asks), "encode": percentiles(encodes),
        "dense_search": percentiles(dense), "encode_plus_search": percentiles([a + b for a, b in zip(encodes, dense)]),
        "encode_plus_searches": percentiles([a + b + c for a, b, c in zip(encodes, dense, bm25)]), "bm25": percentiles(bm25),
        "searches_in_turn": percentiles(in_turn),
        "rss_mb": round(rss_mb() - before, 1), "asks": len(asks),
    }


PARTS = {"exact": part_exact, "build": part_build, "approximate": part_approximate, "exact_load": part_exact_load, "ask": part_ask}


def run_part(name: str, index: Path, work: Path, env: dict | None = None) -> dict:
    """Run one part in a fresh process; its figures come back through ``work/NAME.json``."""
    done = subprocess.run(
        [sys.executable, __file__, "--part", name, "--index", str(index), "--work", str(work)],
        env={**os.environ, **(env or {})}, capture_output=True, text=True,
    )
    if done.returncode:
        raise RuntimeError(f"bench/scale.py part {name} failed:\n{done.stderr[-3000:]}")
    return json.loads((work / f"{name}.json").read_text())


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure(sizes=(100_000, 1_000_000), quick: bool = False, out=_stderr, asks: int = 100, work: Path | None = None) -> dict:
    """Measure exact against approximate search at each size (see the module's docstring);
    returns the figures by size (and ``questions``, ``real_passages``). ``quick`` runs one small
    library (10k passages, the seed as the real part, the threshold lowered) to check the code
    path in well under a minute.

    :param out: where the figures are written as text, size by size (stderr by default).
    :param work: a folder for what the parts hand each other; the libraries themselves are kept
        in var/bench-cache (``synthetic.CACHE``) from run to run.
    """
    from index.embed import Embedder

    if quick:
        sizes, asks = (QUICK_SIZE,), 20
    env = {"REPORTQA_APPROXIMATE_ABOVE": str(QUICK_ABOVE), "REPORTQA_BENCH_QUICK": "1"} if quick else {}
    embedder = Embedder()
    real = synthetic.real_index(synthetic.corpus_files(quick), embedder, out=out)
    questions = gold_questions(quick)
    vectors = question_vectors(questions, embedder)
    del embedder
    figures = {"questions": len(questions), "real_passages": sum(e.report.passages for e in synthetic.IndexDir(real).read_manifest().reports)}
    for size in sizes:
        index = synthetic.generate(size, real, out=out)
        shared = Path(work) / f"scale-{size}" if work else index.parent / "bench"
        shared.mkdir(parents=True, exist_ok=True)
        np.save(shared / "questions.npy", vectors)
        (shared / "questions.json").write_text(json.dumps(questions[: asks]))
        (shared / "real.json").write_text(json.dumps({"index": str(real)}))
        row = {"exact": run_part("exact", index, shared, env)}
        (shared / "exact.json").write_text(json.dumps(row["exact"]))
        for kind in KINDS:
            row["exact"][kind].pop("top10")
        row["build"] = run_part("build", index, shared, env)
        row["approximate"] = run_part("approximate", index, shared, env)
        if size <= 200_000:
            row["exact_load"] = run_part("exact_load", index, shared, env)
        row["ask"] = run_part("ask", index, shared, env)
        figures[size] = row
        out(report(size, row))
    return figures


def report(size: int, row: dict) -> str:
    """The figures of one size as lines of text."""
    ex, ap, build, ask = row["exact"], row["approximate"], row["build"], row["ask"]
    mem = ap["memory"]
    lines = [f"--- {size:,} passages ---"]
    for kind in KINDS:
        a = ap[kind]
        lines.append(
            f"{kind:9} {a['vectors']:>9,} vectors: exact p50 {ex[kind]['p50']:.1f} / p95 {ex[kind]['p95']:.1f} ms; "
            f"approximate p50 {a['p50']:.2f} / p95 {a['p95']:.2f} ms (cold p50 {a['cold_p50']:.2f}), recall@10 {a['recall@10']:.3f}"
            + (f", nlist {a['nlist']} nprobe {a['nprobe']}" if "nlist" in a else "")
            + (f"; threads exact {ex[kind]['threads']}, approximate {a['threads']}" if "threads" in a else "")
        )
        for nprobe, s in a.get("sweep", {}).items():
            lines.append(f"          nprobe {nprobe}: p50 {s['p50']:.2f} ms, recall@10 {s['recall@10']:.3f}")
    lines.append(f"three searches: exact p50 {ex['three_searches']['p50']:.1f} / p95 {ex['three_searches']['p95']:.1f} ms, approximate p50 {ap['three_searches']['p50']:.2f} / p95 {ap['three_searches']['p95']:.2f} ms "
                 f"one after another, p50 {ap['three_searches_as_asked']['p50']:.2f} / p95 {ap['three_searches_as_asked']['p95']:.2f} ms as qa.retrieve runs them; "
                 f"with exact scoring of the candidates (dense_candidates) p50 {ap['dense_candidates']['p50']:.2f} ms")
    lines.append(f"build {build['build_s']:.0f} s{' (earlier run)' if build['built_earlier'] else ''}; a sync's change (-1 +1 report) "
                 f"{build['sync_change_s']:.0f} s (retrained: {build['sync_change_retrained']}); on disk {build['disk_bytes'] / 2**30:.2f} GiB "
                 f"(segment vectors {build['segment_vector_bytes'] / 2**30:.2f} GiB)")
    lines.append(f"load {ap['load_s']:.1f} s (mapping the indexes {ap['open_indexes_s']:.2f} s); resident +{mem['rss_after_load_mb']:.0f} MB after load, "
                 f"+{mem['rss_after_questions_mb']:.0f} MB after the questions; float32 vectors {mem['float32_bytes'] / 2**20:.0f} MB "
                 f"(ratio {mem['rss_after_questions_mb'] * 2**20 / mem['float32_bytes']:.2f}, all lists resident at most "
                 f"{(build['disk_bytes'] + mem['rss_after_load_mb'] * 2**20) / mem['float32_bytes']:.2f})")
    if "exact_load" in row:
        lines.append(f"exact load {row['exact_load']['load_s']:.1f} s, resident +{row['exact_load']['rss_mb']:.0f} MB")
    lines.append(f"ask p50 {ask['ask']['p50']:.1f} / p95 {ask['ask']['p95']:.1f} ms ({ask['asks']} asks, hybrid; first pass p50 "
                 f"{ask['ask_cold']['p50']:.1f} / p95 {ask['ask_cold']['p95']:.1f} ms) against encode + searches in turn p50 "
                 f"{ask['searches_in_turn']['p50']:.1f} ms; each in its own loop: encode {ask['encode']['p50']:.1f} + dense "
                 f"search {ask['dense_search']['p50']:.1f} + BM25 (sum p50 {ask['encode_plus_searches']['p50']:.1f}); "
                 f"BM25 p50 {ask['bm25']['p50']:.1f} / p95 {ask['bm25']['p95']:.1f} ms (ready in {ask['bm25_ready_s']:.0f} s); "
                 f"Asker load {ask['load_s']:.1f} s, first ask {ask['first_ask_s']:.1f} s, resident +{ask['rss_mb']:.0f} MB")
    return "\n".join(lines)


TARGET_SIZE = 1_000_000  # the targets are set at a million passages


def rows(data: dict) -> list[tuple]:
    """Table rows (figure, measured, compared with, target, met) for bench/run.py, from the
    figures :func:`measure` returned, stored there under ``scale_SIZE``."""
    table = []
    for key, row in sorted(data.items()):
        if not (key.startswith("scale_") and key[6:].isdigit() and isinstance(row, dict)):
            continue
        size, ap, ex, ask = int(key[6:]), row["approximate"], row["exact"], row["ask"]
        at = f" at {size:,} passages"
        targeted = size == TARGET_SIZE
        search, recall = ap["three_searches_as_asked"]["p50"], min(ap[kind]["recall@10"] for kind in KINDS)
        ratio = ap["memory"]["rss_after_questions_mb"] * 2**20 / ap["memory"]["float32_bytes"]
        base, apart = ask["searches_in_turn"]["p50"], ask["encode_plus_searches"]["p50"]
        table += [
            (f"vector search p50 (ms), the three searches{at}", f"{search:.1f}", f"exact {ex['three_searches']['p50']:.0f} ms",
             "<= 10" if targeted else "", search <= 10 if targeted else None),
            (f"recall@10 against exact, the lowest of the three{at}", f"{recall:.3f}", "", ">= 0.95" if targeted else "",
             recall >= 0.95 if targeted else None),
            (f"resident memory / float32 vectors{at}", f"{ratio:.2f}", f"{ap['memory']['float32_bytes'] / 2**20:.0f} MB of vectors",
             "<= 1.5" if targeted else "", ratio <= 1.5 if targeted else None),
            (f"BM25 p50 (ms){at}", f"{ask['bm25']['p50']:.1f}", f"p95 {ask['bm25']['p95']:.1f} ms", "<= 30" if targeted else "",
             ask["bm25"]["p50"] <= 30 if targeted else None),
            (f"ask p50 (ms){at}", f"{ask['ask']['p50']:.1f}",
             f"{ask['ask']['p50'] / base:.2f}x encode + searches in turn {base:.1f} ms ({ask['ask']['p50'] / apart:.2f}x "
             f"their parts timed apart, {apart:.1f} ms; first pass {ask['ask_cold']['p50']:.1f} ms)",
             "<= 1.2x", ask["ask"]["p50"] <= 1.2 * base),
            (f"approximate index build / load (s){at}", f"{row['build']['build_s']:.0f} / {ap['load_s']:.1f}",
             f"on disk {row['build']['disk_bytes'] / 2**30:.2f} GiB"),
        ]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 10k-passage library, to check the code path")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        figures = PARTS[args.part](args.index, args.work)
        (args.work / f"{args.part}.json").write_text(json.dumps(figures))
        return
    figures = measure(tuple(args.sizes), quick=args.quick, out=print)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
