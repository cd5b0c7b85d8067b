"""Scoring answers against a gold question set: pure metrics plus a loop over the questions.

Gold lines (JSON): ``{"q", "evidence": [substrings of an answering passage], "report"?: id,
"page"?: n}`` or ``{"q", "abstain": true}`` for questions the reports do not answer. A retrieved
passage is relevant when it holds one of the evidence substrings (and is in ``report`` and on
``page`` when those are given).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path


class GoldError(ValueError):
    """A gold file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class GoldQuestion:
    q: str
    evidence: list[str] = field(default_factory=list)
    abstain: bool = False
    report: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Outcome:
    """How one gold question fared.

    :param ranks: 1-based ranks of the relevant passages among those retrieved.
    :param highlight_ok: whether the answer's first sentence holds (overlaps) the evidence;
        None when the question was not answered.
    """

    gold: GoldQuestion
    ranks: tuple[int, ...]
    abstained: bool
    top_score: float
    highlight_ok: bool | None = None
    answer: str = ""

    @property
    def rank(self) -> int | None:
        return min(self.ranks) if self.ranks else None


@dataclass
class Scores:
    questions: int
    answerable: int
    out_of_scope: int
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr: float
    ndcg_at_10: float
    abstention_precision: float
    abstention_recall: float
    abstention_accuracy: float
    highlight_rate: float
    misses: list[Outcome]


def read_gold(path: Path) -> list[GoldQuestion]:
    """Parse a gold file; a bad line is reported with its number."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldError(f"{path}: cannot be read ({exc.strerror})") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            g = GoldQuestion(
                q=data["q"], evidence=list(data.get("evidence", [])), abstain=bool(data.get("abstain", False)),
                report=data.get("report"), page=data.get("page"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GoldError(f"{path}:{n}: not a gold line ({exc}); expected {{\"q\", \"evidence\"}} or {{\"q\", \"abstain\": true}}") from exc
        if not g.abstain and not g.evidence:
            raise GoldError(f"{path}:{n}: question has neither evidence nor \"abstain\": true")
        out.append(g)
    return out


def relevant(gold: GoldQuestion, citation) -> bool:
    if gold.report and citation.report != gold.report:
        return False
    if gold.page is not None and citation.page is not None and not (citation.page <= gold.page <= (citation.page_end or citation.page)):
        return False
    return any(e in citation.text for e in gold.evidence)


def highlight_holds_evidence(gold: GoldQuestion, answer) -> bool:
    """Whether the answer's first sentence overlaps an evidence substring in its passage."""
    if not answer.sentences:
        return False
    first = answer.sentences[0]
    citation = answer.citations[first.n - 1]
    if not relevant(gold, citation):
        return False
    for e in gold.evidence:
        at = citation.text.find(e)
        if at >= 0 and at < first.end and first.start < at + len(e):
            return True
    return False


def ndcg(ranks: tuple[int, ...], relevant_count: int, k: int = 10) -> float:
    dcg = sum(1 / math.log2(r + 1) for r in ranks if r <= k)
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(relevant_count, k) + 1))
    return dcg / ideal if ideal else 0.0


def score(outcomes: list[Outcome]) -> Scores:
    answerable = [o for o in outcomes if not o.gold.abstain]
    oos = [o for o in outcomes if o.gold.abstain]
    n = max(len(answerable), 1)
    abstained = [o for o in outcomes if o.abstained]
    answered = [o for o in answerable if not o.abstained]
    misses = [o for o in answerable if o.rank != 1 or o.abstained] + [o for o in oos if not o.abstained]
    return Scores(
        questions=len(outcomes), answerable=len(answerable), out_of_scope=len(oos),
        recall_at_1=sum(o.rank == 1 for o in answerable) / n,
        recall_at_3=sum(o.rank is not None and o.rank <= 3 for o in answerable) / n,
        recall_at_5=sum(o.rank is not None and o.rank <= 5 for o in answerable) / n,
        mrr=sum(1 / o.rank for o in answerable if o.rank) / n,
        ndcg_at_10=sum(ndcg(o.ranks, len(o.gold.evidence)) for o in answerable) / n,
        abstention_precision=sum(o.gold.abstain for o in abstained) / len(abstained) if abstained else 1.0,
        abstention_recall=sum(o.abstained for o in oos) / len(oos) if oos else 1.0,
        abstention_accuracy=sum(o.abstained == o.gold.abstain for o in outcomes) / max(len(outcomes), 1),
        highlight_rate=sum(bool(o.highlight_ok) for o in answered) / len(answered) if answered else 0.0,
        misses=misses,
    )


