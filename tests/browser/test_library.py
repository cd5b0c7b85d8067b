"""The library in a real browser: upload the 2019 Essex Ofsted PDF, ask about it, see its page,
filter by report, remove it and see it no longer cited. The server has its own library (a copy
of seeds/), started with --max-upload-mb 1. The tests run in order and build on each other.
"""
import hashlib
import re

import httpx
import pytest

from .chat_page import record_timing
from helpers_app import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PDF = ROOT / "tests" / "data" / "80468_essex__ilacs_07-january-2019.pdf"
PDF_ID = PDF.stem
PDF_TITLE = "Essex County Council: Inspection of children’s social care services"
SEED_ID = "essex-police-hmic-inspection-news-summary"
SEED_TITLE = "Damning report into Essex Police paints picture of chaos, confusion and incompetence"
HUB = "How quickly do children and families get help from the hub?"
ABUSE = "What did the inspectors say about domestic abuse?"


@pytest.fixture(scope="module", autouse=True)
def _stop_the_server_afterwards(library_server):
    yield
    library_server.stop()  # its memory back for the rest of the run


def row(chat, title: str):
    return chat.page.locator("#rq-reports tr", has_text=title)


def status(chat) -> str:
    return chat.page.locator("#rq-library-status").inner_text()


def wait_status(chat, text: str, timeout: float = 90_000) -> str:
    chat.page.locator("#rq-library-status", has_text=text).wait_for(timeout=timeout)
    return status(chat)


def upload(chat, *files) -> None:
    chat.page.locator("#rq-upload input[type=file]").set_input_files(list(files))


def cited_files(chat) -> set[str]:
    """The report file of every citation in the sources panel."""
    metas = chat.page.locator("#rq-sources .rq-source > .rq-meta").all_inner_texts()
    return {m.rsplit(" · ", 1)[-1].strip() for m in metas}


def test_reports_view_lists_every_report_with_what_is_known_about_it(library_page, library_server):
    library_page.tab("Reports")
    seed = row(library_page, SEED_TITLE)
    text = seed.inner_text()
    sha = hashlib.sha256((library_server.library / f"{SEED_ID}.txt").read_bytes()).hexdigest()
    for shown in ("unknown news website", "2023-01-31", "news summary of an HMIC inspection report", "37", sha):
        assert shown in text, shown
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)  # indexed at


def test_uploading_a_pdf_shows_progress_then_lists_it(library_page, library_server):
    upload(library_page, PDF)
    library_page.page.locator("#rq-reports", has_text="Embedding passages").wait_for(timeout=60_000)
    library_page.shot("04-upload-progress.png")
    message = wait_status(library_page, f"Added {PDF.name}")
    assert "1 report added" in message and "passages indexed" in message
    text = row(library_page, PDF_TITLE).inner_text()
    assert "2019-01-03" in text and "11" in text and hashlib.sha256(PDF.read_bytes()).hexdigest() in text
    assert (library_server.library / PDF.name).read_bytes() == PDF.read_bytes()
    library_page.shot("05-reports-view.png", full_page=True)


def test_uploads_are_judged_by_content_size_limited_and_stored_under_safe_names(library_page, library_server, tmp_path):
    fake = tmp_path / "fake.pdf"
    fake.write_text("This is not a PDF at all.")
    upload(library_page, fake)
    assert "fake.pdf: named .pdf but its content is not a PDF" in wait_status(library_page, "Not added")
    assert not (library_server.library / "fake.pdf").exists()

    scan = ROOT / "tests" / "data" / "imagemagick-lzw.pdf"  # an image, no text layer
    upload(library_page, scan)
    assert f"Not added: {scan.name}: no text layer" in wait_status(library_page, f"Not added: {scan.name}")
    assert not (library_server.library / scan.name).exists()  # not left in the library unseen

    # over --max-upload-mb (1 MB): the server refuses the upload itself
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10))
    with httpx.Client() as http, open(big, "rb") as f:
        refused = http.post(library_server.url + "gradio_api/upload", files={"files": ("big.pdf", f, "application/pdf")})
    assert refused.status_code == 413, refused.text
    with open(fake, "rb") as f, httpx.Client() as http:
        assert http.post(library_server.url + "gradio_api/upload", files={"files": ("fake.pdf", f)}).status_code == 200

    odd = tmp_path / "My Report (final)!.md"
    odd.write_text("# Notes\n\nA short note about nothing in particular.\n")
    upload(library_page, odd)
    wait_status(library_page, "Added My-Report-final.md")  # the name it is stored under
    assert (library_server.library / "My-Report-final.md").is_file()
    library_page.choose("rq-remove-choice", re.compile(r"\(My-Report-final\)$"))
    library_page.page.locator("#rq-remove").click()
    wait_status(library_page, "Removed My-Report-final.md")
    assert not (library_server.library / "My-Report-final.md").exists()


