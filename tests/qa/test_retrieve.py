"""Hybrid fusion on tiny known scores (pure; retrieval quality itself is measured end to end)."""
import pytest

from qa.retrieve import LEXICAL_WEIGHT, fuse_scores

DENSE = {1: 0.60, 2: 0.58, 3: 0.30}
LEXICAL = {2: 12.0, 3: 3.0}


def test_a_question_bm25_barely_covers_keeps_the_dense_order():
    fused = fuse_scores(DENSE, LEXICAL, coverage=0.0)
    assert sorted(fused, key=fused.get, reverse=True) == [1, 2, 3]
    assert fused[1] == pytest.approx(1.0) and fused[3] == pytest.approx(0.0)  # min-max normalised


def test_a_question_in_the_reports_own_words_lets_bm25_lift_its_match():
    fused = fuse_scores(DENSE, LEXICAL, coverage=1.0)
    assert max(fused, key=fused.get) == 2
    assert fused[2] == pytest.approx((0.58 - 0.30) / 0.30 + LEXICAL_WEIGHT)


def test_fusion_of_nothing_or_equal_dense_scores_is_safe():
    assert fuse_scores({}, LEXICAL, 1.0) == {}
    fused = fuse_scores({1: 0.5, 2: 0.5}, {}, 1.0)
    assert fused == {1: 0.0, 2: 0.0}


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
