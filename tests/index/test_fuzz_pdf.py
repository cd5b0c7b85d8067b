"""The PDF reader under fuzzing (bench/fuzz_pdf.py): every input of the quick run ends as a
report indexed or a documented one-line refusal, within the time limit and the memory cap, the
index unchanged by each refusal; the run's own checks catch a broken rule; and what fuzzing
found, each as the smallest input. Parsing is real (pypdf in the child process); the embedder is a
fake, as this is about reading."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.parse import Limits, Parser
from index.read import read_report

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import fuzz_pdf  # noqa: E402


def test_the_quick_fuzz_run_breaks_no_rule(tmp_path):
    records = tmp_path / "records.jsonl"
    run = subprocess.run([sys.executable, "bench/fuzz_pdf.py", "--quick", "--records", str(records)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    lines = run.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    print("\n".join(lines[:-1]))
    assert run.returncode == 0 and figures["violations"] == [], run.stdout[-4000:] + run.stderr[-2000:]
    assert figures["inputs"] >= 40 and set(figures["by_kind"]) == set(fuzz_pdf.KINDS)
    assert figures["outcomes"]["indexed"] and figures["outcomes"]["malformed"]
    assert 0 < figures["peak_rss_mb"] <= figures["limit_memory_mb"]
    tried = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(tried) == figures["inputs"]
    bombs = {r["detail"]: r["outcome"] for r in tried if r["kind"] == "bomb"}
    # Every decompression bomb is refused (by pypdf's limits, the memory cap or the clock); the
    # sentence running over 40 pages is a report like any other, read well within the time limit.
    assert bombs.pop("one sentence 40 pages long") == "indexed"
    assert len(bombs) == 5 and "indexed" not in bombs.values(), bombs


def test_the_run_flags_what_breaks_a_rule_and_judges_a_plain_refusal(tmp_path):
    library = fuzz_pdf.Library(tmp_path, Limits(seconds=60, memory=1 << 30))
    # A copy of the good report is neither indexed nor refused (the same content is indexed once):
    # the run must say so rather than count it as passed.
    copy = fuzz_pdf.Mutant(0, "flip", "test", "a copy of the good report", fuzz_pdf.GOOD_REPORT.read_bytes())
    assert any("unexpected sync result" in p for p in fuzz_pdf.try_one(library, copy).problems)
    text = fuzz_pdf.Mutant(1, "truncate", "test", "cut before its header", b"Some words but no PDF header.")
    judged = fuzz_pdf.try_one(library, text)
    assert (judged.outcome, judged.problems) == ("not a PDF", [])
    assert judged.message == "mutant-0001-truncate.pdf: named .pdf but is not a PDF — not indexed; check the file"


def test_a_page_that_runs_out_of_memory_refuses_the_file_instead_of_dropping_the_page(monkeypatch):
    # 30 pages each drawing a 70 MB image, under a 1 GB cap: pages 14 to 30 ran out of memory one
    # by one, each was skipped as a damaged page, and the report was indexed with 13 pages.
    import index.pdf

    real, seen = index.pdf._page_lines, []

    def page_lines(page):
        seen.append(page)
        if len(seen) == 2:
            raise MemoryError
        return real(page)

    monkeypatch.setattr(index.pdf, "_page_lines", page_lines)
    with pytest.raises(MemoryError):
        read_report(fuzz_pdf.GOOD_REPORT)


def test_a_paragraph_hundreds_of_pages_long_is_joined_in_linear_time():
    # One sentence that never ends over 200 pages (bench/fuzz_pdf.py's "endless sentence"): each
    # line joined searched the whole paragraph so far, ~60 s and over the time limit by 300 pages.
    from index.layout import assemble, strip_running_lines

    words = "and the inspectors found that children in care were safe while leaders knew their services well".split()
    pages = [[" ".join(words[(7 * n + 3 * i + j) % len(words)] for j in range(10)) for i in range(40)] for n in range(200)]
    started = time.perf_counter()
    text, page_starts, _ = assemble(strip_running_lines(pages))
    assert "\n" not in text and len(page_starts) == 200
    assert time.perf_counter() - started < 5


def test_a_report_of_thousands_of_pages_and_notes_is_chunked_in_linear_time():
    # Chunking runs in the sync's own process, beyond the parser's time limit: each block was
    # checked against every note and each passage's page found by walking the pages, so 8,000
    # notes on 4,000 pages took ~20 s, and a 3,000-page report with 20 notes a page half an hour.
    from index.chunk import chunk
    from index.passage import ReportText

    notes = [f"{i % 90 + 1} Source: Ofsted data for area {i} of the report, see the annex" for i in range(8000)]
    text = "\n\n".join(notes)
    starts = [i * (len(notes[0]) + 3) for i in range(4000)]
    started = time.perf_counter()
    passages = chunk("r", ReportText(text, page_starts=starts))
    assert len(passages) == 8000 and {p.kind for p in passages} == {"footnote"}
    assert passages[-1].page == 4000 and passages[0].page == 1
    assert time.perf_counter() - started < 5


def test_a_font_mapping_to_half_a_utf16_pair_is_read_not_a_parser_crash(tmp_path):
    # The text held a lone surrogate, which cannot be written as UTF-8: the parsing child died
    # sending it ("the PDF parser crashed (exit 1)") and the whole report was refused.
    pdf = tmp_path / "broken-map.pdf"
    pdf.write_bytes(fuzz_pdf.unicode_map(None, b"", 1, 0)[1])
    with Parser(Limits(seconds=60)) as parser:
        text = parser.read(pdf).text
    assert text == "The inspectors found \ufffd\ufffd children were safe and well supported"


def test_a_refusal_is_one_line_whatever_the_parser_said():
    from index.errors import ReportError

    error = ReportError("a.pdf", "malformed PDF (PdfReadError: bad object\r\n  at 12\x85 here)")
    assert str(error) == "a.pdf: malformed PDF (PdfReadError: bad object at 12 here) — not indexed"
