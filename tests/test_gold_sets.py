"""The six gold sets asked of one library holding every report they ask about (the seed news
summary, Essex Ofsted 2019, the Post Office Horizon inquiry report, Thurrock Ofsted 2016, the
Hertfordshire SEND inspection 2023, GAO-06-282), with the real model: the figures
`make eval` (`python -m qa eval GOLD... --compare`) prints, held so that a drop fails the build.

The floors are the figures measured when written less 0.02 (README, "Measured figures"); the
issue's targets are higher and are not all met (README says which and why).
"""
import shutil

import pytest

from qa import eval as evaluation
from qa.ask import Asker
from qa.baseline import NaiveRetriever

from conftest import GOLD, ROOT, SEEDS

pytestmark = pytest.mark.slow
DATA = ROOT / "tests" / "data"
SETS = ["seed", "essex-ofsted-2019", "PostOfficeHorizon-IT-Inquiry-Recomm", "thurrock-ofsted-2016",
        "hertfordshire-send-2023", "gao-06-282"]
REAL = SETS[1:]
# set -> (recall@1, recall@3, MRR, first highlight) floors for hybrid: the measured figures less 0.02
FLOORS = {
    "seed": (0.56, 0.72, 0.66, 0.46),
    "essex-ofsted-2019": (0.39, 0.74, 0.57, 0.39),
    "PostOfficeHorizon-IT-Inquiry-Recomm": (0.44, 0.57, 0.52, 0.26),
    "thurrock-ofsted-2016": (0.41, 0.71, 0.56, 0.28),
    "hertfordshire-send-2023": (0.48, 0.71, 0.60, 0.34),
    "gao-06-282": (0.38, 0.58, 0.49, 0.34),
}


@pytest.fixture(scope="module")
def scores(tmp_path_factory, embedder):
    gold = {name: evaluation.read_gold(GOLD / f"{name}.jsonl") for name in SETS}
    named = {g.report for questions in gold.values() for g in questions if g.report}
    lib = tmp_path_factory.mktemp("gold_library")
    for f in [*SEEDS.iterdir(), *(DATA / f"{rid}.pdf" for rid in sorted(named))]:
        shutil.copy(f, lib)
    asker = Asker(lib, tmp_path_factory.mktemp("index"), embedder=embedder)
    asker.sync(progress=False, out=lambda line: None)
    index = asker.loaded()
    naive = NaiveRetriever(index, embedder)
    texts = {rid: index.text(rid) for rid in index.entries}
    out = {}
    for name in SETS:
        out[name] = {r: evaluation.score(evaluation.run(asker, gold[name], retriever=r)) for r in ("hybrid", "dense", "bm25")}
        out[name]["naive"] = evaluation.score(evaluation.run_naive(naive, texts, gold[name]))
        print(f"\n{name}\n{evaluation.table(out[name])}")
    return out


def test_gold_sets_are_as_big_as_the_issue_asks():
    gold = {name: evaluation.read_gold(GOLD / f"{name}.jsonl") for name in SETS}
    for name in ("thurrock-ofsted-2016", "hertfordshire-send-2023", "gao-06-282"):  # the sets issue 9 added
        assert sum(not g.abstain for g in gold[name]) >= 30 and sum(g.abstain for g in gold[name]) >= 8
    assert all(g.report for name in REAL for g in gold[name] if not g.abstain)  # evidence is tied to its report


@pytest.mark.parametrize("name", SETS)
def test_hybrid_holds_its_measured_figures(scores, name):
    s = scores[name]["hybrid"]
    assert all(got >= floor for got, floor in zip((s.recall_at_1, s.recall_at_3, s.mrr, s.highlight_rate), FLOORS[name])), \
        evaluation.report(s)
    # nothing answerable is refused ("not found" for an answerable question is a miss)
    assert s.abstention_precision in (None, 1.0), evaluation.report(s)


@pytest.mark.parametrize("name", SETS)
def test_hybrid_beats_the_naive_baseline_and_dense_alone(scores, name):
    s = scores[name]
    # Measured: +0.14 to +0.25 MRR over naive on five sets; +0.04 on Hertfordshire, whose long
    # multi-topic paragraphs are about the size of the naive 200-word chunks (README).
    assert s["hybrid"].mrr >= s["naive"].mrr + (0.02 if name == "hertfordshire-send-2023" else 0.10), \
        evaluation.table(s)
    assert s["hybrid"].mrr >= s["dense"].mrr - 0.01, evaluation.table(s)


@pytest.mark.parametrize("name", SETS)
def test_low_confidence_warns_more_often_when_the_first_citation_is_wrong(scores, name):
    s = scores[name]["hybrid"]
    assert s.wrong_flagged > s.right_flagged, evaluation.report(s)
