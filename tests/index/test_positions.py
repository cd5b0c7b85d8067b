"""Positions of a report's text on its PDF pages (index.positions): the boxes lie on the cited
words. Checked against PDFium's own characters: the characters whose centres fall inside a
passage's boxes, read in order, are the passage's text (letters and digits compared, so
spaces and hyphens of broken words do not count)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.chunk import chunk
from index.layout import printed_page_numbers
from index.pdf import read_pdf
from index.pdfium import PageCharacters, page_characters, report_positions
from index.positions import Positions, _key, build, to_fractions

DATA = Path(__file__).resolve().parent.parent / "data"
ESSEX = DATA / "80468_essex__ilacs_07-january-2019.pdf"
HERTS = DATA / "80475_hertfordshire__send_10-november-2023.pdf"


def letters(text: str) -> str:
    return "".join(_key(c) for c in text)


def text_in_boxes(pages: list[PageCharacters], boxes) -> str:
    """The PDF's characters whose centres lie in the boxes, box by box, in the page's order,
    each once; a glyph drawn again on the same spot further on (fake bold) once too, but not the
    letters of a ligature ("f", "f", "i" of "ﬃ": one box, one after the other)."""
    out, taken = [], set()
    for page, left, bottom, right, top in boxes:
        chars = pages[page - 1]
        cx = (chars.boxes[:, 0] + chars.boxes[:, 2]) / 2
        cy = (chars.boxes[:, 1] + chars.boxes[:, 3]) / 2
        seen = {}
        for i in np.nonzero((cx >= left) & (cx <= right) & (cy >= bottom) & (cy <= top))[0]:
            spot = (chars.text[i], round(float(cx[i])), round(float(cy[i])))
            if (page, i) in taken or seen.get(spot, i - 1) != i - 1:
                continue
            seen[spot] = i
            taken.add((page, i))
            out.append(chars.text[i])
    return "".join(out)


def read(path: Path):
    text = read_pdf(path, path.read_bytes())
    return text, Positions.from_json(report_positions(path, text.text, text.page_starts, text.page_labels))


@pytest.fixture(scope="module", params=[ESSEX, HERTS], ids=["essex", "hertfordshire"])
def report(request):
    text, positions = read(request.param)
    passages = chunk("r", text, 256, lambda s: len(s.split()))
    return text, positions, page_characters(request.param), passages


def test_every_passage_is_boxed_on_its_own_words(report):
    text, positions, pages, passages = report
    assert len(passages) > 50
    for p in passages:
        boxes = positions.boxes(p.start, p.end)
        assert {b[0] for b in boxes} == set(range(p.page, p.page_end + 1)), p.id
        assert letters(text_in_boxes(pages, boxes)) == letters(p.text), p.id


def test_a_passage_across_a_page_break_is_boxed_on_both_pages(report):
    text, positions, pages, passages = report
    crossing = [p for p in passages if p.page_end > p.page]
    assert crossing, "the report has paragraphs across page breaks"
    for p in crossing:
        boxes = positions.boxes(p.start, p.end)
        assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)
        first = [b for b in boxes if b[0] == p.page]
        second = [b for b in boxes if b[0] == p.page_end]
        assert first and second
        break_at = text.page_starts[p.page_end - 1] - p.start  # where the next page's text begins
        assert letters(text_in_boxes(pages, first)) == letters(p.text[:break_at])
        assert letters(text_in_boxes(pages, second)) == letters(p.text[break_at:])


def test_each_sentence_is_boxed_on_its_words_alone(report):
    """Answer spans: cut within lines to the words they cover."""
    text, positions, pages, passages = report
    checked = 0
    for p in passages:
        for s, e in p.sentences:
            if len(p.sentences) > 1:
                boxes = positions.boxes(p.start + s, p.start + e)
                assert letters(text_in_boxes(pages, boxes)) == letters(p.text[s:e]), (p.id, p.text[s:e])
                checked += 1
    assert checked > 50


def test_a_single_word_is_boxed_alone(report):
    text, positions, pages, passages = report
    p = next(p for p in passages if len(p.text) > 400)
    for word in p.text.split()[10:30]:
        if not word.isalpha():
            continue
        at = p.start + p.text.index(" " + word + " ") + 1
        boxes = positions.boxes(at, at + len(word))
        assert len(boxes) == 1 and letters(text_in_boxes(pages, boxes)) == letters(word)


def test_printed_page_numbers_run_with_the_pages():
    pages = [["Cover", "A report"], ["Contents", "ii"], ["Text", "1"], ["More text", "2"], ["Annex 2019"],
             ["Page 4 Running head", "text"]]
    assert printed_page_numbers(pages) == [None, None, "1", "2", None, "4"]
    # a number on one page alone is no page numbering (a year at a page's foot)
    assert printed_page_numbers([["Text", "In 2019"], ["More"]]) == [None, None]


def test_positions_keep_the_printed_numbers_and_survive_a_round_trip(tmp_path):
    text, positions = read(ESSEX)
    assert positions.label(2) == "2" and positions.label(99) is None
    path = tmp_path / "p.npz"
    path.write_bytes(positions.to_bytes())
    again = Positions.from_file(path)
    assert again.boxes(100, 400) == positions.boxes(100, 400) and again.labels == positions.labels


def test_alignment_skips_what_cleaning_dropped_and_joins_broken_words():
    """Running head dropped, "investi-/gation" joined: every letter of the text still finds its character."""
    page_text = "Running head\r\nAn investi-\r\ngation found."
    boxes, x, y = [], 0.0, 700.0
    for ch in page_text:
        if ch == "\n":
            x, y = 0.0, y - 12
            boxes.append((0, 0, 0, 0))
            continue
        boxes.append((x, y, x + 5, y + 10))
        x += 5
    chars = PageCharacters(page_text, np.array(boxes, np.float32), (0, 0, 600, 800), 0, None)
    positions = build("An investigation found.", [0], [chars], [None])
    assert [b[0] for b in positions.boxes(0, 23)] == [1, 1]  # two lines of the page
    head, tail = positions.boxes(3, 16)  # "investigation": "investi" ends one line, "gation" starts the next
    assert (head[1], head[2], tail[1], tail[2]) == (15, 688, 0, 676)
    assert positions.boxes(0, 2) == [(1, 0, 688, 10, 698)]  # "An": not the running head above it


def test_fractions_follow_the_page_rotation():
    crop = (0, 0, 600, 800)
    box = (60, 700, 120, 720)  # near the top left of an upright page
    assert to_fractions((*crop, 0), box) == pytest.approx((0.1, 0.1, 0.2, 0.125))
    assert to_fractions((*crop, 2), box) == pytest.approx((0.8, 0.875, 0.9, 0.9))
    x0, y0, x1, y1 = to_fractions((*crop, 1), box)  # a quarter turn clockwise: the top goes right
    assert x0 > 0.8 and y0 < 0.25


def test_a_pdf_pdfium_cannot_place_is_read_all_the_same(tmp_path):
    """Placing runs as a second request to the parser's child: its failure costs the page view only."""
    from index.parse import Parser

    with Parser() as parser:
        text = parser.read(ESSEX)
        assert text.positions and text.page_labels[1] == "2"
        bogus = tmp_path / "bogus.pdf"
        bogus.write_bytes(b"%PDF-1.4\nnot really\n")
        assert parser._place(bogus, text) is None
        assert parser.read(ESSEX).positions == text.positions  # the child goes on


