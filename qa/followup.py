"""Follow-up questions in a chat: pure functions over the question, the previous one, and the
reports' metadata.

"and what about domestic abuse?" is asked with the previous question's topic in mind; "what did
the 2019 report say?" keeps the previous topic and narrows the search to the 2019 report.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9’']+")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
# Openings that mark a question as leaning on the one before it.
_LEANING = re.compile(
    r"^(and|also|but|so|what about|how about|and what about|what of|same for|and how|and why|"
    r"what else|anything else|tell me more|more on|why|how come|is that|are they|does it|do they|"
    r"what did (it|they|the \w+ report|that report) say)\b",
    re.IGNORECASE,
)
_BACK_REFERENCES = {"it", "they", "them", "that", "this", "those", "these", "there", "its", "their", "he", "she"}
_FUNCTION_WORDS = {
    "a", "an", "the", "and", "or", "but", "so", "what", "about", "how", "did", "does", "do", "is", "are", "was",
    "were", "say", "said", "report", "reports", "of", "in", "on", "for", "to", "with", "also", "else", "more",
    "tell", "me", "why", "come", "any", "anything", "there", "that", "this", "it", "they", "them", "those",
    "these", "its", "their", "same", "year", "inspection", "inspectors",
}


def content_words(text: str) -> list[str]:
    return [w for w in (x.lower() for x in _WORD.findall(text)) if w not in _FUNCTION_WORDS and not _YEAR.fullmatch(w)]


def leans_on_previous(question: str) -> bool:
    """Whether a question only makes sense with the one before it."""
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    if _LEANING.match(question.strip()):
        return True
    if len(content_words(question)) == 0:
        return True  # "what did the 2019 report say?"
    return len(words) <= 6 and any(w in _BACK_REFERENCES for w in words)


def retrieval_query(question: str, previous: str | None) -> str:
    """The text to search with: the question, joined to the previous one when it leans on it."""
    if previous and leans_on_previous(question):
        return f"{previous} {question}"
    return question


def mentioned_reports(question: str, reports: list) -> set[str]:
    """Ids of reports a question names by year ("the 2019 report") when that narrows things down.

    :param reports: index.passage.Report records.
    """
    years = {m.group(0) for m in _YEAR.finditer(question)}
    if not years or "report" not in question.lower():
        return set()
    found = {r.id for r in reports if any(y in f"{r.date or ''} {r.id} {r.title}" for y in years)}
    return found if 0 < len(found) < len(reports) else set()
