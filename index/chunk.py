"""Report text -> passages a reader can find: pure functions over strings.

A passage is a paragraph (a block between blank lines). Headings, numbered stubs ("4.") and
lead-ins ending in a colon are joined to the paragraph they introduce; web-page furniture
(comment forms, share buttons, "More articles") is dropped by general rules; a paragraph
repeated within a report is kept once; a paragraph longer than the model reads is split at
sentence boundaries. Offsets always index the report's text exactly.
"""
from __future__ import annotations

import re
from typing import Callable

from index.passage import Passage, ReportText
from index.sentences import split_sentences

# Bump when reading or chunking changes what passages a report gives: the manifest records it, and an
# index built with another version is rebuilt rather than mixed.
CHUNKER_VERSION = "4"

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


def own_number(block: str) -> str | None:
    """The report's own paragraph number ("13" for "13. The force ..."), if it has one."""
    m = _OWN_NUMBER.match(block)
    return m.group(1) if m else None


def _dedup_key(body: str) -> str:
    body = _OWN_NUMBER.sub("", body, count=1)
    return " ".join(w.lower() for w in _WORD.findall(body))


def paragraphs(text: str) -> list[tuple[int, int, str | None]]:
    """Paragraph spans with their own numbers, after joining introducers and dropping
    furniture and repeats."""
    result: list[tuple[int, int, str | None]] = []
    seen: set[str] = set()
    pending: list[tuple[int, int]] = []  # introducers waiting for their paragraph
    kept = [(s, e) for s, e in blocks(text) if not is_furniture(text[s:e])]
    for i, (start, end) in enumerate(kept):
        block = text[start:end]
        last = i == len(kept) - 1
        if introduces_next(block) and not last:
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
    passages = []
    for paragraph, (start, end, number) in enumerate(paragraphs(text), start=1):
        for part, (s, e) in enumerate(_split_long(text, start, end, max_tokens, count_tokens), start=1):
            passages.append(
                Passage(
                    report=report_id, paragraph=paragraph, part=part, number=number,
                    start=s, end=e, text=text[s:e],
                    page=report.page_at(s), page_end=report.page_at(max(s, e - 1)),
                    sentences=tuple((a - s, b - s) for a, b in split_sentences(text, s, e)),
                )
            )
    return passages
