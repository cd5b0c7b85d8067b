"""The lines of a report's pages -> text that reads like the report: pure functions, no PDF library.

:mod:`index.pdf` extracts each page's lines (with where they sit, when it knows); everything a
reader does by eye happens here, by general rules (no strings of particular reports):

- paragraph gaps and font changes on the page become blank lines (:func:`mark_gaps`);
- running headers, footers and page numbers are dropped (:func:`strip_running_lines`);
- lines are joined back into paragraphs, words hyphenated at a line end re-joined by the
  document's own vocabulary, numbered paragraphs ("12. ...") and bullets ("• ...") start afresh,
  table-like blocks keep their lines (:func:`page_paragraphs`);
- a paragraph that runs over a page break is joined into one, and the offset where each page's
  text begins is kept so citations give the right pages (:func:`assemble`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

BULLET = "•"

# Bullet glyphs: symbol-font characters land in Unicode's private use area (U+F0B7, U+F06E ...),
# some fonts map theirs to DEL; the rest are squares, dots, arrows and ticks.
_BULLET_GLYPH = re.compile(
    r"^[\x7f\ue000-\uf8ff\u25a0-\u25ff\u2022\u2023\u2043\u2219\u00b7\u2756\u27a2-\u27a4\u2713\u2714]\s*"
)
_ODD_SPACE = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\u200b\u200c\u200d\ufeff]")
# Half a UTF-16 pair on its own (a font's broken map to Unicode gives them): no character, and
# text holding one cannot be written as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r" {2,}")
# "12. Text", "3.36. Text": a paragraph the report numbers (the text after it is not lower case).
_NUMBERED = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.\s+[^\sa-z]")
_NUMBER_STUB = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.$")
# Footnotes at a page's foot: "37 Sustaining Global ...", "3" on its own line, "* Source: ...".
_FOOTNOTE = re.compile(r"^(?:\d{1,3}(?:\s+\S|$)|[*†‡]\s*\S)")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.?)\s*)?(?:\d{1,4}|[ivxlc]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$",
    re.IGNORECASE,
)
_ENDS_SENTENCE = re.compile(r"[.!?;][\"'”’)\]]*\d{0,3}$")
_WORDS = re.compile(r"[A-Za-z]+(?:[-'’][A-Za-z]+)*")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class PlacedLine:
    """A line of a page as the PDF library gives it.

    :param y: height of its baseline on the page (points from the bottom), if known.
    :param size: the font size most of its characters have, in points, if known.
    """

    text: str
    y: float | None = None
    size: float | None = None


@dataclass
class Paragraph:
    """A paragraph of one page: items joined by newlines, each item's lines joined by spaces.

    Prose is one item (plus one per bullet); a table keeps one item per line.
    """

    items: list[list[tuple[str, int]]]  # (line, page index) so offsets of pages survive joins
    table: bool = False
    footnote: bool = False

    @property
    def first_line(self) -> str:
        return self.items[0][0][0]

    @property
    def last_line(self) -> str:
        return self.items[-1][-1][0]

    @property
    def line_count(self) -> int:
        return sum(len(item) for item in self.items)


_LINE_END_HYPHEN = re.compile(r"([A-Za-z]+)-$")
_LINE_START_WORD = re.compile(r"[a-z]+")
# English prefixes that keep their hyphen, and endings that are never words of their own.
_HYPHEN_PREFIXES = {"self", "cross", "well", "half", "all", "quasi", "ex"}
_SUFFIXES = {
    "ment", "ments", "tion", "tions", "sion", "sions", "ing", "ings", "ed", "er", "ers", "ly", "ness",
    "ity", "ities", "ance", "ances", "ence", "ences", "ant", "ants", "ent", "ents", "al", "ally", "ive",
    "ives", "ous", "able", "ible", "ial", "ure", "ures", "ist", "ists", "ism", "age", "ise", "ize",
    "ised", "ized", "ship", "ful", "less", "est", "ary", "ory", "ic", "ical", "ies", "es", "s",
}


@dataclass
class Vocabulary:
    """How often each word and hyphenated compound occurs in the report, for re-joining words
    hyphenated at line ends (:meth:`join`)."""

    counts: Counter = field(default_factory=Counter)
    compound_heads: Counter = field(default_factory=Counter)  # "self" of "self-assessment"

    @classmethod
    def of(cls, pages: list[list[str]]) -> "Vocabulary":
        counts: Counter = Counter()
        heads: Counter = Counter()
        for lines in pages:
            previous = ""
            for line in lines:
                words = _WORDS.findall(line)
                if _LINE_END_HYPHEN.search(previous) and _LINE_START_WORD.match(line):
                    words = words[1:]  # "gation" of "investi-/gation" is no word of its own
                if _LINE_END_HYPHEN.search(line) and words:
                    words = words[:-1]  # nor is "investi"
                for word in words:
                    counts[word.lower()] += 1
                    parts = word.lower().split("-")
                    for i in range(len(parts) - 1):  # "well-thought-out" holds "well-thought"
                        counts[f"{parts[i]}-{parts[i + 1]}"] += 1
                        heads[parts[i]] += 1
                previous = line
        return cls(counts, heads)

    def join(self, left: str, right: str) -> str:
        """``left`` (ending in a hyphen) and ``right``, the next line, as one line of text.

        "investi-" + "gation" gives "investigation" and "well-" + "matched" "well-matched".
        The form the report uses elsewhere wins. Failing that the hyphen stays for a compound:
        one whose first half the report uses in other compounds ("self-" + "sufficiency"), is a
        letter ("T-shirt"), is a prefix English hyphenates, or a word of three letters or more
        that the report uses ("person-" + "centred"), unless the second half is a bare ending
        ("assess-" + "ment"). Anything else is a word the typesetter broke: the hyphen goes.
        """
        head_m = _LINE_END_HYPHEN.search(left)
        tail_m = _LINE_START_WORD.match(right)
        if not head_m or not tail_m:  # "COVID-" + "19", "Anglo-" + "Saxon": keep the hyphen
            return left + right
        head, tail = head_m.group(1).lower(), tail_m.group(0)
        joined, hyphenated = self.counts[head + tail], self.counts[f"{head}-{tail}"]
        if joined or hyphenated:
            keep = hyphenated >= joined
        elif right[len(tail):len(tail) + 1] == "-" or len(head) == 1 or head in _HYPHEN_PREFIXES \
                or self.compound_heads[head] >= 2:
            keep = True  # "well-" + "thought-out", "T-" + "shirt", "self-" + "esteem"
        else:
            keep = tail not in _SUFFIXES and len(head) >= 3 and bool(self.counts[head])
        return left + right if keep else left[:-1] + right


def normalise_line(line: str) -> str:
    """One line cleaned: odd spaces to plain ones, runs of spaces collapsed, ends stripped,
    symbol-font bullets to "• ", halves of UTF-16 pairs to "\ufffd". A line of only whitespace
    becomes ""."""
    line = _SURROGATE.sub("\ufffd", _INVISIBLE.sub("", _ODD_SPACE.sub(" ", line))).strip()
    line = _BULLET_GLYPH.sub(BULLET + " ", line)
    if line.rstrip() == BULLET:  # the substitution above left "• ": a bullet with no item is no line
        return ""
    return _SPACES.sub(" ", line)


def _is_superscript(line: PlacedLine, ref: PlacedLine) -> bool:
    text = line.text.strip()
    return bool(text.isdigit() and len(text) <= 3 and line.size and ref.size and line.size <= 0.75 * ref.size)


def _line_pitch(lines: list[PlacedLine]) -> dict[int, float]:
    """The usual distance between consecutive lines of a paragraph, for each font size on a
    page: the smallest gap (to the point) seen twice, so paragraph gaps stand out against it
    even on a page with more paragraph gaps than wrapped lines."""
    gaps: dict[int, Counter] = {}
    prev = None
    for line in lines:
        if line.y is None or not line.size:
            continue
        if prev is not None and abs(prev.size - line.size) < 0.5:
            gap = round(prev.y - line.y, 0)
            if 0.8 * line.size <= gap <= 3 * line.size:
                gaps.setdefault(round(line.size), Counter())[gap] += 1
        prev = line
    pitch = {}
    for size, counts in gaps.items():
        repeated = [gap for gap, n in counts.items() if n >= 2]
        pitch[size] = min(repeated) if repeated else min(counts, key=lambda g: (-counts[g], g))
    return pitch


def mark_gaps(lines: list[PlacedLine]) -> list[str]:
    """A page's lines as strings, with a blank line wherever the page shows a paragraph break.

    A break is a gap wider than the usual line spacing after a line that ends a sentence, a
    change of font size (heading to text, text to footnotes), or text jumping back up the page
    (a new column). A wide gap after a line that does not end a sentence is kept as a line break
    only, so the rows of a table stay one block. Footnote markers set as small raised digits on
    a line of their own are put back on the line they belong to, and so is the rest of a line
    the extraction broke off after one (same baseline, same size).
    """
    pitch = _line_pitch(lines)
    out: list[str] = []
    prev: PlacedLine | None = None
    prev_index = -1
    pending = ""  # a footnote number waiting for the footnote text that follows it
    for line in lines:
        text = line.text
        if not text.strip() or line.y is None or not line.size:
            out.append(text)
            continue
        if prev is not None and _is_superscript(line, prev):
            if abs(prev.y - line.y) < prev.size:  # raised within the previous line: a reference
                out[prev_index] = out[prev_index].rstrip() + text.strip()
            else:
                pending += text.strip() + " "
            continue
        if prev is not None:
            gap = prev.y - line.y
            expected = pitch.get(round(line.size)) or 1.2 * line.size
            size_change = abs(line.size - prev.size) >= max(1.0, 0.1 * prev.size)
            if abs(gap) < 0.2 * expected and not size_change:  # the rest of the same line
                out[prev_index] = out[prev_index].rstrip() + " " + text.strip()
                continue
            if gap < -0.5 * expected:
                out.append("")
            elif gap > 1.3 * expected and (ends_sentence(prev.text.rstrip()) or size_change):
                out.append("")
            elif size_change and gap > 0.9 * expected:
                out.append("")
        out.append(pending + text)
        pending = ""
        prev, prev_index = line, len(out) - 1
    if pending:  # no text came after it (a page number set small): a line of its own
        out.append(pending.strip())
    return out


def _furniture_key(line: str) -> str:
    key = re.sub(r"\d+", "#", line.lower())
    key = re.sub(r"^(page|p\.?)\s*[ivxlc]+\b", r"\1 #", key)
    return " ".join(key.split())


def _edges(lines: list[str], depth: int) -> dict[int, str]:
    """The first and last ``depth`` non-blank lines of a page: index -> "top" or "bottom"."""
    filled = [i for i, line in enumerate(lines) if line]
    edges = {i: "bottom" for i in filled[-depth:]}
    edges.update({i: "top" for i in filled[:depth]})
    return edges


def _prefix_pattern(key: str) -> re.Pattern:
    """Matches the start of a line whose furniture key begins with ``key``."""
    parts = [r"\d+" if ch == "#" else r"\s+" if ch == " " else re.escape(ch) for ch in key]
    return re.compile("".join(parts) + r"(?=[^\s\d])", re.IGNORECASE)


def strip_running_lines(pages: list[list[str]], depth: int = 3) -> list[list[str]]:
    """Pages without their running headers, footers and page numbers.

    A line among the first or last ``depth`` non-blank lines of a page is furniture when, with
    its digits ignored, it recurs at that edge on at least 3 pages and on at least 40% of the
    pages from its first to its last appearance (so a chapter's running head counts, a heading
    that happens to open a few pages does not), or on two pages one or two apart (left- and
    right-hand pages with different heads). Where the extraction ran a running line into the
    text after it with no space between ("...KingdomTable 1: ..."), that start is cut off (the
    longest running line that fits). A bare page number ("12", "Page 3 of 11", "iv", "- 4 -")
    among the first or last two lines is dropped wherever it appears.
    """
    seen: dict[tuple[str, str], list[int]] = {}
    for number, lines in enumerate(pages):
        for i, edge in _edges(lines, depth).items():
            where = seen.setdefault((edge, _furniture_key(lines[i])), [])
            if not where or where[-1] != number:
                where.append(number)
    running = {
        key for key, where in seen.items()
        if (len(where) >= 3 and len(where) >= 0.4 * (where[-1] - where[0] + 1))
        or (len(where) == 2 and where[1] - where[0] <= 2)
    }
    # subtle: longest first, not in the set's order (which changes with each process's hash
    # seed): "Annual report" would cut "Annual reports and accountsTable 1" after "report".
    prefixes = [(edge, _prefix_pattern(key)) for edge, key in sorted(running, key=lambda k: (-len(k[1]), k))
                if len(key) >= 12]
    result = []
    for lines in pages:
        kept = list(lines)
        for i, edge in _edges(lines, depth).items():
            if (edge, _furniture_key(lines[i])) in running:
                kept[i] = ""
                continue
            for where, pattern in prefixes:
                m = pattern.match(lines[i]) if where == edge else None
                if m and m.end() < len(lines[i]):
                    kept[i] = lines[i][m.end():]
                    break
        for i in _edges(lines, 2):
            if _PAGE_NUMBER.match(kept[i]):
                kept[i] = ""
        result.append(kept)
    if not any(_LETTER.search(line) for lines in result for line in lines):
        return pages  # every page the same few lines: that is the text, not furniture
    return result


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks, current = [], []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def typical_width(pages: list[list[str]]) -> int:
    """The length in characters of a full line of the report's body text (its 75th percentile)."""
    lengths = sorted(len(line) for lines in pages for line in lines if line)
    return lengths[int(len(lengths) * 0.75)] if lengths else 80