def calibrate(outcomes: list[Outcome]) -> tuple[float, float]:
    """The abstention threshold that classifies the gold set best by top score: among the cuts
    with the highest accuracy, the one farthest from any question's score. Returns
    (threshold, accuracy)."""
    points = sorted({round(o.top_score, 4) for o in outcomes})
    candidates = [(a + b) / 2 for a, b in zip(points, points[1:])] or [0.5]

    def accuracy(t: float) -> float:
        return sum((o.top_score < t) == o.gold.abstain for o in outcomes) / len(outcomes)

    def room(t: float) -> float:
        return min(abs(t - o.top_score) for o in outcomes)

    best = max(accuracy(t) for t in candidates)
    return max((t for t in candidates if accuracy(t) == best), key=room), best


def run(asker, gold: list[GoldQuestion], k: int = 10, retriever: str | None = None) -> list[Outcome]:
    """Ask every gold question; ranks are over the top ``k`` passages."""
    outcomes = []
    for g in gold:
        answer = asker.ask(g.q, top_k=k, retriever=retriever)  # across the whole library, as a reader asks
        ranks = tuple(c.n for c in answer.citations if relevant(g, c)) if not g.abstain else ()
        top = answer.citations[0].score if answer.citations else 0.0
        ok = None if g.abstain or answer.abstained else highlight_holds_evidence(g, answer)
        outcomes.append(Outcome(g, ranks, answer.abstained, top, ok, answer.answer))
    return outcomes


def report(scores: Scores) -> str:
    lines = [
        f"questions {scores.questions} ({scores.answerable} answerable, {scores.out_of_scope} out of scope)",
        f"recall@1 {scores.recall_at_1:.3f}   recall@3 {scores.recall_at_3:.3f}   recall@5 {scores.recall_at_5:.3f}   "
        f"MRR {scores.mrr:.3f}   nDCG@10 {scores.ndcg_at_10:.3f}",
        f"abstention precision {scores.abstention_precision:.3f}   recall {scores.abstention_recall:.3f}   "
        f"accuracy {scores.abstention_accuracy:.3f}   first highlight holds the evidence {scores.highlight_rate:.3f}",
    ]
    if scores.misses:
        lines.append("misses:")
        for o in scores.misses:
            if o.gold.abstain:
                what = f"answered (top score {o.top_score:.3f}) but should abstain"
            elif o.abstained:
                what = f"abstained (top score {o.top_score:.3f}); evidence at rank {o.rank}"
            else:
                what = f"evidence at rank {o.rank}"
            lines.append(f"  - {o.gold.q!r}: {what}")
    return "\n".join(lines)


COLUMNS = ("recall_at_1", "recall_at_3", "recall_at_5", "mrr", "ndcg_at_10", "abstention_precision",
           "abstention_recall", "highlight_rate")
HEADERS = ("R@1", "R@3", "R@5", "MRR", "nDCG@10", "abst P", "abst R", "highlight")


def table(rows: dict[str, Scores]) -> str:
    """One line per retriever, as a Markdown table."""
    lines = ["| retriever | " + " | ".join(HEADERS) + " |", "|---" * (len(HEADERS) + 1) + "|"]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{getattr(s, c):.3f}" for c in COLUMNS) + " |")
    return "\n".join(lines)
