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

from index.chunk import is_note, set_line_by_line


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
    low_confidence: bool = False

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
    abstention_precision: float | None  # None when nothing abstained
    abstention_recall: float
    abstention_accuracy: float
    highlight_rate: float | None  # None for a retriever that highlights nothing (naive)
    misses: list[Outcome]
    # "Not found" or "low confidence" counted together as a warning to the reader:
    flagged_precision: float | None = None  # share of warned questions that are out of scope
    flagged_recall: float = 0.0  # share of out-of-scope questions warned about
    wrong_flagged: float | None = None  # share of answered questions whose first citation is wrong that are warned
    right_flagged: float | None = None  # share of answered questions whose first citation is right that are warned


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
    flagged = [o for o in outcomes if o.abstained or o.low_confidence]
    return Scores(
        questions=len(outcomes), answerable=len(answerable), out_of_scope=len(oos),
        recall_at_1=sum(o.rank == 1 for o in answerable) / n,
        recall_at_3=sum(o.rank is not None and o.rank <= 3 for o in answerable) / n,
        recall_at_5=sum(o.rank is not None and o.rank <= 5 for o in answerable) / n,
        mrr=sum(1 / o.rank for o in answerable if o.rank) / n,
        ndcg_at_10=sum(ndcg(o.ranks, len(o.gold.evidence)) for o in answerable) / n,
        abstention_precision=sum(o.gold.abstain for o in abstained) / len(abstained) if abstained else None,
        abstention_recall=sum(o.abstained for o in oos) / len(oos) if oos else 1.0,
        abstention_accuracy=sum(o.abstained == o.gold.abstain for o in outcomes) / max(len(outcomes), 1),
        highlight_rate=(sum(bool(o.highlight_ok) for o in answered) / len(answered)
                        if any(o.highlight_ok is not None for o in answered) else None),
        misses=misses,
        flagged_precision=sum(o.gold.abstain for o in flagged) / len(flagged) if flagged else None,
        flagged_recall=sum(o.abstained or o.low_confidence for o in oos) / len(oos) if oos else 1.0,
        wrong_flagged=_share(lambda o: o.low_confidence, [o for o in answered if o.rank != 1]),
        right_flagged=_share(lambda o: o.low_confidence, [o for o in answered if o.rank == 1]),
    )


def _share(test, outcomes: list) -> float | None:
    return sum(bool(test(o)) for o in outcomes) / len(outcomes) if outcomes else None


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


def run(asker, gold: list[GoldQuestion], k: int = 10, retriever: str | None = None, scoped: bool = False) -> list[Outcome]:
    """Ask every gold question; ranks are over the top ``k`` passages.

    :param scoped: ask a question tied to a report of that report only, as a reader who chose it
        under "Search only these reports" (otherwise across the whole library, as a reader asks).
    """
    outcomes = []
    for g in gold:
        answer = asker.ask(g.q, top_k=k, retriever=retriever, reports=[g.report] if scoped and g.report else None)
        ranks = tuple(c.n for c in answer.citations if relevant(g, c)) if not g.abstain else ()
        top = max((c.score for c in answer.citations), default=0.0)  # what "not found" reads
        ok = None if g.abstain or answer.abstained else highlight_holds_evidence(g, answer)
        outcomes.append(Outcome(g, ranks, answer.abstained, top, ok, answer.answer, answer.low_confidence))
    return outcomes


def report(scores: Scores) -> str:
    lines = [
        f"questions {scores.questions} ({scores.answerable} answerable, {scores.out_of_scope} out of scope)",
        f"recall@1 {scores.recall_at_1:.3f}   recall@3 {scores.recall_at_3:.3f}   recall@5 {scores.recall_at_5:.3f}   "
        f"MRR {scores.mrr:.3f}   nDCG@10 {scores.ndcg_at_10:.3f}",
        f"abstention precision {_figure(scores.abstention_precision)}   recall {scores.abstention_recall:.3f}   "
        f"accuracy {scores.abstention_accuracy:.3f}   first highlight holds the evidence {_figure(scores.highlight_rate)}",
        f"not found or low confidence: precision {_figure(scores.flagged_precision)}   recall {scores.flagged_recall:.3f}   "
        f"of wrong first citations {_figure(scores.wrong_flagged)}   of right ones {_figure(scores.right_flagged)}",
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
           "abstention_recall", "flagged_precision", "flagged_recall", "highlight_rate")
