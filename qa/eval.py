"""Scoring answers against a gold question set: pure metrics plus a loop over the questions.

Gold lines (JSON): ``{"q": ..., "evidence": [substrings of the answering passage]}`` or
``{"q": ..., "abstain": true}`` for questions the reports do not answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class GoldQuestion:
    q: str
    evidence: list[str] = field(default_factory=list)
    abstain: bool = False
    report: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How one gold question fared: the rank of the first passage holding its evidence (1 = top,
    None = not in the results), whether the tool abstained, and the top score."""

    gold: GoldQuestion
    rank: int | None
    abstained: bool
    top_score: float
    answer: str = ""


@dataclass
class Scores:
    questions: int
    answerable: int
    out_of_scope: int
    recall_at_1: float
    recall_at_3: float
    mrr: float
    abstention_accuracy: float
    misses: list[Outcome]


def read_gold(path: Path) -> list[GoldQuestion]:
    """Parse a gold file; a bad line is reported with its number."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            g = GoldQuestion(
                q=data["q"], evidence=list(data.get("evidence", [])), abstain=bool(data.get("abstain", False)),
                report=data.get("report"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a gold line ({exc}); expected {{\"q\", \"evidence\"}} or {{\"q\", \"abstain\": true}}") from exc
        if not g.abstain and not g.evidence:
            raise ValueError(f"{path}:{n}: question has neither evidence nor \"abstain\": true")
        out.append(g)
    return out


def evidence_rank(gold: GoldQuestion, texts: list[str]) -> int | None:
    """1-based rank of the first text holding any of the evidence substrings."""
    for rank, text in enumerate(texts, start=1):
        if any(e in text for e in gold.evidence):
            return rank
    return None


def score(outcomes: list[Outcome]) -> Scores:
    answerable = [o for o in outcomes if not o.gold.abstain]
    oos = [o for o in outcomes if o.gold.abstain]
    n = max(len(answerable), 1)
    correct_abstention = sum(o.abstained == o.gold.abstain for o in outcomes)
    misses = [o for o in answerable if o.rank != 1 or o.abstained] + [o for o in oos if not o.abstained]
    return Scores(
        questions=len(outcomes), answerable=len(answerable), out_of_scope=len(oos),
        recall_at_1=sum(o.rank == 1 for o in answerable) / n,
        recall_at_3=sum(o.rank is not None and o.rank <= 3 for o in answerable) / n,
        mrr=sum(1 / o.rank for o in answerable if o.rank) / n,
        abstention_accuracy=correct_abstention / max(len(outcomes), 1),
        misses=misses,
    )


def calibrate(outcomes: list[Outcome]) -> tuple[float, float]:
    """The abstention threshold that classifies the gold set best by top score: the midpoint of
    the widest gap among the thresholds with the highest accuracy. Returns (threshold, accuracy)."""
    points = sorted({round(o.top_score, 4) for o in outcomes})
    candidates = [(a + b) / 2 for a, b in zip(points, points[1:])] or [0.5]
    def accuracy(t: float) -> float:
        return sum((o.top_score < t) == o.gold.abstain for o in outcomes) / len(outcomes)
    best = max(accuracy(t) for t in candidates)
    good = [t for t in candidates if accuracy(t) == best]
    # Among equally accurate thresholds, take the one with the most room on both sides.
    def room(t: float) -> float:
        return min(abs(t - o.top_score) for o in outcomes)
    return max(good, key=room), best


def run(asker, gold: list[GoldQuestion], k: int = 10) -> list[Outcome]:
    """Ask every gold question; ranks are over the top ``k`` passages."""
    outcomes = []
    for g in gold:
        answer = asker.ask(g.q, top_k=k, reports=[g.report] if g.report else None)
        rank = evidence_rank(g, [c.text for c in answer.citations]) if not g.abstain else None
        top = answer.citations[0].score if answer.citations else 0.0
        outcomes.append(Outcome(g, rank, answer.abstained, top, answer.answer))
    return outcomes


def report(scores: Scores) -> str:
    lines = [
        f"questions {scores.questions} ({scores.answerable} answerable, {scores.out_of_scope} out of scope)",
        f"recall@1 {scores.recall_at_1:.3f}   recall@3 {scores.recall_at_3:.3f}   MRR {scores.mrr:.3f}   "
        f"abstention accuracy {scores.abstention_accuracy:.3f}",
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
