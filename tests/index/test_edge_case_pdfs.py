"""Every PDF under ../shared/corpus/pdf-edge-cases either indexes or is refused with a clear
one-line reason, within the limits, and none stops the sync. Parsing is real (pypdf in a child
process); the embedder is a fake because this tests ingestion, not retrieval."""
import re
import shutil
import time
from pathlib import Path

import pytest

from fakes import FakeEmbedder
from index.parse import Limits
from index.store import IndexDir
from index.sync import sync

EDGE = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pdf-edge-cases"
LIMITS = Limits(seconds=30)


@pytest.fixture(scope="module")
def edge_sync(tmp_path_factory):
    if not EDGE.is_dir():
        pytest.fail(f"{EDGE} is missing: the shared corpus should lie beside the project")
    lib = tmp_path_factory.mktemp("edge-lib")
    pdfs = sorted(EDGE.rglob("*.pdf"))
    for pdf in pdfs:
        target = lib / pdf.relative_to(EDGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf, target)
    lines = []
    started = time.monotonic()
    result = sync(lib, tmp_path_factory.mktemp("edge-idx"), embedder=FakeEmbedder(), progress=False,
                  out=lines.append, limits=LIMITS)
    return pdfs, result, lines, time.monotonic() - started


def test_every_edge_case_pdf_is_indexed_or_refused_with_a_reason(edge_sync):
    pdfs, result, lines, seconds = edge_sync
    print(f"{len(result.added)} indexed, {len(result.errors)} refused, {seconds:.1f} s")
    for line in result.errors:
        print("  ", line)
    duplicates = [l for l in lines if "same content as" in l]  # byte-identical copies, indexed once
    assert len(result.added) + len(result.errors) + len(duplicates) == len(pdfs)
    assert result.committed and len(result.added) > len(pdfs) // 2
    for error in result.errors:
        assert "\n" not in error and re.match(r"^\S.*\.pdf: .+ — not indexed", error), error
    assert lines[-1].startswith("Done:")


def test_known_bad_files_get_the_right_reason(edge_sync):
    _, result, _, _ = edge_sync
    reasons = {e.split(": ", 1)[0]: e for e in result.errors}
    assert "no text layer (scanned?)" in reasons["pypdf-sample-files/007-imagemagick-images/imagemagick-lzw.pdf"]
    # pr-136-example.pdf is a scan *with* an OCR text layer (Chinese): it is indexed, not refused.
    assert "pdfplumber-tests/pr-136-example.pdf" in result.added
    assert "empty file" in reasons["pdfplumber-tests/empty.pdf"]
    assert "an HTML page, not a report" in reasons["not-a-pdf-html-page.pdf"]
    assert "encrypted PDF needing a password" in reasons["pdfplumber-tests/password-example.pdf"]


def test_no_parse_ran_into_the_time_limit(edge_sync):
    _, result, _, _ = edge_sync
    assert not [e for e in result.errors if "parsing took over" in e]
