"""The naive baseline that ``eval --compare`` measures the design against: fixed 200-word chunks,
dense only, no fusion, no reranking, no sentence choice, the way most retrieval demos work.

It reads the same reports as the index (the text the index holds, so the comparison is about
passages and retrieval, not PDF reading) and embeds its chunks with the same model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.passage import ReportText
from index.vectors import VectorIndex

CHUNK_WORDS = 200
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A fixed-size run of words of one report; offsets index the report's text."""

    report: str
    start: int
    end: int
    text: str
    page: int | None
    page_end: int | None


def fixed_chunks(report: str, text: ReportText, words: int = CHUNK_WORDS) -> list[Chunk]:
    """``text`` cut into consecutive runs of ``words`` whitespace-separated words (no overlap)."""
    if words <= 0:
        raise ValueError(f"words must be greater than 0. Currently, words is {words}")
    spans = [m.span() for m in _WORD.finditer(text.text)]
    chunks = []
    for i in range(0, len(spans), words):
        start, end = spans[i][0], spans[min(i + words, len(spans)) - 1][1]
        chunks.append(Chunk(report, start, end, text.text[start:end], text.page_at(start), text.page_at(end - 1)))
    return chunks


class NaiveRetriever:
    """Fixed chunks of every report in a loaded index, embedded once, searched by cosine.

    :param index: a :class:`index.store.LoadedIndex` (its reports' texts and pages are read).
    :param embedder: anything with ``encode(texts) -> unit vectors``.
    """

    def __init__(self, index, embedder, words: int = CHUNK_WORDS):
        self.chunks: list[Chunk] = []
        for rid, entry in index.entries.items():
            text = ReportText(index.text(rid), entry.report.page_starts)
            self.chunks.extend(fixed_chunks(rid, text, words))
        self._embedder = embedder
        self._vectors = VectorIndex(embedder.dimension)
        self._vectors.add(np.arange(len(self.chunks)), embedder.encode([c.text for c in self.chunks]))

    def search(self, question: str, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` chunks nearest the question, best first, with their cosine."""
        ids, scores = self._vectors.search(self._embedder.encode_question(question), k)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(ids, scores)]
