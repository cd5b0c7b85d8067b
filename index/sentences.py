"""Sentence boundaries as character spans: pure functions over strings.

Used to split paragraphs too long for the model and, in ``qa``, to pick answer sentences.
Spans (not strings) are returned so every sentence maps back to the report's text exactly.
"""
from __future__ import annotations

import re

# A full stop after one of these words does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "no", "nos", "vs", "v", "etc", "cf", "fig", "para",
    "paras", "p", "pp", "ch", "sec", "e.g", "i.e", "inc", "ltd", "co", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "govt", "dept",
}

# End punctuation, any closing quotes or brackets, then whitespace, then a likely sentence start.
# A footnote reference set after the full stop of a word ("to do so.35 Accordingly", as PDF
# extraction gives a raised "35") stays with its sentence, which ends after it; a decimal number
# ("rose 2.5 Million") does not end one, as a digit comes before its point.
_AFTER_WORD = r"(?:(?<=[^\W\d_][.!?])|(?<=[^\W\d_][.!?][\"'”’)\]])|(?<=[^\W\d_][\"'”’)\]][.!?]))"
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*(?:" + _AFTER_WORD + r"\d{1,3})?(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _ends_sentence(text: str, block_start: int, dot: int) -> bool:
    """Whether the punctuation at ``dot`` closes a sentence (not an abbreviation or a "4." stub)."""
    if text[dot] != ".":
        return True
    word_start = dot
    while word_start > block_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lower().lstrip("(\"'“‘")
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
        return False
    # "4." opening a paragraph is its number, not a sentence.
    if word.isdigit() and not text[block_start:word_start].strip():
        return False
    return True


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans within ``text[start:end]``, trimmed of surrounding whitespace.

    Blank lines always end a sentence (a heading joined to its paragraph stays its own sentence).
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    block_start = start
    for block in [*_BLANK_LINE.finditer(text, start, end), None]:
        block_end = block.start() if block else end
        sentence_start = block_start
        for m in _BOUNDARY.finditer(text, block_start, block_end):
            dot = m.start()
            if _ends_sentence(text, sentence_start, dot):
                span = _trim(text, sentence_start, m.end())
                if span[0] < span[1]:
                    spans.append(span)
                sentence_start = m.end()
        span = _trim(text, sentence_start, block_end)
        if span[0] < span[1]:
            spans.append(span)
        block_start = block.end() if block else end
    return spans