def test_asking_about_the_pdf_cites_it_with_its_page(library_page):
    library_page.tab("Chat")
    library_page.ask(HUB)
    first = library_page.page.locator("#source-1")
    assert PDF_TITLE in first.inner_text()
    page = re.search(r"pp?\. (\d+)", first.locator(".rq-meta").first.inner_text())
    assert page, first.inner_text()
    seconds = library_page.open_source(first.locator("[data-rq-n='1']"))
    viewer, target = library_page.viewer, library_page.target
    assert viewer.locator("#rq-viewer-title").inner_text() == PDF_TITLE
    assert viewer.locator(".rq-page").count() == 11  # a marker where each page starts
    # the page marker before the cited paragraph is the page the citation names
    marker = library_page.page.evaluate(
        """() => { const t = document.querySelector('#rq-target'); let last = null;
                   for (const m of document.querySelectorAll('#rq-viewer .rq-page'))
                     if (m.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING) last = m;
                   return last && last.id; }"""
    )
    assert marker == f"rq-page-{page.group(1)}"
    words = viewer.locator(".rq-cited mark.rq-hl").first  # the passage starts with its lead-in line
    assert "children and families hub" in words.inner_text()
    assert library_page.in_view(target) and library_page.in_view(words)
    library_page.shot("06-pdf-citation-with-page.png")
    record_timing("uploaded PDF, [1] in the sources panel", seconds, library_page.browser_seconds())
    library_page.close_viewer()


def test_every_report_in_the_library_opens_in_the_viewer(library_page):
    library_page.tab("Reports")
    for title, pages in ((PDF_TITLE, 11), (SEED_TITLE, 0)):
        library_page.open_source(row(library_page, title).locator("button.rq-open"))
        viewer = library_page.viewer
        assert viewer.locator("#rq-viewer-title").inner_text() == title
        assert viewer.locator(".rq-para").count() > 10
        assert viewer.locator(".rq-page").count() == pages
        assert viewer.locator("a.rq-download").get_attribute("download").startswith(PDF_ID if pages else SEED_ID)
        library_page.close_viewer()


def test_the_report_filter_limits_what_the_chat_searches(library_page):
    library_page.tab("Chat")
    library_page.choose("rq-filter", f"{PDF_TITLE} ({PDF_ID})")
    library_page.ask(ABUSE)
    assert cited_files(library_page) == {PDF.name}
    library_page.unchoose_all("rq-filter")
    library_page.choose("rq-filter", f"{SEED_TITLE} ({SEED_ID})")
    library_page.ask(HUB)
    assert cited_files(library_page) == {f"{SEED_ID}.txt"}
    library_page.shot("07-filter-by-report.png")
    library_page.unchoose_all("rq-filter")


def test_a_removed_report_is_no_longer_cited(library_page, library_server):
    library_page.tab("Reports")
    library_page.choose("rq-remove-choice", f"{PDF_TITLE} ({PDF_ID})")
    library_page.page.locator("#rq-remove").click()
    wait_status(library_page, f"Removed {PDF.name}")
    assert row(library_page, PDF_TITLE).count() == 0
    assert not (library_server.library / PDF.name).exists()
    library_page.tab("Chat")
    latest = library_page.ask(HUB)
    assert PDF.name not in cited_files(library_page) and cited_files(library_page)
    assert library_page.in_chat_view(latest)  # the conversation scrolled to the new answer
    library_page.shot("08-removed-no-longer-cited.png")
    # an earlier answer's citation of the removed report says so instead of failing
    library_page.open_source(library_page.answers().first.locator("[data-rq-n='1']").first)
    assert "no longer in the library" in library_page.viewer.inner_text()
    library_page.close_viewer()
    library_page.check_clean()
