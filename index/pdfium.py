"""PDFium (pypdfium2): the only module that imports it. It gives two things pypdf does not:
where each character sits on its page, and the page drawn as an image.

Both run inside bounded child processes (the parser's, :mod:`index.parse`; the renderer's,
:mod:`index.render`), never in the app's own process: a hostile PDF can hang or exhaust PDFium
as it can any parser.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# A rendered page is at most this many pixels (about 6,000 x 6,000): a page of a hostile PDF
# can be miles wide, and a bitmap of it would take the memory of the machine.
MAX_PIXELS = 36_000_000


@dataclass(frozen=True)
class PageCharacters:
    """One page's characters as PDFium reads them, in content order.

    :param text: one character per PDFium character index (``len(text) == len(boxes)``).
    :param boxes: ``(n, 4)`` float32, each character's loose box (left, bottom, right, top) in
        PDF points, the font's full height: what a highlight should cover.
    :param crop: the page's crop box (left, bottom, right, top): the area a render shows.
    :param rotation: the page's rotation, clockwise, in quarter turns (0-3).
    :param label: the page label the PDF gives ("iv", "12"), or None.
    """

    text: str
    boxes: np.ndarray
    crop: tuple[float, float, float, float]
    rotation: int
    label: str | None


def _open(source: Path | bytes):
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(source if isinstance(source, bytes) else str(source))


def page_characters(source: Path | bytes) -> list[PageCharacters]:
    """Every page's characters and their boxes (see :class:`PageCharacters`)."""
    pdf = _open(source)
    try:
        pages = []
        for number in range(len(pdf)):
            page = pdf[number]
            rotation = page.get_rotation() // 90 % 4
            # subtle: PDFium orders a turned page's characters as they read turned, not in the
            # content stream's order that pypdf follows; the boxes are in the page's own space
            # either way. Reading it upright (in memory only) keeps the two orders alike.
            page.set_rotation(0)
            textpage = page.get_textpage()
            count = textpage.count_chars()
            text = textpage.get_text_range(0, count) if count else ""
            if len(text) != count:  # a character PDFium cannot give as one UTF-16 unit: keep indexes aligned
                text = "".join(_char(textpage, i) for i in range(count))
            boxes = np.array([textpage.get_charbox(i, loose=True) for i in range(count)], dtype=np.float32)
            pages.append(PageCharacters(
                text=text, boxes=boxes.reshape(-1, 4), crop=tuple(float(v) for v in page.get_cropbox()),
                rotation=rotation, label=pdf.get_page_label(number) or None,
            ))
            textpage.close()
            page.close()
        return pages
    finally:
        pdf.close()


def _char(textpage, index: int) -> str:
    import pypdfium2.raw as raw

    code = raw.FPDFText_GetUnicode(textpage, index)
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"


def report_positions(path: Path, text: str, page_starts: list[int], printed: list[str | None]) -> dict | None:
    """Where a report's text (as index.pdf read it) sits on the PDF's pages, as JSON
    (:meth:`index.positions.Positions.to_json`); None when PDFium counts other pages.

    :param printed: the page numbers the pages print (index.layout.printed_page_numbers); the
        PDF's own page labels fill the gaps, unless they only count the pages.
    """
    from index.positions import build

    pages = page_characters(path)
    if len(pages) != len(page_starts):
        return None
    given = [page.label for page in pages]
    if all(label in (None, str(n)) for n, label in enumerate(given, 1)):
        given = [None] * len(pages)  # labels that only count the pages say nothing the page number does not
    labels = [mine or theirs for mine, theirs in zip(printed or [None] * len(pages), given)]
    return build(text, page_starts, pages, labels).to_json()


def page_count(path: Path) -> int:
    pdf = _open(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_page(path: Path, page: int, scale: float, out: Path) -> tuple[int, int]:
    """Draw page ``page`` (1-based) of the PDF at ``path`` at ``scale`` pixels per point (1 =
    72 dpi) into the PNG file ``out``; returns its (width, height) in pixels. The scale is
    lowered for a page that would be over :data:`MAX_PIXELS`."""
    pdf = _open(path)
    try:
        if not 1 <= page <= len(pdf):
            raise ValueError(f"page {page} is not in this PDF of {len(pdf)} pages")
        handle = pdf[page - 1]
        width, height = handle.get_size()
        if handle.get_rotation() % 180:
            width, height = height, width
        area = max(width * height, 1.0) * scale * scale
        if area > MAX_PIXELS:
            scale *= (MAX_PIXELS / area) ** 0.5
        image = handle.render(scale=scale, may_draw_forms=True).to_pil()
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        image.save(tmp, format="PNG", compress_level=1)  # speed over bytes: a cache, not an archive
        os.replace(tmp, out)
        return image.size
    finally:
        pdf.close()
