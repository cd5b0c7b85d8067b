"""The records that flow through indexing: a report's text, its metadata, its passages."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    """One paragraph of a report (or one part of a paragraph too long for the model).

    Offsets are into the report's text (the file itself for .txt/.md, the extracted text for
    PDFs): ``text == report_text[start:end]`` always holds.

    :param report: the id of the report the passage belongs to.
    :param paragraph: position of the paragraph in the report, from 1.
    :param part: 1 unless a long paragraph was split at sentence boundaries (1, 2, ...).
    :param number: the report's own paragraph number ("13") if it numbers the paragraph.
    :param page: first page the passage is on (PDFs; ``None`` for text files).
    :param page_end: last page the passage is on.
    :param sentences: sentence spans within ``text``; each sentence is embedded too, so a
        question matching one sentence of a long paragraph still finds it.
    :param heading: the headings the passage sits under ("4. REDRESS > b. The Shortfall
        Scheme"): embedded and searched with it, never part of the cited text.
    :param kind: "text" (running text), "table" (a table or a list set line by line),
        "footnote", "reference" (an entry of a reference list) or "heading" (a heading with no
        text after it).
    """

    report: str
    paragraph: int
    part: int
    number: str | None
    start: int
    end: int
    text: str
    page: int | None = None
    page_end: int | None = None
    sentences: tuple = ()  # (start, end) of each sentence within ``text``
    heading: str = ""
    kind: str = "text"

    @property
    def id(self) -> str:
        """Stable id: report id + paragraph number (+ part when the paragraph was split)."""
        base = f"{self.report}#{self.paragraph}"
        return base if self.part == 1 else f"{base}.{self.part}"


@dataclass(frozen=True)
class ReportText:
    """What reading a report file gives: its text and, for PDFs, where each page starts.

    :param page_starts: character offset of each page's start in ``text`` (page 1 first);
        ``None`` for files without pages.
    :param footnotes: ``[start, end]`` spans of footnote text the layout found at pages' feet.
    :param tables: ``[start, end]`` spans of blocks set line by line (tables, lists of entries).
    :param positions: where the text sits on the pages, added by :class:`index.parse.Parser`
        (a second step in its child, so a PDF whose characters cannot be placed is still read).
    """

    text: str
    page_starts: list[int] | None = None
    title: str | None = None
    date: str | None = None
    footnotes: list[list[int]] = field(default_factory=list)
    tables: list[list[int]] = field(default_factory=list)
    page_labels: list[str | None] | None = None  # PDFs: the page number each page prints, or None
    positions: dict | None = None  # PDFs: where the text sits on the pages (index.positions.Positions.to_json)

    def kind_at(self, start: int, end: int) -> str | None:
        """"footnote" or "table" when ``[start, end)`` lies within such a span, else None."""
        for kind, spans in (("footnote", self.footnotes), ("table", self.tables)):
            if any(s <= start and end <= e for s, e in spans):
                return kind
        return None

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for files without pages
        (``page_starts`` ascend, as the reader makes them)."""
        if self.page_starts is None:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class Report:
    """A report in the library, as the index knows it.

    :param id: the file name without extension; what citations and filters use.
    :param source: the file's path relative to the library folder.
    :param sha256: hash of the file's bytes; an unchanged hash means nothing to re-index.
    """

    id: str
    source: str
    sha256: str
    title: str
    publisher: str | None = None
    date: str | None = None
    kind: str | None = None
    pages: int | None = None
    page_starts: list[int] | None = None  # offset of each page in the report's text (PDFs)
    passages: int = 0
    indexed_at: str | None = None
    extra: dict = field(default_factory=dict)
