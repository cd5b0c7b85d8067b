"""The second stage (qa.rerank) on tiny known evidence (pure; retrieval quality itself is
measured end to end on the gold sets)."""
import pytest

from qa.rerank import WEIGHTS, Evidence, Weights, rerank

DENSE = {1: Evidence(0.60), 2: Evidence(0.58, bm25=12.0), 3: Evidence(0.30, bm25=3.0)}


def order(scores):
    return sorted(scores, key=scores.get, reverse=True)


def test_a_question_bm25_barely_covers_keeps_the_dense_order():
    scores = rerank(DENSE, coverage=0.0)
    assert order(scores) == [1, 2, 3]
    assert scores[1] == pytest.approx(1.0) and scores[3] == pytest.approx(0.0)  # min-max normalised


def test_a_question_in_the_reports_own_words_lets_bm25_lift_its_match():
    scores = rerank(DENSE, coverage=1.0)
    assert order(scores)[0] == 2
    assert scores[2] == pytest.approx((0.58 - 0.30) / 0.30 + WEIGHTS.lexical)


def test_footnotes_and_heading_stubs_are_weighed_down_and_proximity_up():
    tied = {1: Evidence(0.5), 2: Evidence(0.5, footnote=True), 3: Evidence(0.4)}
    scores = rerank(tied, 0.0, Weights(footnote=0.2))
    assert scores[1] - scores[2] == pytest.approx(0.2)
    stub = {1: Evidence(0.5), 2: Evidence(0.5, heading=True), 3: Evidence(0.4)}
    assert order(rerank(stub, 0.0, Weights(heading=0.1)))[0] == 1
    near = {1: Evidence(0.5), 2: Evidence(0.5, proximity=1.0), 3: Evidence(0.4)}
    assert order(rerank(near, 0.0, Weights(proximity=0.1)))[0] == 2


def test_rerank_of_nothing_or_equal_scores_is_safe_and_weights_are_checked():
    assert rerank({}, 1.0) == {}
    assert rerank({1: Evidence(0.5), 2: Evidence(0.5)}, 1.0) == {1: 0.0, 2: 0.0}
    with pytest.raises(ValueError, match="lexical weight must be at least 0"):
        Weights(lexical=-1)


def test_the_report_prior_orders_equal_passages_and_leaves_their_scores(tmp_path):
    # Plumbing with a fake embedder: two reports holding the same paragraph score the same;
    # the prior (the question's similarity to each report) decides which is cited first.
    from fakes import FakeEmbedder

    from index.store import IndexDir, load
    from index.sync import sync
    from qa.retrieve import retrieve

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("police", "council"):
        (lib / f"{name}.txt").write_text(  # files differ (identical files are indexed once); one paragraph is shared
            f"Inspectors found that the backlog of cases is growing.\n\nThe {name} answered the report in full.\n")
    emb = FakeEmbedder()
    sync(lib, tmp_path / "idx", embedder=emb, progress=False, out=lambda line: None)
    index = load(IndexDir(tmp_path / "idx"), emb.dimension)
    vector = emb.encode(["Inspectors found that the backlog of cases is growing."])[0]
    for retriever in ("dense", "hybrid"):
        for favoured in ("police", "council"):
            prior = {"police": 0.3, "council": 0.1} if favoured == "police" else {"police": 0.1, "council": 0.3}
            hits = retrieve(index, "backlog of cases", vector, 2, retriever, report_prior=prior)
            assert [h.passage.report for h in hits][0] == favoured, (retriever, favoured)
            assert hits[0].score == pytest.approx(hits[1].score)  # the prior ranks; it is not the score
