"""Where a report's text sits on its pages: each character of the cleaned text (index.layout)
mapped back to the PDF character it came from, then kept compactly as line fragments and words.

The cleaned text comes from pypdf; the characters' boxes from PDFium (:mod:`index.pdfium`).
Both read the same content streams in the same order, so the two are aligned in order, page by
page, word by word on letters and digits alone (spaces, hyphens, bullets and other punctuation
differ between the two extractions and between extraction and cleaning): no passage is ever
searched for on the page. Words that cleaning moved (footnotes stepped over at a page break) are
matched in a second pass among what is left on the page and its neighbours.

:class:`Positions` is what is stored beside a report's segment (``S.pagesV.npz``, V the
version below) and read at a click: ``boxes(start, end)`` gives the boxes of any span of the
report's text.
"""
from __future__ import annotations

import io
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

# Bumped when what is stored changes: an index whose segments have another version is re-read
# by the next sync for its positions alone (no re-embedding).
POSITIONS_VERSION = 4

# A page with more words than this (no report's page has a tenth of it; a hostile PDF can have
# millions) is not aligned: its text gets no boxes, and placing a report stays fast.
MAX_PAGE_WORDS = 20_000

_KEYS: dict[str, str] = {}


def _key(ch: str) -> str:
    """What a character is compared by: its letters and digits, compatibility-decomposed and
    case-folded ("ﬁ" -> "fi"); "" for everything else."""
    key = _KEYS.get(ch)
    if key is None:
        key = "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if c.isalnum())
        _KEYS[ch] = key
    return key


_RUN = re.compile(r"[^\W_]+")  # letters and digits


def _words(text: str, start: int, end: int) -> list[tuple[str, list[int]]]:
    """The runs of letters and digits of ``text[start:end]``: (key, the index of the character
    each key character came from)."""
    words: list[tuple[str, list[int]]] = []
    for m in _RUN.finditer(text, start, end):
        word = m.group()
        if word.isascii():
            words.append((word.lower(), list(range(m.start(), m.end()))))
            continue
        chars, where = [], []
        for i in range(m.start(), m.end()):
            key = _key(text[i])
            chars.append(key)
            where.extend([i] * len(key))
        if where:
            words.append(("".join(chars), where))
    return words


def _match_chars(a: str, a_at: list[int], b: str, b_at: list[int], out: np.ndarray, page: int, taken: np.ndarray) -> None:
    """Map the characters of ``a`` that ``b`` shares, in order (a few words each side)."""
    if a == b:
        pairs = zip(a_at, b_at)
    else:
        blocks = SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        pairs = ((a_at[m.a + k], b_at[m.b + k]) for m in blocks for k in range(m.size))
    for i, j in pairs:
        if out[i, 0] < 0:
            out[i] = (page, j)
            taken[j] = True