def is_table(block: list[str], width: int) -> bool:
    """Whether a block's lines were set one by one (a table, a list of short entries, an address)
    rather than wrapped as prose: at least half the lines before the last are well short of a
    full line, which wrapped prose never is."""
    if len(block) < 2:
        return False
    before_last = block[:-1]
    short = sum(len(line) < 0.6 * width for line in before_last)
    return short >= max(1, (len(before_last) + 1) // 2)


def page_paragraphs(lines: list[str], page: int, width: int) -> list[Paragraph]:
    """The paragraphs of one page, in order, before any joining across pages.

    A blank line ends a paragraph; so does a line that starts a numbered paragraph ("12. ...").
    A bullet starts a new item of the same paragraph. A run of one-line numbered entries stays
    one paragraph (a list), as does a table. Blocks at the foot of the page that begin like
    footnotes ("37 Sustaining ...") are footnotes, one item per note.
    """
    blocks = _blocks(lines)
    notes = len(blocks)
    while notes > 1 and _FOOTNOTE.match(blocks[notes - 1][0]):
        notes -= 1
    paragraphs: list[Paragraph] = []
    for block in blocks[:notes]:
        block = _attach_number_stubs(block)
        if is_table(block, width):
            paragraphs.append(Paragraph([[(line, page)] for line in block], table=True))
            continue
        start = len(paragraphs)
        current: Paragraph | None = None
        for line in block:
            if current is None or _NUMBERED.match(line):
                current = Paragraph([[(line, page)]])
                paragraphs.append(current)
            elif line.startswith(BULLET):
                current.items.append([(line, page)])
            else:
                current.items[-1].append((line, page))
        _group_one_line_entries(paragraphs, start)
    for block in blocks[notes:]:
        paragraphs.append(Paragraph(_split_footnotes([(line, page) for line in block]), footnote=True))
    return paragraphs


def _attach_number_stubs(block: list[str]) -> list[str]:
    """A bare paragraph number on its own line ("5.") joined to the line it numbers."""
    lines: list[str] = []
    for line in block:
        if lines and _NUMBER_STUB.match(lines[-1]):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return lines


def _group_one_line_entries(paragraphs: list[Paragraph], start: int) -> None:
    """Merge runs of numbered entries one line long each that are no sentences ("1. Help and
    protection Good", a judgement list) from index ``start`` on into one list paragraph."""
    i = start
    while i < len(paragraphs):
        j = i
        while j < len(paragraphs) and paragraphs[j].line_count == 1 and _NUMBERED.match(paragraphs[j].first_line) \
                and not ends_sentence(paragraphs[j].first_line):
            j += 1
        if j - i >= 2:
            paragraphs[i:j] = [Paragraph([item for p in paragraphs[i:j] for item in p.items])]
        i += 1


def _split_footnotes(lines: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    items: list[list[tuple[str, int]]] = []
    for line in lines:
        if not items or _FOOTNOTE.match(line[0]):
            items.append([line])
        else:
            items[-1].append(line)
    return items


def ends_sentence(line: str) -> bool:
    """Whether a line ends a sentence (allowing closing quotes and a footnote number after)."""
    return bool(_ENDS_SENTENCE.search(line))


def _heading_like(paragraph: Paragraph, width: int) -> bool:
    """One short line that does not end a sentence and is no numbered paragraph: a heading."""
    line = paragraph.first_line
    return (paragraph.line_count == 1 and not paragraph.table and not _NUMBERED.match(line)
            and len(line) < 0.7 * width and not ends_sentence(line))


def _continues(last: Paragraph, first: Paragraph, width: int) -> bool:
    """Whether ``first`` (a page's first paragraph) carries on ``last`` (the previous page's):
    ``last`` stops mid-sentence and ``first`` starts in lower case, or starts neither a
    numbered paragraph, a bullet nor a heading of its own."""
    if last.table or first.table or first.footnote or ends_sentence(last.last_line) or _heading_like(last, width):
        return False
    opening = first.first_line
    if _NUMBERED.match(opening) or opening.startswith(BULLET):
        return False
    if opening[:1].islower():
        return True
    return not _heading_like(first, width) and not last.last_line.endswith(":")


def _tail(parts: list[str], stop) -> str:
    """The end of the text ``parts`` make, back to where ``stop(text)`` holds, without joining
    them all: an item can run to thousands of lines (a report whose sentences never end)."""
    text = ""
    for part in reversed(parts):
        text = part + text
        if stop(text):
            break
    return text


def _render_item(item: list[tuple[str, int]], vocabulary: Vocabulary, offset: int,
                 starts: dict[int, int]) -> str:
    """One item's lines joined; notes in ``starts`` where each page's text begins."""
    parts: list[str] = []
    length = 0
    for line, page in item:
        end = _tail(parts, lambda t: len(t) >= 2)[-2:]
        if not parts:
            piece = line
        elif re.search(r"[A-Za-z]-$", end):  # "investi-" + "gation", "well-" + "matched"
            word = _tail(parts, lambda t: " " in t)
            word = word[word.rfind(" ") + 1:]
            piece = vocabulary.join(word, line)[len(word) - 1:]
            parts, length = _drop_last_char(parts), length - 1
        elif end.endswith("\u00ad"):  # a soft hyphen: the typesetter's, never the author's
            piece = line
            parts, length = _drop_last_char(parts), length - 1
        elif re.search(r"\S[–—]$|\d-$", end):  # "2014–" + "15", "incentives—" + "such"
            piece = line
        else:
            piece = " " + line
        starts.setdefault(page, offset + length + len(piece) - len(line))
        parts.append(piece)
        length += len(piece)
    return "".join(parts)


def _drop_last_char(parts: list[str]) -> list[str]:
    while parts and not parts[-1]:
        parts.pop()
    if parts:
        parts[-1] = parts[-1][:-1]
    return parts


def _join_across_pages(paragraphs: list[Paragraph], page_paras: list[Paragraph], number: int, width: int) -> None:
    """Join page ``number``'s first paragraph to the previous page's last body paragraph when
    it carries it on (see :func:`_continues`). Footnotes at the foot of the previous page are
    stepped over; when the next page starts in lower case, so are headings and tables left
    after the text (margin headings come out last)."""
    if not page_paras:
        return
    lower = page_paras[0].first_line[:1].islower()
    tail = len(paragraphs)
    while tail > 1 and len(paragraphs) - tail < 6 and (paragraphs[tail - 1].footnote or (
            lower and (paragraphs[tail - 1].table or _heading_like(paragraphs[tail - 1], width)))):
        tail -= 1
    if not tail:
        return
    last = paragraphs[tail - 1]
    if last.footnote or last.items[-1][-1][1] != number - 1 or not _continues(last, page_paras[0], width):
        return
    first = page_paras.pop(0)
    last.items[-1].extend(first.items[0])
    last.items.extend(first.items[1:])
    stepped_over = paragraphs[tail:]
    del paragraphs[tail:]
    if last.items[0][0][1] == number - 1:
        # subtle: what was stepped over goes before the joined paragraph, not inside the next
        # page's text, so each keeps its page (unless the paragraph began a page earlier).
        paragraphs[tail - 1:tail - 1] = stepped_over
    else:
        paragraphs.extend(stepped_over)


def assemble(pages: list[list[str]]) -> tuple[str, list[int], dict[str, list[list[int]]]]:
    """The report's text from its cleaned page lines, where each page's text begins, and the
    spans of the paragraphs that are not running text: ``{"footnote": [[start, end], ...],
    "table": [...]}``.

    Paragraphs are separated by a blank line. A page's last paragraph that stops mid-sentence
    is joined to the next page's first when that one carries it on; footnotes at the foot of
    the page then go before the joined paragraph, so every line keeps its own page.
    """
    width = typical_width(pages)
    vocabulary = Vocabulary.of(pages)
    paragraphs: list[Paragraph] = []
    for number, lines in enumerate(pages):
        page_paras = page_paragraphs(lines, number, width)
        _join_across_pages(paragraphs, page_paras, number, width)
        paragraphs.extend(page_paras)

    out: list[str] = []
    starts: dict[int, int] = {}
    kinds: dict[str, list[list[int]]] = {"footnote": [], "table": []}
    offset = 0
    for index, paragraph in enumerate(paragraphs):
        begin = None
        for k, item in enumerate(paragraph.items):
            separator = "\n\n" if index and not k else "\n" if k else ""
            out.append(separator)
            offset += len(separator)
            begin = offset if begin is None else begin
            rendered = _render_item(item, vocabulary, offset, starts)
            out.append(rendered)
            offset += len(rendered)
        kind = "footnote" if paragraph.footnote else "table" if paragraph.table else None
        if kind and begin is not None:
            kinds[kind].append([begin, offset])
    text = "".join(out)
    page_starts, next_start = [], len(text)
    for number in reversed(range(len(pages))):  # a page without text starts where the next does
        next_start = starts.get(number, next_start)
        page_starts.append(next_start)
    page_starts.reverse()
    for i in range(1, len(page_starts)):  # keep them ascending whatever happened above
        page_starts[i] = max(page_starts[i], page_starts[i - 1])
    return text, page_starts, kinds


# "Page 12", "p. iv" opening a running line ("Page i GAO-06-282 Breastfeeding"), or a running
# line ending in its page number ("Inspection of Essex 12").
_PAGE_LEAD = re.compile(r"^(?:page|p\.)\s*(\d{1,4}|[ivxlc]{1,7})\b", re.IGNORECASE)
_PAGE_TAIL = re.compile(r"\s(\d{1,4})$")
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def _roman(text: str) -> int | None:
    values = [_ROMAN[c] for c in text.lower()]
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total if total > 0 else None


def printed_page_numbers(pages: list[list[str]]) -> list[str | None]:
    """The page number each page prints in its running header or footer ("12", "iv"), or None.

    A number among a page's first or last two lines counts when it is the page's place in the
    document plus an offset that at least two pages agree on: numbers that run with the pages,
    not a year or a count in a heading. Roman numbering (the front matter) is judged apart.
    """
    found: list[tuple[int, str, int, bool]] = []  # (page index, as printed, value, roman)
    for number, lines in enumerate(pages):
        for i in _edges(lines, 2):
            line = lines[i].strip()
            bare = _PAGE_NUMBER.match(line) and re.search(r"\d{1,4}|\b[ivxlc]{1,7}\b", line, re.IGNORECASE)
            running = None if bare else _PAGE_LEAD.match(line) or _PAGE_TAIL.search(line)
            if bare or running:
                printed = bare.group(0) if bare else running.group(1)
                roman = not printed.isdigit()
                value = _roman(printed) if roman else int(printed)
                if value:
                    found.append((number, printed, value, roman))
    labels: list[str | None] = [None] * len(pages)
    for roman in (False, True):
        offsets = Counter(value - number for number, value in {(n, v) for n, _, v, r in found if r == roman})
        offset, votes = offsets.most_common(1)[0] if offsets else (0, 0)
        if votes < 2:
            continue
        for number, printed, value, r in found:
            if r == roman and value - number == offset and labels[number] is None:
                labels[number] = printed
    return labels


# Titles that authoring tools put in a PDF's metadata rather than the report's own title.
_TOOL_TITLE = re.compile(
    r"^(microsoft (word|powerpoint|excel)\s*-|untitled|document\d*$|slide\s*\d*$|title$|template)"
    r"|\.(docx?|rtf|odt|pdf|indd|pptx?|xlsx?|txt|qxp|pub)$|\bdraft\b",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(r"\b(dates?|published|inspection dates?)\b\s*:", re.IGNORECASE)


def meaningful_title(title: str | None) -> str | None:
    """A metadata title worth showing, or None: not empty, not a file name or tool default
    ("Microsoft Word - report.docx", "Untitled", "905_Precinct_NoOU"), not a draft template's
    name, more than one word (or, in a script written without spaces, a few letters)."""
    title = " ".join((title or "").split())
    words = len(_WORDS.findall(title))
    if _TOOL_TITLE.search(title) or len(_LETTER.findall(title)) < 4:
        return None
    if title.isascii() and (words < 2 or " " not in title):
        return None
    return title[:200]


def _title_line(text: str) -> bool:
    text = normalise_line(text)
    return (bool(_LETTER.search(text)) and not text.startswith(BULLET) and not _PAGE_NUMBER.match(text)
            and not _DATE_WORDS.search(text) and not find_date(text))


def title_from_page(lines: list[PlacedLine]) -> str | None:
    """The title set on a report's first page: its largest text, top first; when that is only a
    name ("Essex County Council"), followed by the line(s) just below it ("Inspection of ...").
    When no text stands out by size (the largest is running text), or sizes are unknown, the
    first line of a few words that does not end a sentence."""
    candidates = [l for l in lines[:60] if _title_line(l.text)]
    placed = [l for l in candidates if l.y is not None and l.size]
    biggest = max((l.size for l in placed), default=0)
    if not placed or sum(len(l.text.split()) for l in placed if l.size >= biggest - 0.5) > 60:
        for line in candidates[:20]:
            text = normalise_line(line.text)
            if 2 <= len(text.split()) <= 12 and not ends_sentence(text):
                return text
        return None
    placed.sort(key=lambda l: -l.y)  # top of the page first
    first = next(i for i, l in enumerate(placed) if l.size >= biggest - 0.5)
    title_run = _run(placed, first, lambda l: l.size >= biggest - 0.5)
    title = " ".join(normalise_line(l.text) for l in title_run)
    after = first + len(title_run)
    if len(title.split()) <= 4 and after < len(placed):
        below, above = placed[after], title_run[-1]
        if above.y - below.y <= 1.8 * above.size and below.size < biggest - 0.5:
            subtitle = _run(placed, after, lambda l: abs(l.size - below.size) < 0.5)
            title += ": " + " ".join(normalise_line(l.text) for l in subtitle)
    words = title.split()
    return " ".join(words[:30])[:200] if len(words) >= 2 else None


def _run(lines: list[PlacedLine], start: int, same) -> list[PlacedLine]:
    """Lines from ``start`` on, top to bottom, while they match and sit close together."""
    run = [lines[start]]
    for line in lines[start + 1:]:
        if not same(line) or run[-1].y - line.y > 1.5 * line.size or len(" ".join(l.text for l in run).split()) > 25:
            break
        run.append(line)
    return run


_MONTHS = {}
for _number, _name in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                 "september", "october", "november", "december"], start=1):
    _MONTHS[_name] = _MONTHS[_name[:3]] = _number
_MONTHS["sept"] = 9
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")


def find_date(text: str) -> str | None:
    """The first full date written out in ``text`` ("24 May 2016", "March 13, 2008") as
    YYYY-MM-DD, or None."""
    found = [(m.start(), m.group(3), m.group(2), m.group(1)) for m in _DAY_MONTH_YEAR.finditer(text)]
    found += [(m.start(), m.group(3), m.group(1), m.group(2)) for m in _MONTH_DAY_YEAR.finditer(text)]
    for _, year, month, day in sorted(found):
        if month.lower() in _MONTHS:
            try:
                return date(int(year), _MONTHS[month.lower()], int(day)).isoformat()
            except ValueError:
                continue
    return None


def pdf_date(value: str | None) -> str | None:
    """A PDF date ("D:20190103090900+00'00'") as YYYY-MM-DD, or None if it is not a likely one."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})(\d{2})", (value or "").strip())
    if not m:
        return None
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return day.isoformat() if 1980 <= day.year <= date.today().year + 1 else None


def date_from_page(lines: list[str]) -> str | None:
    """A date from a report's first page: one on a "published" line first, else the first one."""
    published = [line for line in lines if re.search(r"publish", line, re.IGNORECASE)]
    for line in published + lines:
        found = find_date(line)
        if found:
            return found
    return None
