"""Every speed and scale figure in one run: `python bench/run.py` (`make bench`), or `--quick` for
a CI-sized run that only checks the code paths work (`make test` runs it).

It prints one table (figure, measured, compared with, target, met) and then one JSON line holding
every figure. All figures come from this one run on this machine, so ratios compare like with
like; machines here are shared and noisy, so read ratios, not absolute seconds.

Parts (``--parts`` picks some; all by default):

- ``encoders``: torch against onnx-int8 on real passages (passages/s, ms per question, cosine
  agreement) and, full run only, recall@3 of both on every gold set (bench/encoders.py);
- ``sync``: a sync of the corpus reports (parsing overlapping embedding) against the encoder
  alone on exactly the texts it embedded; PDF pages parsed per second;
- ``noop``: a no-op sync as a whole CLI process, at the corpus's size and at 1,000 reports;
- ``ask``: ask latency on the seed against encoding the question plus the searches;
- ``startup``: `make run`'s app to a served page and to a first answer, against model load
  alone (bench/startup.py);
- ``scale``: 100k and 1M passages (synthetic reports of real sentences among the real
  corpus): exact against approximate vector search, recall@10, memory and disk against the
  float32 vectors, ask latency, BM25 latency (bench/scale.py);
- ``page``: a citation to its page image, cold and cached; drawing a page, PDFium against
  pdftoppm; parsing with and without the text's positions (bench/page_view.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPORTS = ROOT.parent / "shared" / "corpus" / "reports"
QUICK_REPORT = ROOT / "tests" / "data" / "gao-08-587t.pdf"  # the smallest corpus PDF, copied: a quick run parses one
PARTS = ("encoders", "sync", "noop", "ask", "startup", "scale", "page")


@dataclass
class Row:
    """One line of the table: a figure, what it is compared with, and the target it must meet."""

    figure: str
    value: str
    compared: str = ""
    target: str = ""
    met: bool | None = None


class Figures:
    """What a run measured: table rows and the JSON figures, filled part by part."""

    def __init__(self):
        self.rows: list[Row] = []
        self.data: dict = {}

    def add(self, key: str, value, figure: str, shown: str | None = None, compared: str = "", target: str = "",
            met: bool | None = None) -> None:
        self.data[key] = value
        self.rows.append(Row(figure, shown if shown is not None else _fmt(value), compared, target, met))

    def table(self) -> str:
        head = ("figure", "measured", "compared with", "target", "met")
        lines = [head] + [(r.figure, r.value, r.compared, r.target, {None: "", True: "yes", False: "NO"}[r.met])
                          for r in self.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
        out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(out)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def cli_seconds(*args: str) -> float:
    """Seconds of one whole ``python -m qa ...`` process."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def corpus_library(work: Path, quick: bool) -> Path:
    """A library of the corpus reports (one small PDF in a quick run), made once per run."""
    library = work / "corpus-library"
    if not library.exists():
        library.mkdir()
        for pdf in [QUICK_REPORT] if quick else sorted(REPORTS.glob("*.pdf")):
            shutil.copy2(pdf, library)
    return library


class Context:
    """What parts share within one run: the work folder, the embedder, the corpus's index."""

    def __init__(self, work: Path, quick: bool):
        self.work, self.quick = work, quick
        self._embedder = None

    @property
    def embedder(self):
        if self._embedder is None:
            from index.embed import Embedder

            self._embedder = Embedder()
            self._embedder.encode(["warm up"])
        return self._embedder


# --- the parts -----------------------------------------------------------------------------------

