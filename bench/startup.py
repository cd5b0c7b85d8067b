"""Start-up figures: how soon `make run` serves the page and answers, and BM25 built against loaded.

`.venv/bin/python bench/startup.py [--runs N]` prints them; bench/run.py calls the functions:

- :func:`measure_startup`: seconds from spawning ``python app.py`` to the page served (HTTP 200 on
  "/"), to the app ready (its "ready" line) and to the first ``/ask`` answer, with the index
  (and its saved BM25) present; and the model's load alone (a process that imports it, loads it
  and embeds one text), which is most of what stands between the page and the first answer.
- :func:`measure_bm25`: building a BM25 index of passages, saving it, loading it (memory-mapped,
  as the app does), and search latency; the loaded copy must answer exactly as the built one.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPORTS = ROOT.parent / "shared" / "corpus" / "reports"
QUESTION = "How are missing children handled?"
MODEL_LOAD = (
    "import time; t = time.monotonic()\n"
    "from index.embed import Embedder\n"
    "Embedder().encode(['warm up'])\n"
    "print('loaded', time.monotonic() - t, flush=True)\n"
)


def prepare_index(library: Path, index: Path) -> None:
    """Make the index present and up to date, with its BM25 saved, as a second start finds it."""
    subprocess.run([sys.executable, "-m", "qa", "--library", str(library), "--index", str(index), "index"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    code = f"from index.store import IndexDir, load\nload(IndexDir({str(index)!r})).lexical\n"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def measure_model_load() -> float:
    """Seconds from spawning a Python process to the default model loaded and one text embedded."""
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", MODEL_LOAD], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    seconds = time.monotonic() - started
    assert "loaded" in out, out
    return seconds


def measure_startup(library: Path, index: Path, question: str = QUESTION, timeout: float = 180.0) -> dict:
    """Start ``app.py`` on ``library`` with ``index`` present (made so first) and time it.

    :returns: ``page_served_s`` (spawn to HTTP 200 on "/"), ``ready_s`` (spawn to the app's
        "ready" line), ``first_answer_s`` (spawn to the answer of ``question`` asked through
        ``/ask`` as soon as the page is served) and ``model_load_s`` (see :func:`measure_model_load`).
    """
    from gradio_client import Client

    from helpers_app import READY, start_app, wait_until_served

    prepare_index(library, index)
    with tempfile.TemporaryDirectory(prefix="reportqa-startup-") as tmp:
        started = time.monotonic()
        server = start_app(library, index, Path(tmp) / "app.log", wait=False)
        try:
            wait_until_served(server, timeout, poll=0.05)
            page = time.monotonic() - started
            answer = Client(server.url, verbose=False).predict(question, api_name="/ask")
            first_answer = time.monotonic() - started
            assert answer["citations"], answer
            ready = None  # "Report QA: ready in 9.3 s (...)": seconds since the process started
            while ready is None and time.monotonic() - started < timeout:
                ready = next((float(line[len(READY):].split()[1]) for line in server.output().splitlines()
                              if line.startswith(READY)), None)
                time.sleep(0.05)
        finally:
            server.stop()
    return {"page_served_s": page, "ready_s": ready, "first_answer_s": first_answer,
            "model_load_s": measure_model_load()}


def library_passages(library: Path) -> tuple[list[int], list[str]]:
    """Keys and BM25 texts (title, headings, text: index.chunk.retrieval_text) of every report
    in a folder, read and chunked as a sync does but without the model (word pieces estimated)."""
    from index.chunk import chunk, retrieval_text
    from index.parse import Parser
    from index.read import REPORT_SUFFIXES, first_line_title
    from index.store import passage_key

    keys, texts = [], []
    with Parser() as parser:
        for path in sorted(p for p in library.iterdir() if p.suffix.lower() in REPORT_SUFFIXES):
            report = parser.read(path)
            title = report.title or first_line_title(report.text, path.stem)
            for p in chunk(path.stem, report):
                keys.append(passage_key(path.stem, p))
                texts.append(retrieval_text(p, title))
    return keys, texts


def gold_questions() -> list[str]:
    from qa.eval import read_gold

    return [g.q for gold in sorted((ROOT / "tests" / "gold").glob("*.jsonl")) for g in read_gold(gold)]


def _percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))]


def measure_bm25(keys: list[int], texts: list[str], questions: list[str], k: int = 50) -> dict:
    """Build a BM25 index of ``texts``, save it, load it memory-mapped, and search it.

    :returns: ``passages``, ``build_s``, ``save_s``, ``load_s``, ``query_p50_ms`` and
        ``query_p95_ms`` (one :meth:`index.lexical.LexicalIndex.search` of ``k`` passages on the
        loaded copy) and ``identical`` (the loaded copy gave the built one's keys and scores).
    """
    import numpy as np

    from index.lexical import LexicalIndex

    started = time.perf_counter()
    built = LexicalIndex(keys, texts, "bench")
    build = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="reportqa-bm25-") as tmp:
        started = time.perf_counter()
        built.save(Path(tmp) / "bm25")
        save = time.perf_counter() - started
        started = time.perf_counter()
        loaded = LexicalIndex.load(Path(tmp) / "bm25", "bench")
        load = time.perf_counter() - started
        loaded.search(questions[0], k)  # first touch of the mapped files
        times, identical = [], True
        for q in questions:
            started = time.perf_counter()
            got = loaded.search(q, k)
            times.append(time.perf_counter() - started)
            want = built.search(q, k)
            identical &= np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    return {"passages": len(keys), "build_s": build, "save_s": save, "load_s": load,
            "query_p50_ms": statistics.median(times) * 1000, "query_p95_ms": _percentile(times, 0.95) * 1000,
            "identical": identical}


def print_bm25(label: str, figures: dict) -> None:
    print(f"BM25, {label} ({figures['passages']:,} passages): build {figures['build_s']:.2f} s, "
          f"save {figures['save_s']:.2f} s, load {figures['load_s']:.3f} s, search p50 "
          f"{figures['query_p50_ms']:.1f} ms, p95 {figures['query_p95_ms']:.1f} ms, "
          f"loaded = built: {figures['identical']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="app starts to time (default 3)")
    parser.add_argument("--scale", type=int, default=0,
                        help="also time BM25 on the corpus passages repeated this many times (0: not)")
    args = parser.parse_args()
    questions = gold_questions()
    corpus = library_passages(REPORTS) if REPORTS.is_dir() else None
    print_bm25("seed", measure_bm25(*library_passages(ROOT / "seeds"), questions))
    if corpus:
        print_bm25(f"the {len(list(REPORTS.glob('*.pdf')))} corpus reports", measure_bm25(*corpus, questions))
        if args.scale > 1:
            keys = [k + i for i in range(args.scale) for k in corpus[0]]  # distinct keys, same texts
            print_bm25(f"the corpus x {args.scale}", measure_bm25(keys, corpus[1] * args.scale, questions))
    with tempfile.TemporaryDirectory(prefix="reportqa-startup-") as tmp:
        library = Path(tmp) / "library"
        shutil.copytree(ROOT / "seeds", library)
        runs = [measure_startup(library, Path(tmp) / "index") for _ in range(args.runs)]
    for name in ("page_served_s", "ready_s", "first_answer_s", "model_load_s"):
        values = [r[name] for r in runs]
        print(f"{name}: median {statistics.median(values):.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
