"""What asking returns: an answer made of the reports' own sentences, and its citations."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Citation:
    """One cited passage: enough for a reader to find and check it in the report.

    :param n: the citation's number, as in the answer's ``[n]`` markers (1 = best).
    :param report: the report's id (its file name without extension).
    :param title: the report's title.
    :param source: the report file's path.
    :param page: first page the passage is on (PDFs), ``None`` for text files.
    :param page_end: last page the passage is on (``None`` for text files).
    :param paragraph: the paragraph's position in the report (1 = first paragraph).
    :param number: the report's own paragraph number ("13") when it numbers them.
    :param start: character offset of the passage in the report's text.
    :param end: character offset just past the passage.
    :param text: the passage, word for word (``report_text[start:end]``).
    :param score: the passage's similarity to the question (mixed cosine, see qa.retrieve.Hit):
        what "not found" and "low confidence" read. Citations are in retrieval order, which for
        hybrid also weighs BM25, so scores need not descend.
    :param highlights: ``[start, end]`` spans of the answer sentences within ``text``.
    :param also_in: the same passage found in other reports (e.g. a news summary quoting the
        original): ``{"report", "title", "source", "paragraph", "page"}`` each.
    """

    n: int
    report: str
    title: str
    source: str
    page: int | None
    page_end: int | None
    paragraph: int
    number: str | None
    start: int
    end: int
    text: str
    score: float
    highlights: list[list[int]] = field(default_factory=list)
    also_in: list[dict] = field(default_factory=list)

    def also_in_text(self) -> str:
        """Where else the passage is, for people: "Title, paragraph 856, p. 138; ..."."""
        return "; ".join(
            f"{o.get('title') or o.get('report')}, paragraph {o.get('paragraph')}"
            + (f", p. {o['page']}" if o.get("page") is not None else "")
            for o in self.also_in
        )


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, in answer order: which citation it comes from and where.

    :param n: the citation's number.
    :param start: offset of the sentence within that citation's ``text``.
    """

    n: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    :param answer: the answer text: report sentences word for word, each followed by ``[n]``;
        or the not-found message when ``abstained``.
    :param abstained: True when the indexed reports do not cover the question; the citations
        are then the nearest passages, marked ``low_confidence``.
    :param low_confidence_reason: why the answer is low confidence: "weak" (the best passage
        matches the question weakly) or "disagree" (the two best passages are about equally good
        and are different evidence: the answer quotes both); None when it is not.
    """

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    low_confidence: bool = False
    sentences: list[AnswerSentence] = field(default_factory=list)
    low_confidence_reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)