def part_encoders(ctx: Context, figures: Figures) -> None:
    import encoders
    from index.store import IndexDir, load

    library, index = corpus_library(ctx.work, ctx.quick), ctx.work / "encoders-index"
    from index.sync import sync

    sync(library, index, embedder=ctx.embedder, progress=False, out=lambda line: None)
    texts = [p.text for p in load(IndexDir(index)).passages.values()]
    texts = texts[:200] if ctx.quick else texts
    questions = encoders.questions()
    f = encoders.measure(texts, questions[:10] if ctx.quick else questions, repeats=1 if ctx.quick else 3)
    figures.add("encoder_torch_passages_per_s", round(f["torch_passages_per_s"], 1), "encoder: torch run by torch, passages/s")
    figures.add("encoder_float32_passages_per_s", round(f["float32_passages_per_s"], 1),
                "encoder: torch run by onnxruntime (float32 graph, the default), passages/s",
                compared=f"{f['float32_speedup']:.2f}x torch, cosine to torch's >= {f['float32_cosine_min']:.5f}")
    figures.add("encoder_int8_passages_per_s", round(f["int8_passages_per_s"], 1), "encoder: onnx-int8, passages/s",
                compared=f"{f['speedup']:.2f}x torch, {f['int8_over_float32']:.2f}x the default run", target=">= 2x torch",
                met=f["speedup"] >= 2)
    figures.add("encoder_speedup", round(f["speedup"], 2), "encoder: int8 / torch throughput")
    for name, label in (("torch", "torch run by torch"), ("float32", "torch run by onnxruntime"), ("int8", "onnx-int8")):
        figures.add(f"encoder_{name}_query_ms", round(f[f"{name}_query_ms"], 1), f"encoder: {label}, one question (ms)")
    figures.add("encoder_cosine_min", round(f["cosine_min"], 4), "encoder: int8 vs torch cosine, min",
                compared=f"mean {f['cosine_mean']:.4f}")
    if ctx.quick:
        return
    for name, by in gold_recall(ctx.work).items():
        drop = by["torch"] - by["onnx-int8"]
        figures.add(f"recall3_{name}", {"torch": by["torch"], "onnx-int8": by["onnx-int8"]},
                    f"recall@3, {name}: int8", shown=f"{by['onnx-int8']:.3f}", compared=f"torch {by['torch']:.3f}",
                    target="drop <= 0.02", met=drop <= 0.02 + 1e-9)


def gold_recall(work: Path) -> dict[str, dict[str, float]]:
    """Recall@3 of every gold set with each encoder: one library of all the gold sets' reports
    (bench/gold.py, as `make eval`), indexed by each encoder, every question asked of it."""
    import gold
    from qa import eval as evaluation
    from qa.ask import Asker

    library = gold.make_library(work / "gold-library")
    recall: dict[str, dict[str, float]] = {}
    for encoder in ("torch", "onnx-int8"):
        asker = Asker(library, work / f"gold-index-{encoder}", encoder=encoder)
        asker.sync(progress=False, out=lambda line: None)
        for name in gold.SETS:
            outcomes = evaluation.run(asker, evaluation.read_gold(gold.GOLD / f"{name}.jsonl"))
            recall.setdefault(name, {})[encoder] = round(evaluation.score(outcomes).recall_at_3, 3)
    return recall


def part_sync(ctx: Context, figures: Figures) -> None:
    """A sync of the corpus against the encoder alone on everything it embedded. Each is run
    twice, in the order sync, encoder, encoder, sync (each sync into a new index), and the
    faster of each pair is compared: load that comes and goes during the run then slows both
    alike, or is left out, rather than landing on one of them (they take minutes each)."""
    from index.parse import Parser
    from index.store import IndexDir, load
    from index.sync import embed_passages, sync

    library, index = corpus_library(ctx.work, ctx.quick), ctx.work / "sync-index"
    embedder = ctx.embedder

    def timed_sync(into: Path):
        started = time.monotonic()
        done = sync(library, into, embedder=embedder, progress=False, out=lambda line: None)
        return done, time.monotonic() - started

    result, first_sync_s = timed_sync(index)
    loaded = load(IndexDir(index))
    by_report: dict[str, list] = {}
    for p in loaded.passages.values():
        by_report.setdefault(p.report, []).append(p)
    counted = []

    class Counting:  # the embedder, counting what the sync's own embedding step gives it
        def encode(self, texts, progress=None):
            counted.append(len(texts))
            return embedder.encode(texts)

    def encoder_alone() -> float:
        counted.clear()
        started = time.monotonic()
        for passages in by_report.values():
            passages.sort(key=lambda p: (p.paragraph, p.part))
            embed_passages(Counting(), passages, lambda n: None)
        return time.monotonic() - started

    encodes = [encoder_alone(), encoder_alone()]
    _, second_sync_s = timed_sync(ctx.work / "sync-index-again")
    shutil.rmtree(ctx.work / "sync-index-again", ignore_errors=True)
    sync_s, encode_s = min(first_sync_s, second_sync_s), min(encodes)
    figures.add("sync_runs_s", [round(first_sync_s, 1), round(second_sync_s, 1)], "sync wall time, both runs (s)")
    figures.add("sync_encode_runs_s", [round(e, 1) for e in encodes], "encoder alone, both runs (s)")
    texts = sum(counted)
    figures.add("sync_passages", result.passages_added, f"sync of {len(by_report)} reports: passages")
    figures.add("sync_texts_embedded", texts, "sync: distinct texts embedded (passages, with headings, sentences)")
    figures.add("sync_s", round(sync_s, 1), "sync wall time (s)")
    figures.add("sync_encode_s", round(encode_s, 1), "encoder alone on the same texts (s)")
    figures.add("sync_over_encode", round(sync_s / encode_s, 3), "sync / encoder alone", compared=f"{sync_s:.1f} s / {encode_s:.1f} s",
                target="<= 1.15", met=sync_s / encode_s <= 1.15)
    figures.add("sync_passages_per_s", round(result.passages_added / sync_s, 1), "sync: passages/s",
                compared=f"texts/s {texts / sync_s:.1f}")
    pages, started = 0, time.monotonic()
    with Parser() as parser:
        for pdf in sorted(library.glob("*.pdf")):
            pages += len(parser.read(pdf).page_starts or [])
    parse_s = time.monotonic() - started
    figures.add("parse_pages_per_s", round(pages / parse_s, 1), "PDF parsing: pages/s", compared=f"{pages} pages in {parse_s:.1f} s")


