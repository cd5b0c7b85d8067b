"""PDF -> report text with page offsets: the only module that imports pypdf.

pypdf gives each page's lines with where they sit (baseline height, font size); the rules that
turn those into paragraphs a person would read live in :mod:`index.layout`, pure and tested on
small inputs.
"""
from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import warnings
from pathlib import Path

from index.errors import ReportError
from index.layout import (
    PlacedLine, assemble, date_from_page, mark_gaps, meaningful_title, normalise_line, pdf_date,
    printed_page_numbers, strip_running_lines, title_from_page,
)
from index.passage import ReportText

# A PDF whose pages give fewer letters than this on average (about a word a page) has no real
# text layer: a scan, perhaps with a stray "Page 3" or a scanner's stamp as text.
MIN_LETTERS_PER_PAGE = 5
# Set by index.parse for its child process: PDFs with more pages are refused.
MAX_PAGES_ENV = "REPORTQA_MAX_PAGES"


@contextlib.contextmanager
def _quiet():
    """pypdf logs and warns per damaged font or object (often per page); a report either reads
    or gets one line of reason, so silence it while reading."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _page_lines(page) -> list[PlacedLine]:
    """A page's lines as pypdf's plain extraction gives them, each with the baseline height and
    font size of most of its characters (from the text matrices pypdf reports as it goes)."""
    lines: list[PlacedLine] = []
    pieces: list[tuple[str, float, float]] = []

    def end_line():
        text = "".join(p[0] for p in pieces)
        placed = sorted((p for p in pieces if p[0].strip()), key=lambda p: -len(p[0].strip()))
        if placed:
            chars: dict[float, int] = {}
            for piece, _, size in placed:
                chars[size] = chars.get(size, 0) + len(piece.strip())
            size = max(chars, key=chars.get)  # the size most characters have; a raised "6" does not count
            y = next(y for _, y, s in placed if s == size)
            lines.append(PlacedLine(text, y, size))
        else:
            lines.append(PlacedLine(text))
        pieces.clear()

    def visit(text, cm, tm, font, font_size):
        y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        size = (font_size or 0) * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        for i, part in enumerate(text.split("\n")):
            if i:
                end_line()
            if part:
                pieces.append((part, y, round(size, 1)))

    text = page.extract_text(visitor_text=visit)
    end_line()
    if "\n".join(line.text for line in lines) != text:  # positions lost track: use the bare lines
        return [PlacedLine(line) for line in text.split("\n")]
    return lines


def _extract(path: Path, data: bytes) -> tuple[list[list[PlacedLine]], dict]:
    """Each page's placed lines and the document's metadata; raises :class:`ReportError` for a
    file that is locked or too damaged to read."""
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except DependencyError as exc:
                raise ReportError(
                    path, f"encrypted PDF that cannot be opened here ({exc})", "not indexed; save an unlocked copy"
                ) from exc
            if not unlocked:
                raise ReportError(path, "encrypted PDF needing a password", "not indexed; save an unlocked copy")
        count = len(reader.pages)
        if not count:
            raise ReportError(path, "malformed PDF (no pages)")
        limit = int(os.environ.get(MAX_PAGES_ENV) or 0)
        if limit and count > limit:
            raise ReportError(path, f"{count} pages, over the {limit}-page limit", "not indexed; split it")
        pages, failure = [], None
        for page in reader.pages:
            try:
                pages.append(_page_lines(page))
            except (FileNotDecryptedError, MemoryError):  # out of memory is no damaged page: the file is refused
                raise
            except Exception as exc:  # noqa: BLE001 - one damaged page costs that page only
                failure = failure or exc
                pages.append([])
        if failure is not None and not any(pages):
            raise failure
        try:
            metadata = dict(reader.metadata or {})
        except Exception:  # noqa: BLE001 - damaged metadata is no reason to refuse the text
            metadata = {}
    except ReportError:
        raise
    except FileNotDecryptedError as exc:
        raise ReportError(path, "encrypted PDF needing a password", "not indexed; save an unlocked copy") from exc
    except RecursionError as exc:
        raise ReportError(path, "malformed PDF (nesting too deep)") from exc
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files; each is a bad file here
        raise ReportError(path, f"malformed PDF ({type(exc).__name__}: {str(exc)[:80]})") from exc
    return pages, metadata


def read_pdf(path: Path, data: bytes) -> ReportText:
    """The text of a PDF as a person reads it, with where each page's text starts.

    Paragraphs are separated by blank lines and run across page breaks; running headers,
    footers and page numbers are left out. The title is the metadata title when it is a real
    one, else the title set on page 1; the date is the file's creation date (else a date on
    page 1). Raises :class:`ReportError` for encrypted, damaged or text-less (scanned) PDFs.
    """
    with _quiet():
        placed_pages, metadata = _extract(path, data)
    letters = sum(ch.isalpha() for page in placed_pages for line in page for ch in line.text)
    if letters < MIN_LETTERS_PER_PAGE * max(1, len(placed_pages)):
        raise ReportError(path, "no text layer (scanned?)", "not indexed; OCR it first")
    pages = [[normalise_line(line) for line in mark_gaps(page)] for page in placed_pages]
    text, page_starts, kinds = assemble(strip_running_lines(pages))
    title = meaningful_title(_text(metadata.get("/Title"))) or title_from_page(placed_pages[0])
    date = pdf_date(_text(metadata.get("/CreationDate"))) or date_from_page(pages[0])
    return ReportText(text=text, page_starts=page_starts, title=title, date=date,
                      footnotes=kinds["footnote"], tables=kinds["table"], page_labels=printed_page_numbers(pages))


def _text(value) -> str | None:
    return value if isinstance(value, str) else None
