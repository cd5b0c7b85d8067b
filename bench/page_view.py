"""The page view's figures: `python bench/page_view.py [--quick] [--json]`.

- **Drawing a page, cold**: PDFium (pypdfium2, as index.render's child draws: open the file,
  draw the page, write the PNG) against Debian poppler's `pdftoppm` (a process per page, as a
  renderer built on it would run), ms per page at the viewer's scale (1.5 px a point, 108 dpi),
  over pages of the PDFs in tests/data. PDFium is also timed as a fresh Python process per
  page, the like of pdftoppm's process start.
- **Click to page image**: `qa.pages.PageViews.citation` on real passages of a synced index
  (fake embedder: vectors play no part): the first click (the renderer's child starts), a click
  on a page not drawn yet, the same click again (cached).
- **Positions at index time**: pages parsed per second by the parser's child with and without
  placing the text on the pages, and the stored positions' bytes per 1,000 pages.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = ROOT / "tests" / "data"
PDFS = ("80468_essex__ilacs_07-january-2019.pdf", "80475_hertfordshire__send_10-november-2023.pdf",
        "80571_thurrock__ilacs_24-may-2016.pdf", "gao-06-282.pdf", "PostOfficeHorizon-IT-Inquiry-Recomm.pdf")
SCALE = 1.5


def _pages(quick: bool) -> list[tuple[Path, int]]:
    from index.pdfium import page_count

    chosen = []
    for name in PDFS[:2] if quick else PDFS:
        path = DATA / name
        count = page_count(path)
        step = max(1, count // (3 if quick else 12))
        chosen += [(path, page) for page in range(1, count + 1, step)]
    return chosen


def draw_pages(quick: bool) -> dict:
    """ms per page: PDFium in a warm child (as the app draws), PDFium as a fresh process per
    page, pdftoppm as a process per page (None when it is not installed)."""
    from index.render import Renderer

    pages = _pages(quick)
    figures: dict = {"pages": len(pages)}
    with tempfile.TemporaryDirectory() as tmp:
        with Renderer(Path(tmp) / "renders") as renderer:
            renderer.render(*pages[0][:1], "warm", pages[0][1], SCALE)  # start the child first
            times = []
            for n, (path, page) in enumerate(pages):
                started = time.perf_counter()
                renderer.render(path, f"{n:064d}", page, SCALE)
                times.append((time.perf_counter() - started) * 1000)
        figures["pdfium_ms"] = statistics.median(times)
        figures["pdfium_p95_ms"] = sorted(times)[int(0.95 * (len(times) - 1))]
        script = ("import sys; from pathlib import Path; from index.pdfium import render_page; "
                  "render_page(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))")
        times = []
        for path, page in pages[: 6 if quick else 20]:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", script, str(path), str(page), str(SCALE), f"{tmp}/p.png"],
                           check=True, cwd=ROOT)
            times.append((time.perf_counter() - started) * 1000)
        figures["pdfium_process_ms"] = statistics.median(times)
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm:
            times = []
            for path, page in pages:
                started = time.perf_counter()
                subprocess.run([pdftoppm, "-f", str(page), "-l", str(page), "-r", str(round(72 * SCALE)), "-png",
                                "-singlefile", str(path), f"{tmp}/q"], check=True)
                times.append((time.perf_counter() - started) * 1000)
            figures["pdftoppm_ms"] = statistics.median(times)
            figures["pdftoppm_p95_ms"] = sorted(times)[int(0.95 * (len(times) - 1))]
        else:
            figures["pdftoppm_ms"] = None
    return figures


def clicks(quick: bool) -> dict:
    """ms from a citation to its page images, through qa.pages on a synced index."""
    from fakes import FakeEmbedder
    from index.store import IndexDir, load
    from index.sync import sync
    from qa.pages import PageViews

    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library"
        library.mkdir()
        for name in PDFS[:2]:
            shutil.copy(DATA / name, library)
        sync(library, Path(tmp) / "index", embedder=FakeEmbedder(), progress=False, out=lambda line: None)

        class Asker:
            pass

        asker = Asker()
        asker.library, asker.index_dir = library, IndexDir(Path(tmp) / "index")
        loaded = load(asker.index_dir)
        by_page: dict = {}
        for p in sorted(loaded.passages.values(), key=lambda p: (p.report, p.start)):
            by_page.setdefault((p.report, p.page, p.page_end), p)
        chosen = list(by_page.values())[: 6 if quick else 24]
        views = PageViews(asker)
        try:
            first, cold, cached = None, [], []
            for p in chosen:
                started = time.perf_counter()
                views.passage(p.report, p.start, p.end, [p.sentences[0]])
                ms = (time.perf_counter() - started) * 1000
                if first is None:
                    first = ms
                else:
                    cold.append(ms)
                started = time.perf_counter()
                views.passage(p.report, p.start, p.end, [p.sentences[0]])
                cached.append((time.perf_counter() - started) * 1000)
        finally:
            views.close()
    return {"first_click_ms": first, "cold_click_ms": statistics.median(cold), "cold_click_max_ms": max(cold),
            "cached_click_ms": statistics.median(cached), "clicks": len(chosen)}


def positions(quick: bool) -> dict:
    """Pages parsed per second with and without placing the text; bytes stored per 1,000 pages."""
    from index.parse import Parser
    from index.pdfium import page_count
    from index.positions import Positions

    names = PDFS[:2] if quick else PDFS
    pages = sum(page_count(DATA / n) for n in names)
    figures = {"parsed_pages": pages}
    for placing in (False, True):
        with Parser(positions=placing) as parser:
            parser.read(DATA / "crazyones.pdf")  # start the child outside the clock
            started = time.perf_counter()
            texts = [parser.read(DATA / name) for name in names]
            figures["pages_per_s_placed" if placing else "pages_per_s_text_only"] = pages / (time.perf_counter() - started)
    stored = sum(len(Positions.from_json(text.positions).to_bytes()) for text in texts)
    figures["stored_bytes_per_1000_pages"] = stored / pages * 1000
    return figures


def measure(quick: bool = False) -> dict:
    return {"draw": draw_pages(quick), "click": clicks(quick), "positions": positions(quick)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few pages: checks the code paths")
    args = parser.parse_args(argv)
    figures = measure(args.quick)
    d, c, p = figures["draw"], figures["click"], figures["positions"]
    poppler = f"{d['pdftoppm_ms']:.0f} ms (p95 {d['pdftoppm_p95_ms']:.0f})" if d["pdftoppm_ms"] is not None else "not installed"
    print(f"draw a page at {SCALE} px/pt, cold, median over {d['pages']} pages: PDFium in the renderer's child "
          f"{d['pdfium_ms']:.0f} ms (p95 {d['pdfium_p95_ms']:.0f}); PDFium as a new process {d['pdfium_process_ms']:.0f} ms; "
          f"pdftoppm {poppler}")
    print(f"click to page image ({c['clicks']} passages): first {c['first_click_ms']:.0f} ms (starts the renderer), "
          f"cold {c['cold_click_ms']:.0f} ms (max {c['cold_click_max_ms']:.0f}), cached {c['cached_click_ms']:.1f} ms")
    print(f"parsing {p['parsed_pages']} pages: {p['pages_per_s_text_only']:.1f} pages/s text only, "
          f"{p['pages_per_s_placed']:.1f} pages/s with positions; positions stored: "
          f"{p['stored_bytes_per_1000_pages'] / 1e6:.2f} MB per 1,000 pages")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