def thousand_report_library(ctx: Context, source_index: Path, library: Path, n: int) -> tuple[Path, Path]:
    """A library of ``n`` report files, copies of the corpus PDFs made distinct by a trailing
    comment line, and an index that holds them all: each copy's manifest entry is its original's,
    with the copy's name, hash and stat (its passages are its original's: the same text). A sync
    of it has nothing to do, which is what is measured; embedding 1,000 reports here would take
    hours and change nothing a no-op sync does."""
    from dataclasses import replace

    from index.read import file_sha256
    from index.store import IndexDir, ReportEntry

    originals = IndexDir(source_index).read_manifest()
    out_library, out_index = ctx.work / f"library-{n}", ctx.work / f"index-{n}"
    out_library.mkdir()
    entries = []
    for i in range(n):
        entry = originals.reports[i % len(originals.reports)]
        copy = out_library / f"{Path(entry.report.source).stem}-copy{i:04d}.pdf"
        data = (library / entry.report.source).read_bytes() + f"\n% copy {i}\n".encode()
        copy.write_bytes(data)
        stat = copy.stat()
        report = replace(entry.report, id=copy.stem, source=copy.name, sha256=file_sha256(copy))
        entries.append(ReportEntry(report, entry.segment, stat.st_size, stat.st_mtime_ns))
    shutil.copytree(source_index, out_index)
    store = IndexDir(out_index)
    manifest = store.read_manifest()
    manifest.reports = sorted(entries, key=lambda e: e.report.source)
    store.commit(manifest)
    return out_library, out_index


def part_noop(ctx: Context, figures: Figures) -> None:
    """A no-op sync as a whole process (start-up, scan, plan), at the corpus's size and at 1,000."""
    library, index = corpus_library(ctx.work, ctx.quick), ctx.work / "sync-index"
    if not (index / "manifest.json").exists():
        from index.sync import sync

        sync(library, index, embedder=ctx.embedder, progress=False, out=lambda line: None)
    reports = len(list(library.iterdir()))
    seconds = min(cli_seconds("--library", str(library), "--index", str(index), "index") for _ in range(3))
    figures.add("noop_sync_s", round(seconds, 2), f"no-op sync, {reports} reports (s)", target="<= 1", met=seconds <= 1)
    n = 50 if ctx.quick else 1000
    big_library, big_index = thousand_report_library(ctx, index, library, n)
    seconds = min(cli_seconds("--library", str(big_library), "--index", str(big_index), "index") for _ in range(3))
    figures.add(f"noop_sync_{n}_s", round(seconds, 2), f"no-op sync, {n} reports (s)", target="<= 1", met=seconds <= 1)


