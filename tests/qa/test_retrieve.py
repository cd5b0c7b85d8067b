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