def test_turned_pages_are_boxed_on_their_words_where_pdfium_draws_them(tmp_path):
    """Pages with /Rotate 90, 180 and 270: PDFium reads a turned page's characters in another
    order, and the page is drawn turned; the boxes follow both."""
    import ctypes

    import pypdf
    import pypdfium2
    import pypdfium2.raw as raw

    writer = pypdf.PdfWriter()
    for number, page in enumerate(pypdf.PdfReader(ESSEX).pages):
        writer.add_page(page)
        writer.pages[-1].rotate(90 * (number % 4))
    turned = tmp_path / "turned.pdf"
    writer.write(turned)
    text, positions = read(turned)
    pages = page_characters(turned)
    assert [p.rotation for p in pages[:4]] == [0, 1, 2, 3]
    passages = chunk("r", text, 256, lambda s: len(s.split()))
    for p in passages:
        boxes = positions.boxes(p.start, p.end)
        assert letters(text_in_boxes(pages, boxes)) == letters(p.text), p.id
    pdf = pypdfium2.PdfDocument(turned)
    x, y = ctypes.c_int(), ctypes.c_int()
    for number in range(4):
        page, box = pdf[number], (60.0, 700.0, 120.0, 720.0)
        corners = []
        for px, py in ((box[0], box[1]), (box[2], box[3])):  # where PDFium draws them on a 1000 x 1000 image
            raw.FPDF_PageToDevice(page, 0, 0, 1000, 1000, 0, px, py, ctypes.byref(x), ctypes.byref(y))
            corners.append((x.value / 1000, y.value / 1000))
        (ax, ay), (bx, by) = corners
        expected = (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
        assert to_fractions(positions.pages[number], box) == pytest.approx(expected, abs=0.002), number


def test_the_letters_of_a_ligature_stay_on_their_line():
    """PDFium gives "ﬃ" as "f", "f", "i" sharing one box: still one line fragment, one word."""
    boxes = [(0, 700, 6, 712), (6, 700, 16, 712), (6, 700, 16, 712), (6, 700, 16, 712), (16, 700, 21, 712),
             (21, 700, 26, 712)]
    chars = PageCharacters("office", np.array(boxes, np.float32), (0, 0, 600, 800), 0, None)
    positions = build("office", [0], [chars], [None])
    assert positions.boxes(0, 6) == [(1, 0, 700, 26, 712)] and len(positions.words) == 1


def test_a_page_of_too_many_words_is_left_unboxed_quickly():
    """A hostile page of 30,000 words; a page of 2,000 (more than any report's) is boxed."""
    import time

    def page(n: int) -> tuple[str, PageCharacters]:
        words = " ".join(f"w{i % 97}" for i in range(n))
        boxes = np.tile(np.array([[0, 700, 5, 712]], np.float32), (len(words), 1))
        return words, PageCharacters(words, boxes, (0, 0, 600, 800), 0, None)

    words, chars = page(30_000)
    started = time.perf_counter()
    assert build(words, [0], [chars], [None]).boxes(0, len(words)) == []
    assert time.perf_counter() - started < 2
    words, chars = page(2_000)
    assert build(words, [0], [chars], [None]).boxes(0, 10)