def _align_words(ours: list, theirs: list, out: np.ndarray, page: int, taken: np.ndarray) -> None:
    """Align two lists of words in order; runs that differ (a word hyphenated over a line break
    on the page, joined in the text) are aligned character by character."""
    if max(len(ours), len(theirs)) > MAX_PAGE_WORDS:
        return
    matcher = SequenceMatcher(None, [w for w, _ in ours], [w for w, _ in theirs], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for (word, a_at), (_, b_at) in zip(ours[a0:a1], theirs[b0:b1]):
                _match_chars(word, a_at, word, b_at, out, page, taken)
        elif op == "replace" and (a1 - a0) * (b1 - b0) <= 400:
            a = "".join(w for w, _ in ours[a0:a1])
            b = "".join(w for w, _ in theirs[b0:b1])
            if min(len(a), len(b)) and (a == b or len(a) * len(b) <= 40_000):
                _match_chars(a, [i for _, at in ours[a0:a1] for i in at], b, [j for _, at in theirs[b0:b1] for j in at],
                             out, page, taken)


def align(text: str, page_starts: list[int], pages: list) -> np.ndarray:
    """For each character of ``text``, ``(page index, character index)`` of the PDF character it
    came from, or ``(-1, -1)`` (spaces the cleaning made, characters PDFium does not see).

    :param page_starts: where each page's text starts in ``text`` (index.layout.assemble).
    :param pages: each page's characters (:class:`index.pdfium.PageCharacters`), as many as
        ``page_starts``.
    """
    out = np.full((len(text), 2), -1, dtype=np.int32)
    ends = list(page_starts[1:]) + [len(text)]
    ours_by_page, theirs_by_page, taken_by_page = [], [], []
    for number, page in enumerate(pages):
        theirs = _words(page.text, 0, len(page.text))
        taken = np.zeros(len(page.text), dtype=bool)
        ours = _words(text, page_starts[number], ends[number]) if number < len(page_starts) else []
        _align_words(ours, theirs, out, number, taken)
        ours_by_page.append(ours)
        theirs_by_page.append(theirs)
        taken_by_page.append(taken)
    # Second pass: words left over (moved by cleaning) against what is left on the page and
    # its neighbours.
    for number in range(min(len(pages), len(page_starts))):
        left = [w for w in ours_by_page[number] if out[w[1][0], 0] < 0]
        for other in (number, number + 1, number - 1):
            if not left or not 0 <= other < len(pages):
                continue
            taken = taken_by_page[other]
            free = [w for w in theirs_by_page[other] if not taken[w[1][0]]]
            if free:
                _align_words(left, free, out, other, taken)
                left = [w for w in left if out[w[1][0], 0] < 0]
    _fill_punctuation(text, pages, out)
    return out


def _fill_punctuation(text: str, pages: list, out: np.ndarray) -> None:
    """Punctuation between two mapped characters of one page: the same character between their
    PDF characters, if there is one ("abuse." boxes its full stop too)."""
    previous = None  # (text index, page, char index) of the last mapped character
    for i, ch in enumerate(text):
        if out[i, 0] >= 0:
            previous = (i, int(out[i, 0]), int(out[i, 1]))
            continue
        if ch.isspace() or previous is None:
            continue
        _, page, j = previous
        source = pages[page].text
        for k in range(j + 1, min(j + 4, len(source))):
            if source[k] == ch:
                out[i] = (page, k)
                previous = (i, page, k)
                break


@dataclass(frozen=True)
class Positions:
    """A report's text on its pages: line fragments and the words in them.

    Boxes are in PDF points, ``(left, bottom, right, top)``, in the page's own coordinates.

    :param pages: ``(P, 5)`` float32: each page's crop box (left, bottom, right, top) and
        rotation in quarter turns.
    :param labels: each page's printed page number ("iv", "12") or "" where it prints none.
    :param fragments: ``(F, 5)`` float32: page index, left, bottom, right, top of each run of
        the text on one line of one page.
    :param spans: ``(F, 2)`` int32: the text offsets ``[start, end)`` each fragment covers.
    :param words: ``(W, 2)`` int32: each word's text offsets ``[start, end)``, fragment by
        fragment, in text order.
    :param word_x: ``(W, 2)`` float32: each word's left and right edge.
    :param first_word: ``(F + 1,)`` int32: fragment ``f``'s words are ``first_word[f]:first_word[f + 1]``.
    """

    pages: np.ndarray
    labels: list[str]
    fragments: np.ndarray
    spans: np.ndarray
    words: np.ndarray
    word_x: np.ndarray
    first_word: np.ndarray

    @classmethod
    def empty(cls) -> "Positions":
        """No pages: what is kept for a PDF whose characters could not be placed."""
        return cls(np.zeros((0, 5), np.float32), [], np.zeros((0, 5), np.float32), np.zeros((0, 2), np.int32),
                   np.zeros((0, 2), np.int32), np.zeros((0, 2), np.float32), np.zeros(1, np.int32))

    def label(self, page: int) -> str | None:
        """The printed page number of page ``page`` (1-based), or None."""
        return self.labels[page - 1] or None if 1 <= page <= len(self.labels) else None

    def boxes(self, start: int, end: int) -> list[tuple[int, float, float, float, float]]:
        """The boxes of the text ``[start, end)``: ``(page, left, bottom, right, top)`` with
        1-based pages, one per line fragment it touches, cut to the words it covers."""
        if end <= start or not len(self.spans):
            return []
        first = int(np.searchsorted(self.spans[:, 1], start, side="right"))  # fragments ending after start
        found = []
        for f in range(first, len(self.spans)):
            s, e = int(self.spans[f, 0]), int(self.spans[f, 1])
            if s >= end:
                break
            page, left, bottom, right, top = (float(v) for v in self.fragments[f])
            if start > s or end < e:
                left, right = self._cut(f, max(start, s), min(end, e), left, right)
            if right > left:
                found.append((int(page) + 1, left, bottom, right, top))
        return found

    def _cut(self, f: int, start: int, end: int, left: float, right: float) -> tuple[float, float]:
        """The left and right edge of ``[start, end)`` within fragment ``f``: from its words,
        a word cut in two taken in proportion to its characters."""
        w0, w1 = int(self.first_word[f]), int(self.first_word[f + 1])
        words, xs = self.words[w0:w1], self.word_x[w0:w1]
        if not len(words):
            return left, right
        starts, ends = words[:, 0].tolist(), words[:, 1].tolist()
        a = bisect_right(ends, start)  # first word ending after start
        b = bisect_left(starts, end) - 1  # last word starting before end
        if a > b:
            return 0.0, 0.0  # only spaces between words
        x0 = _at(starts[a], ends[a], xs[a], max(start, starts[a]))
        x1 = _at(starts[b], ends[b], xs[b], min(end, ends[b]))
        return x0, x1

    def to_bytes(self) -> bytes:
        """Compressed numpy arrays; words' offsets and edges (tenths of a point) as differences
        from the one before, which compress to about a third."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, version=np.array([POSITIONS_VERSION]), pages=self.pages, labels=np.array(self.labels, dtype=str),
            fragments=self.fragments, spans=self.spans, first_word=self.first_word,
            word_steps=np.diff(self.words.ravel(), prepend=0).astype(np.int32),
            word_x_steps=np.diff(_tenths(self.word_x).ravel(), prepend=0).astype(np.int32),
        )
        return buffer.getvalue()

    @classmethod
    def from_file(cls, path) -> "Positions":
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"][0]) != POSITIONS_VERSION:
                raise ValueError(f"{path}: positions version {int(data['version'][0])}, not {POSITIONS_VERSION}")
            words = np.cumsum(data["word_steps"]).astype(np.int32).reshape(-1, 2)
            word_x = (np.cumsum(data["word_x_steps"]) / 10).astype(np.float32).reshape(-1, 2)
            return cls(data["pages"], [str(s) for s in data["labels"]], data["fragments"], data["spans"],
                       words, word_x, data["first_word"])

    def to_json(self) -> dict:
        """Plain lists, for the parser child's JSON answer."""
        return {"pages": self.pages.tolist(), "labels": self.labels, "fragments": self.fragments.tolist(),
                "spans": self.spans.tolist(), "words": self.words.tolist(), "word_x": self.word_x.tolist(),
                "first_word": self.first_word.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> "Positions":
        def array(name, dtype, width):
            return np.array(data[name], dtype=dtype).reshape(-1, width) if width else np.array(data[name], dtype=dtype)

        return cls(array("pages", np.float32, 5), list(data["labels"]), array("fragments", np.float32, 5),
                   array("spans", np.int32, 2), array("words", np.int32, 2), array("word_x", np.float32, 2),
                   array("first_word", np.int32, 0))


def _tenths(x: np.ndarray) -> np.ndarray:
    """Points as whole tenths of a point (what is stored of a word's edges)."""
    return np.round(x.astype(np.float64) * 10).astype(np.int64)


def _at(start: int, end: int, x: np.ndarray, offset: int) -> float:
    """The x of text offset ``offset`` within a word ``[start, end)`` spanning ``x``."""
    if offset <= start:
        return float(x[0])
    if offset >= end:
        return float(x[1])
    return float(x[0] + (x[1] - x[0]) * (offset - start) / (end - start))


# What str.isspace() holds for (the cleaned text has few of them: index.layout makes odd spaces plain).
_SPACES = np.array([9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                    0x202F, 0x205F, 0x3000], dtype=np.uint32)


def build(text: str, page_starts: list[int], pages: list, labels: list[str | None]) -> Positions:
    """The positions of ``text`` from its alignment with the pages' characters (:func:`align`).

    A line fragment is a run of the text's characters, in order, each on the same page as the
    one before and continuing its line: overlapping its height by half, not stepping back
    left, not a column's gap to the right. A word is a run of a fragment between spaces.

    :param labels: each page's printed page number, or None.
    """
    mapped = align(text, page_starts, pages)
    at = np.nonzero(mapped[:, 0] >= 0)[0]  # the text's offsets that have a character
    page = mapped[at, 0]
    boxes = np.zeros((len(at), 4), np.float32)
    for number in np.unique(page):
        here = page == number
        boxes[here] = pages[number].boxes[mapped[at[here], 1]]
    placed = (boxes[:, 2] > boxes[:, 0]) | (boxes[:, 3] > boxes[:, 1])  # PDFium places some characters nowhere
    at, page, boxes, source = at[placed], page[placed], boxes[placed], mapped[at[placed], 1]
    page_rows = np.array([[*p.crop, p.rotation] for p in pages], dtype=np.float32).reshape(-1, 5)
    label_list = [label or "" for label in labels]
    if not len(at):
        empty = Positions.empty()
        return Positions(page_rows, label_list, empty.fragments, empty.spans, empty.words, empty.word_x, empty.first_word)
    height = np.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)
    before, now = boxes[:-1], boxes[1:]
    overlap = np.minimum(before[:, 3], now[:, 3]) - np.maximum(before[:, 1], now[:, 1])
    # subtle: the letters of a ligature ("ffi") come as characters sharing one box, so a
    # character may start where the one before it starts, not only where it ends.
    same_line = ((overlap >= 0.5 * np.minimum(height[1:], height[:-1])) & (now[:, 0] >= before[:, 0] - 0.5 * height[1:])
                 & (now[:, 0] - before[:, 2] <= 3 * height[1:]))
    new_fragment = np.ones(len(at), dtype=bool)
    same_char = (page[1:] == page[:-1]) & (source[1:] == source[:-1])  # "f", "i" of one "ﬁ"
    new_fragment[1:] = (page[1:] != page[:-1]) | ~(same_line | same_char)
    spaces = np.cumsum(np.isin(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), _SPACES))
    new_word = new_fragment.copy()
    new_word[1:] |= spaces[at[1:] - 1] > spaces[at[:-1]]  # a space between this character and the one before
    fragment_at, word_at = np.nonzero(new_fragment)[0], np.nonzero(new_word)[0]
    fragment_end, word_end = np.append(fragment_at[1:], len(at)) - 1, np.append(word_at[1:], len(at)) - 1
    low, high = np.minimum.reduceat, np.maximum.reduceat
    return Positions(
        pages=page_rows,
        labels=label_list,
        fragments=np.column_stack([page[fragment_at], low(boxes[:, 0], fragment_at), low(boxes[:, 1], fragment_at),
                                   high(boxes[:, 2], fragment_at), high(boxes[:, 3], fragment_at)]).astype(np.float32),
        spans=np.column_stack([at[fragment_at], at[fragment_end] + 1]).astype(np.int32),
        words=np.column_stack([at[word_at], at[word_end] + 1]).astype(np.int32),
        word_x=(_tenths(np.column_stack([low(boxes[:, 0], word_at), high(boxes[:, 2], word_at)])) / 10).astype(np.float32),
        first_word=np.append(np.searchsorted(word_at, fragment_at), len(word_at)).astype(np.int32),
    )


