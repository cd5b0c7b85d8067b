"""The page view (qa.pages) over a real sync: positions kept with the segments, an older index
given them by the next sync without re-embedding, pages drawn once and cached, the render's
limits. The embedder is a fake: page views do not depend on vectors."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from fakes import FakeEmbedder
from index.errors import ReportError
from index.render import RenderLimits, Renderer, png_size
from index.store import IndexDir, load
from index.sync import sync
from qa.pages import PageViews

DATA = Path(__file__).resolve().parent.parent / "data"
ESSEX = "80468_essex__ilacs_07-january-2019"


class Asker:  # what PageViews needs of qa.ask.Asker
    def __init__(self, library: Path, index: Path):
        self.library, self.index_dir = library, IndexDir(index)


@pytest.fixture
def indexed(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(DATA / f"{ESSEX}.pdf", library)
    (library / "notes.txt").write_text("Notes\n\nA report in plain text.\n")
    lines = []
    sync(library, tmp_path / "index", embedder=FakeEmbedder(), progress=False, out=lines.append)
    return library, tmp_path / "index"


@pytest.fixture
def views(indexed):
    views = PageViews(Asker(*indexed))
    yield views
    views.close()


def passages(index: Path, report: str):
    loaded = load(IndexDir(index))
    return sorted((p for p in loaded.passages.values() if p.report == report), key=lambda p: p.start)


def test_a_citation_across_a_page_break_shows_both_pages_with_its_lines_boxed(indexed, views):
    library, index = indexed
    p = next(p for p in passages(index, ESSEX) if p.page_end > p.page and len(p.sentences) > 1)
    last = p.sentences[-1]
    images = views.passage(ESSEX, p.start, p.end, [last])
    assert [i.page for i in images] == [p.page, p.page_end]
    for image in images:
        assert (image.width, image.height) == png_size(image.image) == (893, 1263)  # A4 at 1.5 px a point
        assert image.label == str(image.page) and image.pages == 11
        passage_boxes = [b for b in image.boxes if b.kind == "passage"]
        assert passage_boxes and all(0 <= b.x0 < b.x1 <= 1 and 0 <= b.y0 < b.y1 <= 1 for b in image.boxes)
    # the paragraph ends one page and starts the next: its boxes sit at the foot, then the head
    assert min(b.y0 for b in images[0].boxes) > 0.5 and max(b.y1 for b in images[1].boxes) < 0.5
    assert [b.kind for b in images[-1].boxes][-1] == "answer"  # its last sentence, on the second page


def test_a_page_is_drawn_once_then_served_from_the_cache(indexed, views, capsys):
    library, index = indexed
    p = passages(index, ESSEX)[8]
    started = time.perf_counter()
    cold = views.passage(ESSEX, p.start, p.end)
    cold_ms = (time.perf_counter() - started) * 1000
    drawn = views.renderer.drawn
    started = time.perf_counter()
    cached = views.passage(ESSEX, p.start, p.end)
    cached_ms = (time.perf_counter() - started) * 1000
    assert drawn == len(cold) and views.renderer.drawn == drawn  # the second call drew nothing
    assert [c.image for c in cached] == [c.image for c in cold] and cached[0].boxes == cold[0].boxes
    zoomed = views.page(ESSEX, p.page, scale=2.0)
    assert (zoomed.width, zoomed.height) == (1191, 1684) and views.renderer.drawn == drawn + 1
    with capsys.disabled():
        print(f"\npage view: click to page image {cold_ms:.0f} ms cold (renderer child started), {cached_ms:.1f} ms cached")


def test_text_reports_have_no_page_view_and_bad_requests_get_one_line(indexed, views):
    library, index = indexed
    assert views.passage("notes", 0, 5) is None and views.page("notes", 1) is None
    with pytest.raises(ReportError, match=r"has no page 12 \(pages 1 to 11\)"):
        views.page(ESSEX, 12)
    with pytest.raises(ReportError, match="is not in the index"):
        views.passage("nothing", 0, 5)
    with pytest.raises(ValueError, match="scale must be between"):
        views.page(ESSEX, 1, scale=40)
    (library / f"{ESSEX}.pdf").write_bytes((DATA / "crazyones.pdf").read_bytes())
    with pytest.raises(ReportError, match="changed since it was indexed — sync the library"):
        views.page(ESSEX, 1)


def test_an_index_without_positions_gets_them_at_the_next_sync_without_re_embedding(indexed, views):
    library, index = indexed
    store = IndexDir(index)
    (entry,) = [e for e in store.read_manifest().reports if e.report.id == ESSEX]
    saved = store.positions_path(entry.segment)
    before = saved.read_bytes()
    saved.unlink()  # as an index built before positions were kept
    p = passages(index, ESSEX)[5]
    (image,) = views.passage(ESSEX, p.start, p.end)
    assert image.page == p.page and image.boxes == []  # the page, unboxed, until a sync
    embedder, lines = FakeEmbedder(), []
    result = sync(library, index, embedder=embedder, progress=False, out=lines.append)
    assert "1 PDF(s) indexed without their page positions: reading them again (no re-embedding)" in lines
    assert embedder.embedded == 0 and not result.committed and saved.read_bytes() == before
    (image,) = views.passage(ESSEX, p.start, p.end)
    assert image.boxes
    lines.clear()
    sync(library, index, embedder=embedder, progress=False, out=lines.append)
    assert not any("page positions" in line for line in lines)  # a no-op sync reads nothing again


def test_a_report_that_leaves_the_library_takes_its_pages_with_it(indexed, views):
    library, index = indexed
    rendered = views.page(ESSEX, 1).image
    (library / f"{ESSEX}.pdf").unlink()
    sync(library, index, embedder=FakeEmbedder(), progress=False, out=lambda line: None)
    assert rendered.exists()  # the previous version still holds the report
    (library / "more.txt").write_text("More\n\nAnother report.\n")
    sync(library, index, embedder=FakeEmbedder(), progress=False, out=lambda line: None)
    assert not rendered.parent.exists()


def test_a_page_that_takes_too_long_to_draw_is_given_up_in_one_line(tmp_path):
    with Renderer(tmp_path / "renders", RenderLimits(seconds=0.05)) as renderer:
        with pytest.raises(ReportError) as error:
            renderer.render(DATA / f"{ESSEX}.pdf", "0" * 64, 1, 1.0)
    assert str(error.value).endswith("page 1 cannot be drawn (drawing took over 0 s) — use the text view")
    assert not any((tmp_path / "renders").rglob("*.png"))


def test_the_cache_keeps_to_its_size_dropping_the_pages_shown_longest_ago(tmp_path):
    pdf = DATA / f"{ESSEX}.pdf"
    with Renderer(tmp_path / "renders", max_bytes=600_000) as renderer:  # two or three pages at this scale
        first = renderer.render(pdf, "a" * 64, 1, 1.5)
        for page in (2, 3, 4):
            time.sleep(0.01)
            renderer.render(pdf, "a" * 64, 1, 1.5)  # page 1 shown again: kept
            renderer.render(pdf, "a" * 64, page, 1.5)
        kept = sorted(p.name for p in (tmp_path / "renders").rglob("*.png"))
    assert first.path.exists() and "4-150.png" in kept and "2-150.png" not in kept
    assert sum(p.stat().st_size for p in (tmp_path / "renders").rglob("*.png")) <= 600_000
