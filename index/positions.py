"""Where a report's text sits on its pages: each character of the cleaned text (index.layout)
mapped back to the PDF character it came from, then kept compactly as line fragments and words.

The cleaned text comes from pypdf; the characters' boxes from PDFium (:mod:`index.pdfium`).
Both read the same content streams in the same order, so the two are aligned in order, page by
page, word by word on letters and digits alone (spaces, hyphens, bullets and other punctuation
differ between the two extractions and between extraction and cleaning): no passage is ever
searched for on the page. Words that cleaning moved (footnotes stepped over at a page break) are
matched in a second pass among what is left on the page and its neighbours.

:class:`Positions` is what is stored beside a report's segment (``S.pages1.npz``) and read at a
click: ``boxes(start, end)`` gives the boxes of any span of the report's text.
"""
from __future__ import annotations

import io
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

# Bumped when what is stored changes: an index whose segments have another version is re-read
# by the next sync for its positions alone (no re-embedding).
POSITIONS_VERSION = 1

_KEYS: dict[str, str] = {}


def _key(ch: str) -> str:
    """What a character is compared by: its letters and digits, compatibility-decomposed and
    case-folded ("ﬁ" -> "fi"); "" for everything else."""
    key = _KEYS.get(ch)
    if key is None:
        key = "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if c.isalnum())
        _KEYS[ch] = key
    return key


def _words(text: str, start: int, end: int) -> list[tuple[str, list[int]]]:
    """The runs of letters and digits of ``text[start:end]``: (key, the index of the character
    each key character came from)."""
    words: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    where: list[int] = []
    for i in range(start, end):
        key = _key(text[i])
        if key:
            chars.append(key)
            where.extend([i] * len(key))
        elif chars:
            words.append(("".join(chars), where))
            chars, where = [], []
    if chars:
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
    theirs_by_page, taken_by_page = [], []
    for number, page in enumerate(pages):
        theirs = _words(page.text, 0, len(page.text))
        taken = np.zeros(len(page.text), dtype=bool)
        if number < len(page_starts):
            _align_words(_words(text, page_starts[number], ends[number]), theirs, out, number, taken)
        theirs_by_page.append(theirs)
        taken_by_page.append(taken)
    # Second pass: words left over (moved by cleaning) against what is left on the page and
    # its neighbours.
    for number in range(min(len(pages), len(page_starts))):
        left = [w for w in _words(text, page_starts[number], ends[number]) if out[w[1][0], 0] < 0]
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
            if source[k] == ch or _key(source[k]) == _key(ch) and not ch.isalnum():
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
        first = bisect_right(self.spans[:, 1].tolist(), start)  # fragments ending after start
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
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, version=np.array([POSITIONS_VERSION]), pages=self.pages, labels=np.array(self.labels, dtype=str),
            fragments=self.fragments, spans=self.spans, words=self.words, word_x=self.word_x,
            first_word=self.first_word,
        )
        return buffer.getvalue()

    @classmethod
    def from_file(cls, path) -> "Positions":
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"][0]) != POSITIONS_VERSION:
                raise ValueError(f"{path}: positions version {int(data['version'][0])}, not {POSITIONS_VERSION}")
            return cls(data["pages"], [str(s) for s in data["labels"]], data["fragments"], data["spans"],
                       data["words"], data["word_x"], data["first_word"])

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


def _at(start: int, end: int, x: np.ndarray, offset: int) -> float:
    """The x of text offset ``offset`` within a word ``[start, end)`` spanning ``x``."""
    if offset <= start:
        return float(x[0])
    if offset >= end:
        return float(x[1])
    return float(x[0] + (x[1] - x[0]) * (offset - start) / (end - start))


def _same_line(line: list[float], box) -> bool:
    """Whether a character's box continues a line fragment: it overlaps the fragment's height
    by half its own, does not step back left, and is not a column's width to the right."""
    left, bottom, right, top = line
    height = max(box[3] - box[1], 1e-3)
    overlap = min(top, box[3]) - max(bottom, box[1])
    return overlap >= 0.5 * min(height, top - bottom) and box[0] >= right - 0.5 * height and box[0] - right <= 3 * height


def build(text: str, page_starts: list[int], pages: list, labels: list[str | None]) -> Positions:
    """The positions of ``text`` from its alignment with the pages' characters (:func:`align`).

    :param labels: each page's printed page number, or None.
    """
    mapped = align(text, page_starts, pages)
    fragments, spans, words, word_x, first_word = [], [], [], [], []
    current = None  # [page, [l, b, r, t], start, end, words]
    word = None  # [start, end, x0, x1]

    def close_word():
        nonlocal word
        if word is not None:
            current[4].append(word)
            word = None

    def close_fragment():
        nonlocal current
        if current is not None:
            close_word()
            fragments.append([current[0], *current[1]])
            spans.append([current[2], current[3]])
            first_word.append(len(words))
            for w in current[4]:
                words.append(w[:2])
                word_x.append(w[2:])
            current = None

    for i, ch in enumerate(text):
        page, j = int(mapped[i, 0]), int(mapped[i, 1])
        if page < 0:
            if ch.isspace():
                close_word()
            continue
        box = [float(v) for v in pages[page].boxes[j]]
        if box[2] <= box[0] and box[3] <= box[1]:
            continue  # a character PDFium places nowhere
        if current is None or current[0] != page or not _same_line(current[1], box):
            close_fragment()
            current = [page, box[:], i, i + 1, []]
        else:
            line = current[1]
            current[1] = [min(line[0], box[0]), min(line[1], box[1]), max(line[2], box[2]), max(line[3], box[3])]
            current[3] = i + 1
        if word is None:
            word = [i, i + 1, box[0], box[2]]
        else:
            word[1], word[2], word[3] = i + 1, min(word[2], box[0]), max(word[3], box[2])
    close_fragment()
    first_word.append(len(words))
    return Positions(
        pages=np.array([[*p.crop, p.rotation] for p in pages], dtype=np.float32).reshape(-1, 5),
        labels=[label or "" for label in labels],
        fragments=np.array(fragments, dtype=np.float32).reshape(-1, 5),
        spans=np.array(spans, dtype=np.int32).reshape(-1, 2),
        words=np.array(words, dtype=np.int32).reshape(-1, 2),
        word_x=np.array(word_x, dtype=np.float32).reshape(-1, 2),
        first_word=np.array(first_word, dtype=np.int32),
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