def to_fractions(page_box: np.ndarray | tuple, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A box in PDF points ``(left, bottom, right, top)`` as fractions of the page as it is
    drawn (its crop box, turned by its rotation): ``(x0, y0, x1, y1)`` from the top left, 0-1.

    :param page_box: the page's crop box and rotation (a row of :attr:`Positions.pages`).
    """
    cl, cb, cr, ct, rotation = (float(v) for v in page_box)
    width, height = max(cr - cl, 1e-6), max(ct - cb, 1e-6)
    left, bottom, right, top = box
    turn = int(rotation) % 4
    if turn == 0:
        x0, y0, x1, y1 = (left - cl) / width, (ct - top) / height, (right - cl) / width, (ct - bottom) / height
    elif turn == 1:  # a quarter turn clockwise: the page's left edge is drawn along the top
        x0, y0, x1, y1 = (bottom - cb) / height, (left - cl) / width, (top - cb) / height, (right - cl) / width
    elif turn == 2:
        x0, y0, x1, y1 = (cr - right) / width, (bottom - cb) / height, (cr - left) / width, (top - cb) / height
    else:
        x0, y0, x1, y1 = (ct - top) / height, (cr - right) / width, (ct - bottom) / height, (cr - left) / width
    clip = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
    return clip(x0), clip(y0), clip(x1), clip(y1)
