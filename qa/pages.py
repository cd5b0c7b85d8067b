"""The page view of a citation: the PDF pages a passage is on, drawn, with its words boxed.

What the viewer calls (the app through ``PageViews(asker)``); everything it needs was recorded
at index time (index.positions) or is drawn once and cached (index.render), so a click reads a
small file and, the first time a page is shown at a scale, draws it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import ReportError
from index.passage import ReportText
from index.positions import Positions, to_fractions
from index.render import Renderer, check_scale
from index.store import IndexDir, Manifest, ReportEntry

DEFAULT_SCALE = 1.5  # pixels per PDF point: an A4 page 893 x 1263 px, a readable page on a laptop


@dataclass(frozen=True)
class PageBox:
    """A box on a page image, as fractions of its width and height from the top left (0-1).

    :param kind: "passage" (a line of the cited passage) or "answer" (a span asked to be boxed
        strongly: an answer sentence, a cited word).
    """

    kind: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class PageImage:
    """One page of a PDF report, drawn.

    :param page: the page's place in the PDF (1 = first), as citations count pages.
    :param pages: how many pages the PDF has (for previous / next).
    :param label: the page number the report prints on it ("12", "iv"), or None.
    :param image: the PNG file (in the index's render cache).
    :param width: the image's width in pixels. :param height: its height.
    :param scale: pixels per PDF point it was drawn at.
    :param boxes: what to box on it, passage lines first, then answer spans.
    """

    report: str
    page: int
    pages: int
    label: str | None
    image: Path
    width: int
    height: int
    scale: float
    boxes: list[PageBox] = field(default_factory=list)


class PageViews:
    """Page views of the reports of one index.

    :param asker: anything with ``library`` (the folder of reports) and ``index_dir`` (an
        :class:`index.store.IndexDir`): the app's :class:`qa.ask.Asker`.
    :param renderer: draws pages (default: a :class:`index.render.Renderer` caching under the
        index directory's ``renders/``).
    """

    def __init__(self, asker, renderer: Renderer | None = None):
        self.library = Path(asker.library)
        self.index_dir: IndexDir = asker.index_dir
        self.renderer = renderer or Renderer(self.index_dir.path / "renders")
        self._lock = threading.Lock()
        self._manifest: tuple[int, Manifest | None] = (-1, None)
        self._positions: dict[str, Positions] = {}  # by segment (immutable)

    def close(self) -> None:
        self.renderer.close()

    def passage(self, report: str, start: int, end: int, spans=(), scale: float = DEFAULT_SCALE) -> list[PageImage] | None:
        """The page(s) the passage ``[start, end)`` of the report's text is on (both when it
        crosses a page break), each with the passage's lines boxed ("passage") and ``spans``
        boxed strongly ("answer"); None for a text or Markdown report (no pages).

        :param spans: ``(start, end)`` pairs within the passage's text, as
            :attr:`qa.types.Citation.highlights` gives them.
        :raises ReportError: a report the index does not hold, a file changed since indexing, a
            page that cannot be drawn (one line each).
        """
        entry = self._entry(report)
        if entry.report.page_starts is None:
            return None
        positions = self._read_positions(entry)
        answer = [(start + a, start + b) for a, b in spans]
        if positions is not None:
            pages = sorted({b[0] for b in positions.boxes(start, end)})
        else:
            pages = []
        if not pages:  # no positions (an index not synced since): the pages the offsets say
            text = ReportText("", page_starts=entry.report.page_starts)
            pages = list(range(text.page_at(start), text.page_at(max(start, end - 1)) + 1))
        return [self._image(entry, positions, number, scale, [(start, end)], answer) for number in pages]

    def citation(self, citation, scale: float = DEFAULT_SCALE) -> list[PageImage] | None:
        """:meth:`passage` for a :class:`qa.types.Citation` (its highlights boxed as answer)."""
        return self.passage(citation.report, citation.start, citation.end, citation.highlights, scale)

    def page(self, report: str, page: int, scale: float = DEFAULT_SCALE, start: int | None = None,
             end: int | None = None, spans=()) -> PageImage | None:
        """Any page of the report (previous / next, zoom), with the passage ``[start, end)`` and
        ``spans`` (within it) boxed where they fall on that page; None for a text report.

        :raises ReportError: as :meth:`passage`, and for a page the report does not have.
        """
        entry = self._entry(report)
        if entry.report.page_starts is None:
            return None
        count = entry.report.pages or len(entry.report.page_starts)
        if not isinstance(page, int) or not 1 <= page <= count:
            raise ReportError(entry.report.source, f"has no page {page!r} (pages 1 to {count})", "choose another page")
        passage = [(start, end)] if start is not None and end is not None else []
        answer = [(start + a, start + b) for a, b in spans] if passage else []
        return self._image(entry, self._read_positions(entry), page, scale, passage, answer)

    def _image(self, entry: ReportEntry, positions: Positions | None, page: int, scale: float,
               passage: list[tuple[int, int]], answer: list[tuple[int, int]]) -> PageImage:
        scale = check_scale(scale)
        path = self.library / entry.report.source
        try:
            stat = path.stat()
        except OSError as exc:
            raise ReportError(entry.report.source, f"cannot be read ({exc.strerror})", "sync the library") from exc
        if (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns):
            raise ReportError(entry.report.source, "changed since it was indexed", "sync the library, then look again")
        drawn = self.renderer.render(path, entry.report.sha256, page, scale)
        boxes = []
        if positions is not None:
            for kind, spans in (("passage", passage), ("answer", answer)):
                for a, b in spans:
                    for number, *box in positions.boxes(a, b):
                        if number == page:
                            boxes.append(PageBox(kind, *to_fractions(positions.pages[page - 1], box)))
        return PageImage(
            report=entry.report.id, page=page, pages=entry.report.pages or len(entry.report.page_starts),
            label=positions.label(page) if positions is not None else None, image=drawn.path,
            width=drawn.width, height=drawn.height, scale=scale, boxes=boxes,
        )

    def _entry(self, report: str) -> ReportEntry:
        with self._lock:
            stamp = self.index_dir.stamp()
            if self._manifest[0] != stamp:
                self._manifest = (stamp, self.index_dir.read_manifest())
            manifest = self._manifest[1]
        for entry in manifest.reports if manifest else []:
            if entry.report.id == report:
                return entry
        raise ReportError(report, "is not in the index", "choose a report from the Reports tab")

    def _read_positions(self, entry: ReportEntry) -> Positions | None:
        with self._lock:
            found = self._positions.get(entry.segment)
            if found is None:
                if len(self._positions) >= 8:  # the reports being read; another is read again in milliseconds
                    self._positions.clear()
                found = self.index_dir.read_positions(entry)
                if found is not None:  # none yet may mean a sync has still to add them
                    self._positions[entry.segment] = found
            return found
