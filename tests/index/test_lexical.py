"""BM25 search and question coverage on tiny known passages."""
import numpy as np
import pytest

from index.lexical import LexicalIndex

TEXTS = ["The force's response to domestic abuse is poor.",
         "Neighbourhood teams lack direction.",
         "Domestic burglaries wait days for an officer."]


@pytest.fixture(scope="module")
def lexical():
    return LexicalIndex([10, 11, 12], TEXTS)


def test_search_ranks_the_passage_holding_the_terms_first_and_honours_allowed(lexical):
    keys, scores = lexical.search("domestic abuse response", 3)
    assert keys[0] == 10 and scores[0] > 0 and list(scores) == sorted(scores, reverse=True)
    keys, _ = lexical.search("domestic abuse response", 3, allowed=np.array([11, 12]))
    assert 10 not in keys and keys.tolist() == [12]


def test_coverage_is_the_share_of_the_question_a_passage_holds(lexical):
    assert lexical.coverage("domestic abuse response", 10) == pytest.approx(1.0)
    assert lexical.coverage("response to domestic abuse", 11) == 0.0
    part = lexical.coverage("domestic abuse response", 12)  # holds only "domestic", the commonest
    assert 0.0 < part < 0.5


def test_a_term_no_passage_holds_weighs_most(lexical):
    # "Kent" is in no passage: rarer than any term that is, so it costs the question the most.
    assert lexical.coverage("Kent domestic abuse", 10) < lexical.coverage("neighbourhood domestic abuse", 10)


def test_coverage_of_stop_words_only_or_unknown_key_is_zero(lexical):
    assert lexical.coverage("what is the", 10) == 0.0
    assert lexical.coverage("domestic abuse", 99) == 0.0
    assert LexicalIndex([], []).coverage("domestic abuse", 10) == 0.0