def part_ask(ctx: Context, figures: Figures) -> None:
    """Ask latency on the seed, against encoding the question plus the searches it makes, one
    after another (bench/scale.py's ``asks_against_searches``, as at 100k and 1M passages)."""
    import scale
    from qa import eval as evaluation
    from qa.ask import Asker

    asker = Asker(ROOT / "seeds", ctx.work / "seed-index", embedder=ctx.embedder)
    asker.sync(progress=False, out=lambda line: None)
    questions = [g.q for g in evaluation.read_gold(ROOT / "tests" / "gold" / "seed.jsonl")]
    questions = questions[:15] if ctx.quick else questions
    asker.ask(questions[0])  # warm
    ask_times, base_times = scale.asks_against_searches(asker, ctx.embedder, questions)
    ask_p50, base_p50 = statistics.median(ask_times) * 1000, statistics.median(base_times) * 1000
    figures.add("ask_seed_p50_ms", round(ask_p50, 1), "ask p50, seed (ms)", compared=f"encode + searches in turn {base_p50:.1f} ms",
                target="<= 1.2x", met=ask_p50 <= 1.2 * base_p50)
    figures.add("ask_seed_p95_ms", round(_p(ask_times, 0.95) * 1000, 1), "ask p95, seed (ms)")
    figures.add("ask_seed_base_p50_ms", round(base_p50, 1), "encode + searches p50, seed (ms)")
    figures.add("ask_seed_over_base", round(ask_p50 / base_p50, 2), "ask / (encode + searches), seed")


def part_startup(ctx: Context, figures: Figures) -> None:
    import startup

    library = ctx.work / "startup-library"
    shutil.copytree(ROOT / "seeds", library)
    f = startup.measure_startup(library, ctx.work / "startup-index")
    load_s = startup.measure_model_load()
    figures.add("page_served_s", round(f["page_served_s"], 2), "make run to a served page, index present (s)",
                target="<= 3", met=f["page_served_s"] <= 3)
    figures.add("model_load_s", round(load_s, 2), "model load alone, a whole process (s)")
    figures.add("first_answer_s", round(f["first_answer_s"], 2), "make run to the first answer (s)",
                compared=f"{f['first_answer_s'] / load_s:.2f}x model load", target="<= 1.5x model load",
                met=f["first_answer_s"] <= 1.5 * load_s)


def part_scale(ctx: Context, figures: Figures) -> None:
    import scale

    for key, value in scale.measure(quick=ctx.quick, work=ctx.work).items():
        figures.data[f"scale_{key}"] = value
    for row in scale.rows(figures.data):
        figures.rows.append(Row(*row))


def part_page(ctx: Context, figures: Figures) -> None:
    import page_view

    f = page_view.measure(ctx.quick)
    draw, click, placed = f["draw"], f["click"], f["positions"]
    figures.add("page_click_cold_ms", round(click["cold_click_ms"], 1), "a citation to its page image, not drawn yet (ms)",
                compared=f"first click {click['first_click_ms']:.0f} ms (starts the renderer)", target="<= 1000",
                met=max(click["first_click_ms"], click["cold_click_max_ms"]) <= 1000)
    figures.add("page_click_cached_ms", round(click["cached_click_ms"], 2), "... drawn before (ms)")
    poppler = f"pdftoppm {draw['pdftoppm_ms']:.0f} ms" if draw["pdftoppm_ms"] is not None else "pdftoppm not installed"
    figures.add("page_draw_ms", round(draw["pdfium_ms"], 1), "draw a page at 1.5 px/pt, PDFium in its child (ms)",
                compared=f"{poppler}, a process per page")
    figures.add("parse_placed_pages_per_s", round(placed["pages_per_s_placed"], 1), "PDF pages parsed per second with positions",
                compared=f"{placed['pages_per_s_text_only']:.1f} without")
    figures.add("positions_mb_per_1000_pages", round(placed["stored_bytes_per_1000_pages"] / 1e6, 2),
                "positions stored per 1,000 pages (MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a CI-sized run: checks every part works, in a few minutes")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which parts to run (default: all)")
    args = parser.parse_args(argv)
    figures = Figures()
    figures.data["quick"] = args.quick
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reportqa-bench-") as tmp:
        ctx = Context(Path(tmp), args.quick)
        for part in args.parts:
            part_started = time.monotonic()
            globals()[f"part_{part}"](ctx, figures)
            figures.data[f"{part}_part_s"] = round(time.monotonic() - part_started, 1)
            print(f"[{part}: {figures.data[f'{part}_part_s']} s]", file=sys.stderr, flush=True)
    figures.data["run_s"] = round(time.monotonic() - started, 1)
    print(figures.table())
    print(json.dumps(figures.data, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
