"""The source viewer: a report's full text, scrolled (by viewer.js) to the cited paragraph, with the
answer's sentences highlighted, page markers for PDFs, previous/next citation and a download link;
for a PDF, the page view too (its pages drawn, the passage boxed: ``pageview.py``).

Pure functions over qa.types.Citation and index.passage.Report. A view of the viewer is a
``<section class="rq-viewer">`` with a fresh ``data-rq-nonce`` (so the same citation opened again is
still a new value, and tests can wait for it) and ``data-rq-showing`` (the report shown).
"""
from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

from web.page.markup import esc, merge_spans, where
from web.page.pageview import page_tools_html, pages_body_html

VIEWER_CLOSED = '<div class="rq-viewer-closed"></div>'


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each blank-line-separated paragraph of ``text``."""
    spans, pos = [], 0
    for m in re.finditer(r"\n[ \t]*\n\s*", text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def locate(citation, text: str) -> tuple[int, int] | None:
    """Where the cited passage is in ``text``: its offsets when they still hold, else where its
    words are found (the report was re-indexed since), else None (the words are gone)."""
    if 0 <= citation.start <= citation.end <= len(text) and text[citation.start:citation.end] == citation.text:
        return citation.start, citation.end
    found = text.find(citation.text) if citation.text else -1
    return (found, found + len(citation.text)) if found >= 0 else None


def document_body_html(text: str, page_starts=None, cited: tuple[int, int] | None = None, highlights=()) -> str:
    """A report's full text as HTML: one ``<p>`` per paragraph, a page marker where each page
    starts, the cited passage's paragraphs marked (the first gets ``id="rq-target"``) and the
    ``highlights`` (absolute ``[start, end]`` offsets in ``text``) in ``<mark>``."""
    pages = sorted((start, n) for n, start in enumerate(page_starts or [], 1))
    marks = merge_spans(highlights, 0, len(text))
    out, page_i, target_done = [], 0, False

    def page_marker(n: int, inline: bool) -> str:
        if inline:
            return f'<span class="rq-page rq-page-inline" id="rq-page-{n}" role="note" aria-label="Page {n} starts here">p. {n}</span>'
        return f'<div class="rq-page" id="rq-page-{n}" role="separator" aria-label="Page {n}">Page {n}</div>'

    for ps, pe in paragraph_spans(text):
        while page_i < len(pages) and pages[page_i][0] <= ps:  # pages starting before this paragraph
            out.append(page_marker(pages[page_i][1], inline=False))
            page_i += 1
        inline = {}
        while page_i < len(pages) and pages[page_i][0] < pe:  # pages starting inside it
            inline[pages[page_i][0]] = pages[page_i][1]
            page_i += 1
        in_cited = cited is not None and cited[0] < pe and ps < cited[1]
        cuts = {ps, pe, *inline}
        if in_cited:
            cuts.update(x for x in cited if ps < x < pe)
        for s, e in marks:
            cuts.update(x for x in (s, e) if ps < x < pe)
        cuts = sorted(cuts)
        pieces = []
        for a, b in zip(cuts, cuts[1:]):
            if a in inline:
                pieces.append(page_marker(inline[a], inline=True))
            piece = html.escape(text[a:b])
            if any(s <= a < e for s, e in marks):
                pieces.append(f'<mark class="rq-hl">{piece}</mark>')
            elif in_cited and cited[0] <= a < cited[1]:
                pieces.append(f'<span class="rq-in">{piece}</span>')
            else:
                pieces.append(piece)
        attrs = 'class="rq-para"'
        if in_cited:
            attrs = 'class="rq-para rq-cited"'
            if not target_done:
                attrs += ' id="rq-target" tabindex="-1"'
                target_done = True
        out.append(f"<p {attrs}>{''.join(pieces)}</p>")
    for _, n in pages[page_i:]:  # pages after the last paragraph (blank pages at the end)
        out.append(page_marker(n, inline=False))
    return "".join(out)


_nonce = itertools.count(1)


def report_meta(report) -> str:
    """``publisher · date · kind · 11 pages · 59 passages``: what is known about a report."""
    bits = [report.publisher, report.date, report.kind]
    if report.pages:
        bits.append(f"{report.pages} page{'s' if report.pages != 1 else ''}")
    bits.append(f"{report.passages} passages")
    return " · ".join(esc(b) for b in bits if b)


def address_attrs(report, citation=None, turn: int | None = None) -> str:
    """The data attributes naming what the viewer shows, which its buttons send back (viewer.js):
    a citation of an answer, or a report."""
    if citation is not None and turn is not None:
        return f'data-rq-turn="{turn}" data-rq-n="{citation.n}"'
    return f'data-rq-report="{esc(report.id)}"'


def view_switch_html(address: str, view: str) -> str:
    """Text | Page: the two views of a PDF report (not shown for text and Markdown reports)."""
    buttons = "".join(
        f'<button type="button" class="rq-view rq-view-{name}" {address} data-rq-view="{name}" '
        f'aria-pressed="{"true" if name == view else "false"}">{label}</button>'
        for name, label in (("text", "Text"), ("page", "Page"))
    )
    return f'<span class="rq-views" role="group" aria-label="Show the report as">{buttons}</span>'


def viewer_frame(report, body: str, citation=None, turn: int | None = None, total: int = 0,
                 download: tuple[str, str] | None = None, note: str | None = None, view: str = "text",
                 tools: str = "", body_class: str = "rq-doc") -> str:
    """The viewer around ``body`` (the scrolling part): the report's title, metadata, which
    citation with previous/next, the Text | Page switch for a PDF, ``tools`` (the page view's),
    the download link, a note, and close."""
    nav = ""
    if citation is not None and turn is not None:
        def step(n: int, label: str, css: str) -> str:
            if 1 <= n <= total:
                return (f'<button type="button" class="rq-cite {css}" data-rq-turn="{turn}" data-rq-n="{n}" '
                        f'aria-label="{label} citation, [{n}]">{label} [{n}]</button>')
            return f'<button type="button" class="rq-cite {css}" disabled>{label}</button>'

        nav = (
            f'<div class="rq-viewer-nav">{step(citation.n - 1, "‹ Previous", "rq-prev")}'
            f'<span class="rq-viewer-where">Citation [{citation.n}] of {total}</span>'
            f'{step(citation.n + 1, "Next ›", "rq-next")}</div>'
        )
    cited_where = f'<span>[{citation.n}]: {esc(where(citation))}</span>' if citation is not None else ""
    switch = view_switch_html(address_attrs(report, citation, turn), view) if report.page_starts else ""
    link = ""
    if download:
        link = f'<a class="rq-download" href="{esc(download[0])}" download="{esc(Path(report.source).name)}">{esc(download[1])}</a>'
    note_html = f'<p class="rq-note rq-low" role="note">{esc(note)}</p>' if note else ""
    label = "Pages" if view == "page" else "Full text"
    return (
        f'<section class="rq-viewer" role="dialog" aria-modal="false" aria-labelledby="rq-viewer-title" '
        f'data-rq-nonce="{next(_nonce)}" data-rq-showing="{esc(report.id)}" data-rq-view="{view}" '
        f'data-rq-showing-n="{citation.n if citation is not None else ""}">'
        '<header class="rq-viewer-head"><div class="rq-viewer-top">'
        f'<h2 id="rq-viewer-title" tabindex="-1">{esc(report.title)}</h2>'
        '<button type="button" class="rq-close" data-rq-close aria-label="Close the report (Escape)">✕</button></div>'
        f'<p class="rq-meta">{report_meta(report)} · {esc(Path(report.source).name)}</p>'
        f'{nav}<p class="rq-viewer-cited">{cited_where}{switch}{link}</p>{tools}{note_html}</header>'
        f'<div class="{body_class}" tabindex="0" aria-label="{label} of {esc(report.title)}">{body}</div></section>'
    )


def document_html(report, text: str, citation=None, turn: int | None = None, total: int = 0,
                  download: tuple[str, str] | None = None, note: str | None = None) -> str:
    """The source viewer's text view: a report's header (title, metadata, which citation,
    previous/next, download link, close) above its full text, scrolled by viewer.js to
    ``#rq-target``.

    :param citation: the citation to mark (qa.types.Citation), or None to show the report alone.
    :param turn: the answer the citation belongs to, and ``total`` its number of citations, for
        the previous/next buttons.
    :param download: ``(url, label)`` of the original file.
    :param note: a one-line note above the text (why the page view is not shown, say).
    """
    cited, highlights = None, []
    if citation is not None:
        cited = locate(citation, text)
        if cited is None:
            note = note or "This report has changed since the answer: the cited passage is no longer in it."
        else:
            highlights = [[cited[0] + s, cited[0] + e] for s, e in citation.highlights]
    body = document_body_html(text, report.page_starts, cited, highlights)
    return viewer_frame(report, body, citation, turn, total, download, note)


def page_view_html(report, images, citation=None, turn: int | None = None, total: int = 0,
                   download: tuple[str, str] | None = None, zoom: int = 0, page_asked: int | None = None) -> str:
    """The source viewer's page view: the header as in the text view, the page tools (previous
    / next page, where, zoom), then the page(s) drawn with the passage and the answer boxed.

    :param images: the pages to show (qa.pages.PageImage), in order: two when the passage
        crosses a page break.
    :param page_asked: the page the user went to with previous / next (None: the citation's own).
    """
    address = address_attrs(report, citation, turn)
    return viewer_frame(report, pages_body_html(images, report.title, zoom), citation, turn, total, download,
                        view="page", tools=page_tools_html(images, address, zoom, page_asked),
                        body_class="rq-doc rq-pages")


def viewer_message_html(message: str) -> str:
    """The viewer showing a one-line message instead of a report (e.g. the report was removed)."""
    return (
        f'<section class="rq-viewer" role="dialog" aria-modal="false" aria-labelledby="rq-viewer-title" data-rq-nonce="{next(_nonce)}">'
        '<header class="rq-viewer-head"><div class="rq-viewer-top"><h2 id="rq-viewer-title" tabindex="-1">Source viewer</h2>'
        '<button type="button" class="rq-close" data-rq-close aria-label="Close the viewer (Escape)">✕</button></div>'
        f'<p class="rq-note rq-error" role="alert">{esc(message)}</p></header></section>'
    )
