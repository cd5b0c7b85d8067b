"""The second stage: candidates from the dense and lexical searches reordered by more evidence
than one cosine. Pure functions over numbers; :mod:`qa.retrieve` gathers the evidence.

A candidate's score is::

    minmax(dense + PRIOR * prior) + LEXICAL * coverage**2 * bm25 / best_bm25
        + PROXIMITY * proximity - FOOTNOTE * is_footnote - HEADING * is_heading

- ``dense``: the passage's similarity to the question, mixing the passage embedded alone, the
  passage embedded with the headings it sits under, and its best sentence (see Evidence);
- ``prior``: the question's similarity to the passage's report (its title and kind), so that
  "Does Essex have enough CID officers?" looks in the police report first;
- ``bm25``: BM25 over the passage with its report's title and its headings; ``coverage`` how
  much of the question (IDF-weighted) the best BM25 passage holds, so a question in the reports'
  own words leans on BM25 and a paraphrase on the model;
- ``proximity``: the IDF-weighted share of the question's terms that the passage's best sentence
  holds together;
- footnotes, reference-list entries and heading-only stubs: marked by the reader and the
  chunker, so they can be weighed down.

The weights were fitted on the developers' gold sets, leaving each set out in turn
(``bench/fit_rerank.py`` prints the fitted and the held-out figures; README, "Retrieval").
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    """What is known about one candidate passage for one question.

    :param dense: mixed cosine similarity (0..1 in practice), the passage's ``score``.
    :param bm25: its BM25 score (0 when BM25 did not find it).
    :param prior: the question's similarity to the passage's report.
    :param proximity: IDF-weighted share of the question's terms in its best sentence (0..1).
    :param footnote: the passage is footnote text or a reference-list entry.
    :param heading: the passage is a heading with no text after it.
    """

    dense: float
    bm25: float = 0.0
    prior: float = 0.0
    proximity: float = 0.0
    footnote: bool = False
    heading: bool = False


@dataclass(frozen=True)
class Weights:
    """How much each kind of evidence counts (see the module's formula)."""

    prior: float = 0.2
    lexical: float = 1.5
    proximity: float = 0.0
    footnote: float = 0.2
    heading: float = 0.0

    def __post_init__(self):
        for name in ("prior", "lexical", "proximity", "footnote", "heading"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} weight must be at least 0. Currently, it is {getattr(self, name)}")


WEIGHTS = Weights()


def rerank(evidence: dict[int, Evidence], coverage: float, weights: Weights = WEIGHTS) -> dict[int, float]:
    """Each candidate's score, higher first.

    :param evidence: key -> what is known of that candidate.
    :param coverage: 0..1, how much of the question the best BM25 passage holds.
    """
    if not evidence:
        return {}
    ranked = {k: e.dense + weights.prior * e.prior for k, e in evidence.items()}
    low, high = min(ranked.values()), max(ranked.values())
    spread = (high - low) or 1.0
    best = max((e.bm25 for e in evidence.values()), default=0.0)
    lexical = weights.lexical * coverage**2 / best if best > 0 else 0.0
    return {
        k: (ranked[k] - low) / spread + lexical * e.bm25 + weights.proximity * e.proximity
        - weights.footnote * e.footnote - weights.heading * e.heading
        for k, e in evidence.items()
    }
