"""Report text -> passages a reader can find: pure functions over strings.

A passage is a paragraph (a block between blank lines). Headings, numbered stubs ("4.") and
lead-ins ending in a colon are joined to the paragraph they introduce; web-page furniture
(comment forms, share buttons, "More articles") is dropped by general rules; a paragraph
repeated within a report is kept once; a paragraph longer than the model reads is split at
sentence boundaries. Offsets always index the report's text exactly.
"""
from __future__ import annotations

import bisect
import re
from typing import Callable

from index.passage import Passage, ReportText
from index.sentences import split_sentences

# Bump when reading or chunking changes what passages a report gives: the manifest records it, and an
# index built with another version is rebuilt rather than mixed.
CHUNKER_VERSION = "5"

_BLOCK = re.compile(r"\S(?:.|\n(?![ \t\r\f\v]*\n))*", re.UNICODE)
_NUMBER_STUB = re.compile(r"^\(?\d{1,3}(?:\.\d{1,3})*[.)]?$")
_OWN_NUMBER = re.compile(r"^\(?(\d{1,3}(?:\.\d{1,3})*)[.)](?=\s|[A-Z]|$)")
_WORD = re.compile(r"[\w’'-]+", re.UNICODE)

# Words that make up navigation, sharing and comment widgets of saved web pages.
_WIDGET_WORDS = {
    "share", "shares", "tweet", "facebook", "twitter", "x", "linkedin", "whatsapp", "pinterest",
    "reddit", "telegram", "email", "e-mail", "print", "copy", "link", "more", "related", "similar",
    "articles", "article", "stories", "story", "posts", "post", "read", "latest", "news",
    "advertisement", "sponsored", "subscribe", "follow", "us", "sign", "up", "in", "log", "login",
    "comments", "comment", "reply", "replies", "next", "previous", "prev", "home", "menu", "search",
    "cookies", "cookie", "accept", "top", "back", "to", "this", "on", "the", "you", "may", "also",
    "like", "popular", "trending", "newsletter", "leave", "a", "view", "all", "show",
}
_FORM_PROMPT = re.compile(
    r"^(please\s+)?(enter|type|leave|write|post|submit|add|save)\b.{0,40}?"
    r"\b(comment|name|e-?mail|reply|website|message)s?\b",
    re.IGNORECASE,
)
_NOTICE = re.compile(
    r"^(©|\(c\)\s|copyright\b)|all rights reserved|we use cookies|notify me of|"
    r"you must be logged in|your email address will not be published|click here to",
    re.IGNORECASE,
)

TokenCounter = Callable[[str], int]


def approximate_tokens(text: str) -> int:
    """Word pieces a BERT-style model makes of ``text``, roughly (a word is ~1.35 pieces)."""
    return int(len(_WORD.findall(text)) * 1.35) + 2


