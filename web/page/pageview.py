"""The source viewer's page view: the PDF page(s) a citation is on, drawn, with the cited
passage's lines and the answer's words boxed over the image (qa.pages.PageImage).

Each box is an element positioned in % of its page's image, so it stays on its words at any
zoom and any width. Zoom widens the page (a % of the viewer's width) and draws it again at a
scale that keeps it sharp there (:data:`ZOOMS`); previous / next page and zoom are buttons that
viewer.js sends back as the viewer's ``cite`` event, like a citation.

Pure functions to HTML; :func:`web.page.viewer.viewer_frame` puts the header around them.
"""
from __future__ import annotations

from web.files import file_url
from web.page.markup import esc

# (the page's width in % of the viewer, pixels per PDF point it is drawn at): 100 % of a
# 700 px viewer is an A4 page at 1.18 px/pt, so 1.5 keeps it sharp on a 1.3x screen; each step
# up is drawn again (cold: 50-250 ms, bench figures in the README), never a blurred stretch.
ZOOMS = ((100, 1.5), (150, 2.0), (200, 3.0), (300, 4.0))


def zoom_level(value) -> int:
    """A zoom level from the browser, clamped to :data:`ZOOMS` (0 when it is not a number)."""
    try:
        return min(max(int(value), 0), len(ZOOMS) - 1)
    except (TypeError, ValueError):
        return 0


def printed(images) -> str:
    """`` · printed page 5`` (or ``pages 5–6``) where the report prints its own page numbers
    and they differ from the PDF's; else ""."""
    labels = [i.label for i in images if i.label and i.label != str(i.page)]
    if len(labels) != len(images):
        return ""
    if len(labels) == 1:
        return f" · printed page {esc(labels[0])}"
    return f" · printed pages {esc(labels[0])}–{esc(labels[-1])}"


def pages_where(images) -> str:
    """``page 7 of 40 · printed page 5``, or ``pages 7–8 of 40 · …`` for a passage over a break."""
    first, last = images[0], images[-1]
    shown = f"page {first.page}" if first.page == last.page else f"pages {first.page}–{last.page}"
    return f"{shown} of {first.pages}{printed(images)}"


def _box(box, first: bool) -> str:
    style = (f"left:{box.x0 * 100:.3f}%;top:{box.y0 * 100:.3f}%;"
             f"width:{(box.x1 - box.x0) * 100:.3f}%;height:{(box.y1 - box.y0) * 100:.3f}%")
    target = ' id="rq-target" tabindex="-1" aria-label="The cited passage starts here"' if first else ' aria-hidden="true"'
    return f'<span class="rq-box rq-box-{esc(box.kind)}"{target} style="{style}"></span>'


def sheet_html(image, title: str, zoom: int, first_box: bool) -> str:
    """One page: its image at the zoom's width with its boxes over it. The first passage box of
    the view gets ``id="rq-target"`` (``first_box``), which viewer.js scrolls into view."""
    boxes = []
    for box in image.boxes:
        boxes.append(_box(box, first_box and box.kind == "passage"))
        first_box = first_box and box.kind != "passage"
    caption = pages_where([image])
    return (
        f'<figure class="rq-sheet" data-rq-sheet="{image.page}" style="width:{ZOOMS[zoom][0]}%">'
        f'<div class="rq-sheet-frame" style="aspect-ratio:{image.width}/{image.height}">'
        f'<img class="rq-sheet-img" src="{esc(file_url(image.image))}" width="{image.width}" height="{image.height}" '
        f'alt="{esc(title)}, {esc(caption)}">{"".join(boxes)}</div>'
        f'<figcaption>{esc(caption[:1].upper() + caption[1:])}</figcaption></figure>'
    )


def page_tools_html(images, address: str, zoom: int, page_asked: int | None) -> str:
    """Previous / next page, where the view is, and zoom out / in. ``address`` is the data
    attributes naming what the viewer shows (a citation or a report), which each button carries
    back; ``page_asked`` is the page the user went to (None: the citation's own pages)."""
    first, last = images[0].page, images[-1].page

    def button(css: str, label: str, aria: str, enabled: bool, **data) -> str:
        if not enabled:
            return f'<button type="button" class="rq-cite {css}" disabled aria-label="{aria}">{label}</button>'
        attrs = "".join(f' data-rq-{k}="{v}"' for k, v in data.items())
        return f'<button type="button" class="rq-cite {css}" {address} data-rq-view="page"{attrs} aria-label="{aria}">{label}</button>'

    keep = {"page": page_asked} if page_asked is not None else {}
    return (
        '<div class="rq-page-tools">'
        f'{button("rq-page-prev", "‹ Page", "Previous page", first > 1, page=first - 1, zoom=zoom)}'
        f'<span class="rq-page-where" aria-live="polite">{pages_where(images)}</span>'
        f'{button("rq-page-next", "Page ›", "Next page", last < images[0].pages, page=last + 1, zoom=zoom)}'
        '<span class="rq-zoom" role="group" aria-label="Zoom">'
        f'{button("rq-zoom-out", "−", "Zoom out", zoom > 0, zoom=zoom - 1, **keep)}'
        f'<span class="rq-zoom-level">{ZOOMS[zoom][0]}%</span>'
        f'{button("rq-zoom-in", "+", "Zoom in", zoom < len(ZOOMS) - 1, zoom=zoom + 1, **keep)}'
        "</span></div>"
    )


def pages_body_html(images, title: str, zoom: int) -> str:
    """The page view's scrolling body: each page, its boxes over it."""
    sheets, first_box = [], True
    for image in images:
        sheets.append(sheet_html(image, title, zoom, first_box))
        first_box = first_box and not any(b.kind == "passage" for b in image.boxes)
    return "".join(sheets)