HEADERS = ("R@1", "R@3", "R@5", "MRR", "nDCG@10", "abst P", "abst R", "warn P", "warn R", "highlight")


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(rows: dict[str, Scores]) -> str:
    """One line per retriever, as a Markdown table ("–" where a figure does not apply)."""
    lines = ["| retriever | " + " | ".join(HEADERS) + " |", "|---" * (len(HEADERS) + 1) + "|"]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(_figure(getattr(s, c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def chunk_holds_evidence(gold: GoldQuestion, chunk, report_text: str) -> bool:
    """Whether a naive chunk holds (at least half of) an occurrence of the evidence: generous
    to the baseline, whose fixed cuts may fall inside an evidence string."""
    if gold.report and chunk.report != gold.report:
        return False
    if gold.page is not None and chunk.page is not None and not (chunk.page <= gold.page <= (chunk.page_end or chunk.page)):
        return False
    for e in gold.evidence:
        lo = max(0, chunk.start - len(e))
        at = report_text.find(e, lo)
        while 0 <= at < chunk.end:
            if min(at + len(e), chunk.end) - max(at, chunk.start) >= len(e) / 2:
                return True
            at = report_text.find(e, at + 1)
    return False


def run_naive(naive, texts: dict[str, str], gold: list[GoldQuestion], k: int = 10) -> list[Outcome]:
    """Ask every gold question of the naive baseline (qa.baseline): ranks over its top ``k``
    chunks; it never abstains and highlights nothing."""
    outcomes = []
    for g in gold:
        found = naive.search(g.q, k)
        ranks = () if g.abstain else tuple(
            n for n, (c, _) in enumerate(found, start=1) if chunk_holds_evidence(g, c, texts[c.report]))
        outcomes.append(Outcome(g, ranks, False, found[0][1] if found else 0.0, None, ""))
    return outcomes


# Why the right passage was not cited first, in the order they are checked (see diagnose).
CAUSES = (
    "not a passage",        # no passage holds the evidence whole: reading or chunking cut it
    "another report",       # a passage of another report was cited first
    "table",                # the answer is in a table or list (one short line per row)
    "footnote mixed in",    # footnote text inside the passage, or a footnote cited above it
    "too long or cut",      # a paragraph split for the model, or near the model's limit
    "heading stub above",   # a heading-only passage outranked it
    "other words",          # none of those: the question is put in other words than the passage
)
@dataclass
class Miss:
    """One answerable question whose evidence was not cited first, and what the index shows.

    :param ranks: retriever -> 1-based rank of the first relevant passage among its top 50 (None:
        not among them); "answer" is the rank among the answer's citations.
    :param above: the passages ranked above it in the answer: "report#paragraph p.N: first words".
    """

    gold: GoldQuestion
    ranks: dict[str, int | None]
    passage: str | None = None  # id of the relevant passage
    tokens: int | None = None
    page: int | None = None
    above: list[str] = field(default_factory=list)
    cause: str = "other words"


def _holds_note(text: str) -> bool:
    """Whether a passage starts with, or holds, a line that is a footnote (index.chunk.is_note)."""
    return any(is_note(line) for line in text.split("\n"))


def diagnose(asker, outcome: Outcome, depth: int = 50) -> Miss:
    """Where each retriever put the right passage for a missed question, and the likely cause."""
    g = outcome.gold
    index = asker.loaded()
    ranks: dict[str, int | None] = {}
    for retriever in ("dense", "bm25", "hybrid"):
        hits, _ = asker.retrieve(g.q, depth, retriever=retriever)
        ranks[retriever] = next((n for n, h in enumerate(hits, start=1) if relevant(g, h.passage)), None)
    ranks["answer"] = outcome.rank
    answer = asker.ask(g.q, top_k=10)
    right = [p for p in index.passages.values() if relevant(g, p)]
    miss = Miss(g, ranks)
    shown = answer.citations[: (outcome.rank or 4) - 1]
    miss.above = [f"{c.report}#{c.paragraph} p.{c.page}: {' '.join(c.text.split())[:70]}" for c in shown]
    if not right:
        miss.cause = "not a passage"
        return miss
    p = right[0]
    miss.passage, miss.page, miss.tokens = p.id, p.page, asker.embedder.count_tokens(p.text)
    siblings = [q for q in index.passages.values() if q.report == p.report and q.paragraph == p.paragraph]
    cited_above = {(c.report, c.start) for c in shown}
    above = [q for q in index.passages.values() if (q.report, q.start) in cited_above]
    if g.report and shown and shown[0].report != g.report:
        miss.cause = "another report"
    elif getattr(p, "kind", None) == "table" or set_line_by_line(p.text):
        miss.cause = "table"
    elif _holds_note(p.text) or any(getattr(q, "kind", None) in ("footnote", "reference") or _holds_note(q.text) for q in above):
        miss.cause = "footnote mixed in"
    elif len(siblings) > 1 or miss.tokens >= 0.8 * index.manifest.max_tokens:
        miss.cause = "too long or cut"
    elif any(len(c.text.split()) <= 12 for c in shown):
        miss.cause = "heading stub above"
    return miss


def misses_report(misses: list[Miss]) -> str:
    """Each miss with its ranks, passage, length and what ranked above it; then counts by cause."""
    lines = []
    for m in misses:
        ranks = "  ".join(f"{r} {'-' if n is None else n}" for r, n in m.ranks.items())
        lines.append(f"- {m.gold.q!r} [{m.cause}]")
        lines.append(f"    ranks: {ranks}   passage {m.passage} p.{m.page}, {m.tokens} word pieces")
        lines.extend(f"    above: {a}" for a in m.above)
    counts = {c: sum(m.cause == c for m in misses) for c in CAUSES}
    lines.append("misses by cause: " + ", ".join(f"{c} {n}" for c, n in counts.items() if n) if misses else "no misses")
    return "\n".join(lines)
