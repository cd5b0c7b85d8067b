"""The page view's HTML (web/page/pageview.py) and how the viewer chooses it (PageEvents.viewer),
on tiny made-up pages: no model, no PDF, no server."""
from __future__ import annotations

import re
import types
from pathlib import Path

from index.errors import ReportError
from qa.pages import PageBox, PageImage
from qa.types import Citation
from web.gate import Gate
from web.page.events import PageEvents
from web.page.pageview import ZOOMS, page_tools_html, pages_body_html, pages_where, zoom_level
from web.page.viewer import document_html, page_view_html
from web.startup import Startup

TEXT = "Page one words.\n\nThe cited passage runs on\n\nto page two."


def image(page, label=None, boxes=(), pages=11):
    return PageImage(report="r", page=page, pages=pages, label=label, image=Path(f"/idx/renders/ab/{page}-150.png"),
                     width=893, height=1263, scale=1.5, boxes=list(boxes))


def report(**kw):
    fields = dict(id="r", source="r.pdf", sha256="ab" * 32, title="A <Report>", publisher="Ofsted", date="2019-01-03",
                  kind="inspection", pages=11, page_starts=[0, 17], passages=3, indexed_at="2026-01-02T03:04:05+0000")
    fields.update(kw)
    return types.SimpleNamespace(**fields)


def citation(**kw):
    start = TEXT.index("The cited")
    end = TEXT.index("two.") + 4
    fields = dict(n=1, report="r", title="A <Report>", source="r.pdf", page=1, page_end=2, paragraph=2, number=None,
                  start=start, end=end, text=TEXT[start:end], score=0.7, highlights=[[0, 10]])
    fields.update(kw)
    return Citation(**fields)


def test_where_says_the_pages_and_the_printed_numbers_when_they_differ():
    assert pages_where([image(3)]) == "page 3 of 11"
    assert pages_where([image(3, "3")]) == "page 3 of 11"  # a printed number equal to the page's adds nothing
    assert pages_where([image(7, "5")]) == "page 7 of 11 · printed page 5"
    assert pages_where([image(7, "v"), image(8, "vi")]) == "pages 7–8 of 11 · printed pages v–vi"
    assert pages_where([image(7, "5"), image(8)]) == "pages 7–8 of 11"  # only one known: none said


def test_boxes_are_placed_in_percent_of_their_page_and_the_first_passage_box_is_the_target():
    first = image(3, boxes=[PageBox("passage", 0.1, 0.5, 0.9, 0.52), PageBox("answer", 0.1, 0.5, 0.4, 0.52)])
    second = image(4, boxes=[PageBox("passage", 0.1, 0.1, 0.8, 0.12)])
    html = pages_body_html([first, second], "A <Report>", zoom=1)
    assert html.count('id="rq-target"') == 1
    assert re.search(r'<span class="rq-box rq-box-passage" id="rq-target"[^>]*style="left:10.000%;top:50.000%;'
                     r'width:80.000%;height:2.000%"', html)
    assert 'class="rq-box rq-box-answer" aria-hidden="true" style="left:10.000%;top:50.000%;width:30.000%;' in html
    assert html.count('style="width:150%"') == 2 and html.count("aspect-ratio:893/1263") == 2
    assert 'src="gradio_api/file=/idx/renders/ab/3-150.png"' in html and "A &lt;Report&gt;" in html
    assert "<Report>" not in html