def blocks(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank blocks of ``text`` (paragraphs separated by blank lines)."""
    spans = []
    for m in _BLOCK.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1].isspace():
            end -= 1
        spans.append((start, end))
    return spans


def is_furniture(block: str) -> bool:
    """Whether a block is page furniture: a comment form, share/navigation links, a notice."""
    words = [w.lower() for w in _WORD.findall(block)]
    if not words:
        return True  # punctuation or symbols only
    if len(words) <= 12 and (_FORM_PROMPT.search(block) or _NOTICE.search(block)):
        return True
    return len(words) <= 6 and all(w in _WIDGET_WORDS for w in words)


def introduces_next(block: str) -> bool:
    """Whether a block only introduces what follows: a number stub, a heading, a lead-in."""
    if _NUMBER_STUB.match(block):
        return True
    if "\n" not in block and len(_WORD.findall(block)) <= 20 and not block.endswith((".", "!", "?", ";", "”", '"')):
        return True  # a one-line heading
    return block.endswith(":") and len(_WORD.findall(block)) <= 40


_ENUMERATOR = re.compile(r"^(?:\(?\d{1,3}(?:\.\d{1,3})*[.)]?|\(?[a-z][.)]|[IVX]{1,4}\.)\s+")
_MAJOR = re.compile(r"^(?:\d{1,2}\.|[IVX]{1,4}\.|chapter\s+\w+|part\s+\w+|section\s+\w+)\s", re.IGNORECASE)
# Lines that look like headings but are not: a contents entry ("Executive summary 2"), a note
# or source line, a footnote at a page's foot ("18 Cynthia Howard, Fred Howard, ...").
_NOT_HEADING = re.compile(r"\s\d{1,3}$|^(?:source|sources|note|notes)\b|^\d{1,3}\s+\S.*[,\[“\"]", re.IGNORECASE)


def is_heading(block: str) -> bool:
    """Whether a block is a section heading: one short line that is no sentence ("Leadership and
    management", "4. FINANCIAL AND OTHER REDRESS", "What is it like to be a child with SEND in
    this area?")."""
    if "\n" in block or len(block) > 150 or _NUMBER_STUB.match(block) or _NOT_HEADING.search(block):
        return False
    words = _WORD.findall(_ENUMERATOR.sub("", block))
    if not words or len(words) > 18 or not any(ch.isalpha() for ch in block):
        return False
    body = _ENUMERATOR.sub("", block)
    if not body[:1].isupper() and not body[:1].isdigit():
        return False
    if block.endswith("?"):  # "What is it like ...?"; a numbered question is a paragraph
        return not _ENUMERATOR.match(block)
    return not block.endswith((".", "!", ";", ",", ":", "”", '"'))


_LETTERED = re.compile(r"^(?:\(?[a-z][.)]|\d{1,2}\.\d{1,2}\.?)\s")


def heading_level(block: str) -> int:
    """1 for a chapter ("4. FINANCIAL AND OTHER REDRESS", a line of capitals), 2 for a lettered
    or sub-numbered section ("a. Introduction", "3.2 Findings"), 3 for any other heading."""
    body = _ENUMERATOR.sub("", block)
    letters = [ch for ch in body if ch.isalpha()]
    if _MAJOR.match(block) or (len(body.split()) >= 2 and len(letters) >= 4 and all(ch.isupper() for ch in letters)):
        return 1
    return 2 if _LETTERED.match(block) else 3


def section_headings(text: str) -> list[tuple[int, str]]:
    """Where each section starts and the headings in force there (chapter, section,
    subsection), as ``(offset, "CHAPTER > Section > Subsection")``, in text order: the context
    a passage is found by."""
    out: list[tuple[int, str]] = []
    levels = ["", "", ""]
    for start, end in blocks(text):
        block = text[start:end]
        if not is_heading(block) or is_furniture(block):
            continue
        level = heading_level(block)
        levels[level - 1:] = [block] + [""] * (3 - level)
        out.append((end, " > ".join(h for h in levels if h)))
    return out


def own_number(block: str) -> str | None:
    """The report's own paragraph number ("13" for "13. The force ..."), if it has one."""
    m = _OWN_NUMBER.match(block)
    return m.group(1) if m else None


def _dedup_key(body: str) -> str:
    body = _OWN_NUMBER.sub("", body, count=1)
    return " ".join(w.lower() for w in _WORD.findall(body))


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
# A note at a page's foot that the layout did not mark ("220 Katharine Hammond 16 June 2023",
# "1 Jon Weimer, The Economic Benefits of ..."): a bare number, a space, then no date.
_NOTE_START = re.compile(r"^\d{1,3} (?!" + _MONTH + r")(?:[A-Z\[“\"(]|Ibid\b)", re.IGNORECASE)
# An entry of a reference list: "Evans, Cynthia J., Nancy B. Lyons ... “The Effect ...” ... (1988)".
_REFERENCE = re.compile(r"^[A-Z][\w’'-]+, (?:[A-Z][\w.]*\.?|[A-Z]\.)[^\n]{0,200}?(?:“|\"|\(\d{4}\)|\b(?:19|20)\d{2}\b)")


def is_note(block: str) -> bool:
    """Whether a block of a paged report looks like a footnote: a bare note number, then no date."""
    return bool(_NOTE_START.match(block))


class Spans:
    """``[start, end]`` spans of a report's text (footnotes, tables), sorted once so that what
    lies around a passage is found without going through them all: a report of thousands of
    pages can have tens of thousands of notes, asked about for each of as many passages."""

    def __init__(self, spans):
        self._spans = sorted((s, e) for s, e in spans if e > s)
        self._starts = [s for s, _ in self._spans]
        self._longest = max((e - s for s, e in self._spans), default=0)

    def _around(self, start: int, end: int) -> list[tuple[int, int]]:
        """The spans that can overlap ``[start, end)``: those starting before ``end`` and after
        ``start`` less the longest span's length."""
        return self._spans[bisect.bisect_left(self._starts, start - self._longest):bisect.bisect_left(self._starts, end)]

    def holds(self, start: int, end: int) -> bool:
        """Whether one span holds all of ``[start, end)``."""
        return any(s <= start and end <= e for s, e in self._around(start, end))

    def covered(self, start: int, end: int) -> int:
        """How many characters of ``[start, end)`` the spans cover (counted once per span)."""
        return sum(max(0, min(end, e) - max(start, s)) for s, e in self._around(start, end))


def paragraphs(text: str, notes: list[list[int]] | Spans | None = None) -> list[tuple[int, int, str | None]]:
    """Paragraph spans with their own numbers, after joining introducers and dropping
    furniture and repeats.

    :param notes: spans of footnote text (as the layout reader marked them, or blocks that look
        like notes); a note never introduces the paragraph after it.
    """
    result: list[tuple[int, int, str | None]] = []
    seen: set[str] = set()
    pending: list[tuple[int, int]] = []  # introducers waiting for their paragraph
    kept = [(s, e) for s, e in blocks(text) if not is_furniture(text[s:e])]
    notes = notes if isinstance(notes, Spans) else Spans(notes or [])
    for i, (start, end) in enumerate(kept):
        block = text[start:end]
        last = i == len(kept) - 1
        note = notes.holds(start, end)
        if introduces_next(block) and not last and not note:
            pending.append((start, end))
            continue
        key = _dedup_key(block)
        if key in seen and not pending:
            continue
        seen.add(key)
        number = own_number(block)
        if pending:
            number = number or next((own_number(text[s:e]) for s, e in pending if own_number(text[s:e])), None)
            start = pending[0][0]
            pending = []
        result.append((start, end, number))
    return result


def _split_long(text: str, start: int, end: int, max_tokens: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into runs of whole sentences of at most ``max_tokens``."""
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    parts: list[tuple[int, int]] = []
    part_start = part_end = None
    for s, e in split_sentences(text, start, end):
        if part_start is not None and count(text[part_start:e]) > max_tokens:
            parts.append((part_start, part_end))
            part_start = None
        if part_start is None:
            part_start = s
        part_end = e
    if part_start is not None:
        parts.append((part_start, part_end))
    return parts


def chunk(
    report_id: str,
    report: ReportText,
    max_tokens: int = 256,
    count_tokens: TokenCounter = approximate_tokens,
) -> list[Passage]:
    """The passages of a report, in reading order.

    :param max_tokens: the most word pieces the embedding model reads; longer paragraphs are
        split at sentence boundaries so no words are silently ignored.
    :param count_tokens: counts word pieces as the model's tokenizer does.
    """
    if max_tokens < 16:
        raise ValueError(f"max_tokens must be at least 16. Currently, max_tokens is {max_tokens}")
    text = report.text
    notes = Spans([*report.footnotes, *([[s, e] for s, e in blocks(text) if is_note(text[s:e])] if report.page_starts else [])])
    tables = Spans(report.tables)
    sections = section_headings(text)
    section_ends = [end for end, _ in sections]
    passages = []
    for paragraph, (start, end, number) in enumerate(paragraphs(text, notes), start=1):
        for part, (s, e) in enumerate(_split_long(text, start, end, max_tokens, count_tokens), start=1):
            in_force = bisect.bisect_right(section_ends, e) - 1  # headings ending within the passage count
            kind = passage_kind(report, s, e, notes, tables)
            # A table's rows are its sentences: each is embedded, so "overall grade" can reach the
            # row "Overall effectiveness Outstanding" that the table as a whole buries.
            units = _lines(text, s, e) if kind == "table" else split_sentences(text, s, e)
            passages.append(
                Passage(
                    report=report_id, paragraph=paragraph, part=part, number=number,
                    start=s, end=e, text=text[s:e],
                    page=report.page_at(s), page_end=report.page_at(max(s, e - 1)),
                    sentences=tuple((a - s, b - s) for a, b in units),
                    heading=sections[in_force][1] if in_force >= 0 else "",
                    kind=kind,
                )
            )
    return passages


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text[start:end]``, trimmed."""
    spans, at = [], start
    for line in text[start:end].split("\n"):
        s, e = at, at + len(line)
        at = e + 1
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
    return spans


def set_line_by_line(block: str) -> bool:
    """Whether a block's lines were set one by one (three or more, half of them 8 words or fewer):
    a table or a list, not wrapped prose."""
    lines = [line for line in block.split("\n") if line.strip()]
    return len(lines) >= 3 and 2 * sum(len(_WORD.findall(line)) <= 8 for line in lines) >= len(lines)


def passage_kind(report: ReportText, start: int, end: int, notes: list[list[int]] | Spans | None = None,
                 tables: Spans | None = None) -> str:
    """What a passage is: "footnote" when most of it is footnote text (``notes``, else the spans
    the layout reader marked), "reference" for an entry of a reference list, "table" for a table or
    list set line by line (as the layout reader marked it, or in a text file by its lines),
    "heading" for a heading with no text after it, else "text". ``tables`` is ``report.tables``
    as :class:`Spans`, when the caller has made it."""
    block = report.text[start:end]
    size = max(1, end - start)
    notes = notes if isinstance(notes, Spans) else Spans(report.footnotes if notes is None else notes)
    if 2 * notes.covered(start, end) >= size:
        return "footnote"
    if report.page_starts is not None and _REFERENCE.match(block):
        return "reference"
    tables = tables or Spans(report.tables)
    if set_line_by_line(block) and (report.page_starts is None or 2 * tables.covered(start, end) >= size):
        return "table"
    return "heading" if is_heading(block) else "text"


# Footnote numbers glued to the word they follow ("to do so.35 Accordingly", "area2 "): kept in
# the cited text (they are the report's), left out of what is embedded and searched.
_NOTE_NUMBER = re.compile(r"(?<=[^\W\d_][.,;:)’”])\d{1,3}(?=\s|$)|(?<=[a-z]{3})\d{1,2}(?=\s|$)")


def retrieval_text(passage: Passage, title: str = "") -> str:
    """What a passage is found by: its report's title (when given), the headings it sits under
    and its text without glued footnote numbers. Never shown: citations show ``passage.text``."""
    return "\n".join(part for part in (title, passage.heading, _NOTE_NUMBER.sub("", passage.text)) if part)


def embedding_text(passage: Passage) -> str:
    """The passage's text as embedded on its own: without glued footnote numbers."""
    return _NOTE_NUMBER.sub("", passage.text)
