"""Measurements that print figures (not pass/fail): `make bench` or `.venv/bin/python bench/run.py`.

Figures, all measured in one run on this machine so ratios compare like with like:
- seconds from `make run`'s command (app.py: sync, then serve) to a served page, index absent / present;
- p50 / p95 latency of one ask with the model loaded;
- peak memory (VmHWM) of the app after start-up and 20 asks through the API;
- sync throughput (passages/s) against raw model.encode on the same passages;
- PDF pages parsed per second; seconds of a no-op sync (a whole CLI process).
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPORTS = ROOT.parent / "shared" / "corpus" / "reports"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli(*args: str, env=None) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def bench_startup(work: Path) -> None:
    from helpers_app import start_app

    library = work / "seed-library"
    shutil.copytree(ROOT / "seeds", library)
    for label, index in (("index absent", work / "startup-index"), ("index present", work / "startup-index")):
        started = time.monotonic()  # what `make run` runs once set up: app.py, which syncs then serves
        server = start_app(library, index, work / f"app-{label.split()[1]}.log")
        seconds = time.monotonic() - started
        try:
            if label == "index present":
                from gradio_client import Client

                client = Client(server.url, verbose=False)
                for q in ["How are missing children handled?"] * 20:
                    client.predict(q, api_name="/ask")
                print(f"app peak memory (VmHWM) after start-up and 20 API asks: {peak_rss_mb(server.process.pid):.0f} MB")
        finally:
            server.stop()
        print(f"make run (app.py) to a served page, {label}: {seconds:.1f} s")


def bench_ask(work: Path) -> None:
    """Ask latency on the seed alone and on the first three reports of the gold sets (seed, Essex
    Ofsted 2019, Post Office), hybrid (the default) against dense-only, in one run."""
    from qa import eval as evaluation
    from qa.ask import Asker

    data = ROOT / "tests" / "data"
    three = work / "three-reports"
    three.mkdir(exist_ok=True)
    for f in [*(ROOT / "seeds").iterdir(), data / "80468_essex__ilacs_07-january-2019.pdf",
              data / "PostOfficeHorizon-IT-Inquiry-Recomm.pdf"]:
        shutil.copy(f, three)
    questions = [g.q for name in ("seed", "essex-ofsted-2019", "PostOfficeHorizon-IT-Inquiry-Recomm")
                 for g in evaluation.read_gold(ROOT / "tests" / "gold" / f"{name}.jsonl")]
    embedder = None
    for label, library in (("seed only", ROOT / "seeds"), ("three reports", three)):
        asker = Asker(library, work / f"ask-index-{library.name}", embedder=embedder)
        asker.sync(progress=False, out=lambda line: None)
        embedder = asker.embedder
        for retriever in ("hybrid", "dense"):
            asker.ask(questions[0], retriever=retriever)  # warm (and builds BM25 once)
            times = []
            for q in questions:
                started = time.perf_counter()
                asker.ask(q, retriever=retriever)
                times.append(time.perf_counter() - started)
            times.sort()
            print(f"ask latency, {label}, {retriever}, model loaded ({len(times)} asks): "
                  f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms")


def bench_sync(work: Path) -> None:
    from index.embed import Embedder
    from index.store import IndexDir, load
    from index.sync import sync

    library = work / "reports-library"
    library.mkdir()
    pdfs = sorted(REPORTS.glob("*.pdf"))
    for pdf in pdfs:
        shutil.copy(pdf, library)
    embedder = Embedder()
    embedder.encode(["warm up"])
    index = work / "reports-index"
    started = time.monotonic()
    result = sync(library, index, embedder=embedder, progress=False, out=lambda line: None)
    sync_seconds = time.monotonic() - started
    loaded = load(IndexDir(index), embedder.dimension)
    texts = [p.text for p in loaded.passages.values()]
    started = time.monotonic()
    embedder.encode(texts)
    encode_seconds = time.monotonic() - started
    print(f"sync of {len(pdfs)} PDFs: {result.passages_added} passages in {sync_seconds:.1f} s = "
          f"{result.passages_added / sync_seconds:.1f} passages/s; raw model.encode of the same passages: "
          f"{len(texts) / encode_seconds:.1f} passages/s (sync/encode = {encode_seconds / sync_seconds:.2f})")
    print(f"no-op sync as a whole CLI process: {cli('--library', str(library), '--index', str(index), 'index'):.2f} s")

    from index.parse import read_limited

    pages, started = 0, time.monotonic()
    for pdf in pdfs:
        pages += len(read_limited(pdf).page_starts or [])
    seconds = time.monotonic() - started
    print(f"PDF parsing (child process per file, as sync does): {pages} pages in {seconds:.1f} s = {pages / seconds:.1f} pages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["startup", "ask", "sync"], help="startup, ask, sync")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reportqa-bench-") as tmp:
        work = Path(tmp)
        for part in args.parts:
            {"startup": bench_startup, "ask": bench_ask, "sync": bench_sync}[part](work)


if __name__ == "__main__":
    main()