def test_page_tools_stop_at_the_first_and_last_page_and_keep_the_page_asked_when_zooming():
    address = 'data-rq-turn="0" data-rq-n="1"'
    tools = page_tools_html([image(1)], address, zoom=0, page_asked=None)
    assert re.search(r'class="rq-cite rq-page-prev" disabled', tools) and re.search(r'class="rq-cite rq-zoom-out" disabled', tools)
    assert 'data-rq-view="page" data-rq-page="2" data-rq-zoom="0" aria-label="Next page"' in tools
    assert 'data-rq-view="page" data-rq-zoom="1" aria-label="Zoom in"' in tools  # the citation's own pages again
    last = page_tools_html([image(11)], address, zoom=len(ZOOMS) - 1, page_asked=11)
    assert re.search(r'class="rq-cite rq-page-next" disabled', last) and re.search(r'class="rq-cite rq-zoom-in" disabled', last)
    assert f'data-rq-zoom="{len(ZOOMS) - 2}" data-rq-page="11" aria-label="Zoom out"' in last
    assert [zoom_level(v) for v in (None, "x", -3, 1, 99)] == [0, 0, 0, 1, len(ZOOMS) - 1]


def test_the_view_switch_is_shown_for_a_pdf_only():
    pdf = document_html(report(), TEXT, citation(), turn=0, total=2)
    assert 'class="rq-view rq-view-page" data-rq-turn="0" data-rq-n="1" data-rq-view="page" aria-pressed="false"' in pdf
    assert 'data-rq-view="text"' in pdf and 'data-rq-view="text" data-rq-showing-n="1"' in pdf
    text_report = document_html(report(source="r.txt", page_starts=None, pages=None), TEXT, citation(page=None, page_end=None))
    assert "rq-view-page" not in text_report and "rq-views" not in text_report
    pages = page_view_html(report(), [image(1), image(2)], citation(), turn=0, total=2)
    assert 'data-rq-view="page" data-rq-showing-n="1"' in pages and 'aria-pressed="true">Page<' in pages
    assert 'class="rq-doc rq-pages"' in pages and "pages 1–2 of 11" in pages
    read = page_view_html(report(), [image(1)])  # a report opened from the Reports tab
    assert 'data-rq-report="r" data-rq-view="text"' in read


class FakeViews:
    """qa.pages.PageViews as the viewer calls it: records the calls, returns pages or raises."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def passage(self, *args):
        self.calls.append(("passage", *args))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def page(self, report, page, scale, start=None, end=None, spans=()):
        self.calls.append(("page", report, page, scale, start, end, spans))
        return self.result[0]


def events_with(views) -> PageEvents:
    asker = types.SimpleNamespace(library=Path("lib"))
    on = PageEvents(Startup.loaded(asker), Gate(1, 1, 5.0))
    on._views = views
    return on


def test_the_viewer_shows_the_pages_asked_for_and_says_in_one_line_when_it_cannot():
    c = citation()
    views = FakeViews([image(1, boxes=[PageBox("passage", 0.1, 0.9, 0.9, 0.95)]), image(2)])
    on = events_with(views)
    html = on.viewer(None, report(), TEXT, c, 0, 2, view="page", zoom=2)
    assert 'data-rq-view="page"' in html and "pages 1–2 of 11" in html
    assert views.calls == [("passage", "r", c.start, c.end, c.highlights, ZOOMS[2][1])]
    on.viewer(None, report(), TEXT, c, 0, 2, view="page", page=2, zoom="nonsense")
    assert views.calls[-1] == ("page", "r", 2, ZOOMS[0][1], c.start, c.end, c.highlights)
    assert 'data-rq-view="text"' in on.viewer(None, report(), TEXT, c, 0, 2, view="text")

    failing = events_with(FakeViews(ReportError("r.pdf", "changed since it was indexed", "sync the library, then look again")))
    html = failing.viewer(None, report(), TEXT, c, 0, 2, view="page")
    assert 'data-rq-view="text"' in html and 'id="rq-target"' in html
    assert ('<p class="rq-note rq-low" role="note">No page view: r.pdf: changed since it was indexed — '
            "sync the library, then look again</p>") in html

    never = events_with(FakeViews(AssertionError("a text report has no pages to ask for")))
    html = never.viewer(None, report(source="r.txt", page_starts=None), TEXT, citation(page=None, page_end=None), view="page")
    assert 'data-rq-view="text"' in html and "rq-views" not in html
