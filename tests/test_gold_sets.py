"""The three gold sets asked of one library holding all three reports (the seed news summary,
the Essex Ofsted 2019 inspection, the Post Office Horizon inquiry report), with the real model:
the figures `python -m qa eval GOLD --compare` prints, held so that a drop fails the build.

Measured when written (hybrid, the default; R@1 / R@3 / MRR / first highlight holds evidence):
seed 0.633 / 0.785 / 0.732 / 0.532, Ofsted 0.706 / 0.824 / 0.773 / 0.559, Post Office
0.438 / 0.562 / 0.518 / 0.281. The issue's targets (seed R@1 >= 0.90, R@3 = 1.00, MRR >= 0.93,
real sets R@3 >= 0.95, abstention precision and recall >= 0.90, highlight >= 0.90) are not met
with all-MiniLM-L6-v2: see the README.
"""
import shutil

import pytest

from qa import eval as evaluation
from qa.ask import Asker

from conftest import GOLD, ROOT, SEEDS

pytestmark = pytest.mark.slow
DATA = ROOT / "tests" / "data"
REPORTS = [DATA / "80468_essex__ilacs_07-january-2019.pdf", DATA / "PostOfficeHorizon-IT-Inquiry-Recomm.pdf"]
SETS = ["seed", "essex-ofsted-2019", "PostOfficeHorizon-IT-Inquiry-Recomm"]
# set -> (recall@1, recall@3, MRR, highlight) floors for hybrid: the measured figures less 0.02
FLOORS = {
    "seed": (0.61, 0.76, 0.71, 0.51),
    "essex-ofsted-2019": (0.68, 0.80, 0.75, 0.53),
    "PostOfficeHorizon-IT-Inquiry-Recomm": (0.41, 0.54, 0.49, 0.25),
}


@pytest.fixture(scope="module")
def scores(tmp_path_factory, embedder):
    lib = tmp_path_factory.mktemp("three_reports")
    for f in [*SEEDS.iterdir(), *REPORTS]:
        shutil.copy(f, lib)
    asker = Asker(lib, tmp_path_factory.mktemp("index"), embedder=embedder)
    asker.sync(progress=False, out=lambda line: None)
    out = {}
    for name in SETS:
        gold = evaluation.read_gold(GOLD / f"{name}.jsonl")
        out[name] = {r: evaluation.score(evaluation.run(asker, gold, retriever=r)) for r in ("hybrid", "dense", "bm25")}
        print(f"\n{name}\n{evaluation.table(out[name])}")
    return out


def test_gold_sets_are_as_big_as_the_issue_asks():
    gold = {name: evaluation.read_gold(GOLD / f"{name}.jsonl") for name in SETS}
    assert sum(not g.abstain for g in gold["seed"]) >= 40
    real = [g for name in SETS[1:] for g in gold[name]]
    assert sum(not g.abstain for g in real) >= 40 and all(sum(not g.abstain for g in gold[n]) >= 20 for n in SETS[1:])
    assert sum(g.abstain for name in SETS for g in gold[name]) >= 15
    assert all(g.report for g in real if not g.abstain)  # evidence is tied to its report


@pytest.mark.parametrize("name", SETS)
def test_hybrid_holds_its_measured_figures(scores, name):
    s = scores[name]["hybrid"]
    assert all(got >= floor for got, floor in zip((s.recall_at_1, s.recall_at_3, s.mrr, s.highlight_rate), FLOORS[name])), \
        evaluation.report(s)
    assert s.abstention_precision >= 0.9 and s.abstention_recall >= 0.1


@pytest.mark.parametrize("name", SETS)
def test_hybrid_beats_dense_only_on_mrr(scores, name):
    assert scores[name]["hybrid"].mrr > scores[name]["dense"].mrr


def test_hybrid_beats_bm25_only_on_mrr_and_ties_it_on_ofsted(scores):
    for name in ("seed", "PostOfficeHorizon-IT-Inquiry-Recomm"):
        assert scores[name]["hybrid"].mrr > scores[name]["bm25"].mrr
    # Measured: 0.773 against BM25's 0.771, less than one question moving one rank: a tie, held
    # as one. The Ofsted questions share many of the report's words.
    ofsted = scores["essex-ofsted-2019"]
    assert ofsted["hybrid"].mrr >= ofsted["bm25"].mrr - 0.01
