from index.passage import Passage
from qa.answer import (
    NOT_FOUND, Sentence, assemble, candidate_sentences, choose_sentences, disagree, merge_duplicates, near_duplicate,
    passage_ranks, sentence_score,
)
import math

from qa.eval import GoldQuestion, Outcome, calibrate, highlight_holds_evidence, relevant, score, table
from qa.retrieve import Hit


def hit(text, score, paragraph=1, report="r"):
    return Hit(Passage(report, paragraph, 1, None, 100, 100 + len(text), text), score)


def test_answer_cites_the_passage_of_each_sentence_and_highlights_it():
    hits = [hit("Some intro words here. The force is poor at it. Other words follow on.", 0.7), hit("The second passage is here.", 0.5, 2)]
    sentences = candidate_sentences(hits)
    assert [s.text for s in sentences] == ["Some intro words here.", "The force is poor at it.", "Other words follow on.", "The second passage is here."]
    chosen = choose_sentences(sentences, [0.1, 0.9, 0.2, 0.88])
    answer = assemble("q?", hits, chosen, {"r": ("Title", "lib/r.txt")})
    assert answer.answer == "The force is poor at it. [1] The second passage is here. [2]"
    assert not answer.abstained and not answer.low_confidence
    first = answer.citations[0]
    assert (first.n, first.title, first.source, first.start) == (1, "Title", "lib/r.txt", 100)
    s, e = first.highlights[0]
    assert first.text[s:e] == "The force is poor at it."
    assert answer.citations[1].highlights == [[0, 27]]


def test_choose_sentences_skips_near_duplicates_and_weak_ones():
    s = [Sentence(0, 0, 1, "The force is poor."), Sentence(1, 0, 1, "The force is poor!"), Sentence(0, 0, 1, "Unrelated.")]
    assert [c.text for c in choose_sentences(s, [0.9, 0.89, 0.5])] == ["The force is poor."]
    assert near_duplicate("a b c d e", "a b c d e f") and not near_duplicate("a b", "c d")


def test_weak_best_score_abstains_and_still_lists_the_passages():
    answer = assemble("capital of France?", [hit("The force is poor.", 0.1)], [], {}, abstain_below=0.4)
    assert answer.abstained and answer.low_confidence and answer.answer.startswith(NOT_FOUND)
    assert len(answer.citations) == 1 and answer.citations[0].highlights == []
    assert assemble("q", [], [], {}).abstained


def test_metrics_on_a_tiny_known_set():
    a = GoldQuestion("q1", ["poor"])
    b = GoldQuestion("q2", ["slow"])
    c = GoldQuestion("q3", abstain=True)
    outcomes = [Outcome(a, (1,), False, 0.8, True), Outcome(b, (2,), False, 0.6, False), Outcome(c, (), True, 0.1)]
    s = score(outcomes)
    assert (s.recall_at_1, s.recall_at_3, s.mrr, s.abstention_accuracy) == (0.5, 1.0, 0.75, 1.0)
    assert (s.abstention_precision, s.abstention_recall, s.highlight_rate) == (1.0, 1.0, 0.5)
    assert s.ndcg_at_10 == (1.0 + 1 / math.log2(3)) / 2
    assert [m.gold.q for m in s.misses] == ["q2"]
    threshold, accuracy = calibrate(outcomes)
    assert 0.1 < threshold < 0.6 and accuracy == 1.0
    assert table({"dense": s}).splitlines()[2].startswith("| dense | 0.500 | 1.000 |")


def test_relevance_and_highlight_checks_use_the_evidence_span():
    hits = [hit("Some intro words here. The force is poor at it.", 0.7)]
    sentences = candidate_sentences(hits)
    answer = assemble("q?", hits, [sentences[1]], {})
    gold = GoldQuestion("q", ["poor at it"])
    assert relevant(gold, answer.citations[0]) and highlight_holds_evidence(gold, answer)
    assert not highlight_holds_evidence(GoldQuestion("q", ["intro words"]), answer)
    assert not relevant(GoldQuestion("q", ["poor"], report="other"), answer.citations[0])


def test_near_identical_passages_from_two_reports_are_cited_once_original_first():
    quote = "The force's response to victims of domestic abuse is poor and officers are confused."
    hits = [hit(quote, 0.8, 3, report="news"), hit("Something else entirely here.", 0.6, 1, report="news"),
            hit(quote.replace("poor", "poor,"), 0.79, 13, report="hmic")]
    merged = merge_duplicates(hits, {"news": "news summary of an HMIC inspection report", "hmic": "inspection report"})
    assert [(lead.passage.report, [o.passage.report for o in others]) for lead, others in merged] == [
        ("hmic", ["news"]), ("news", [])]
    answer = assemble("q", [m[0] for m in merged], [], {"hmic": ("HMIC report", "h.pdf"), "news": ("News", "n.txt")},
                      also_in={0: merged[0][1]})
    assert answer.citations[0].report == "hmic"
    assert answer.citations[0].also_in == [{"report": "news", "title": "News", "source": "n.txt", "paragraph": 3, "page": None}]


def test_a_sentence_holding_the_questions_terms_beats_an_equally_similar_one():
    plain = sentence_score(similarity=0.5, passage_rank=1.0)
    assert sentence_score(0.5, 1.0, coverage=1.0) > plain > sentence_score(0.5, 0.0)
    # similarity still leads: full coverage does not rescue a sentence far less similar
    assert sentence_score(0.2, 1.0, coverage=1.0) < sentence_score(0.6, 1.0, coverage=0.0)


def test_a_passage_printed_twice_in_one_report_is_cited_once_with_where_else():
    rec = "10. The Department shall issue a supplementary document clarifying the meaning of the scheme."
    hits = [hit(rec, 0.7, 41, report="po"), hit("Unrelated paragraph about something.", 0.6, 5, report="po"),
            hit(rec, 0.69, 856, report="po")]
    merged = merge_duplicates(hits, {"po": "inquiry report"})
    assert [(lead.passage.paragraph, [o.passage.paragraph for o in others]) for lead, others in merged] == [(41, [856]), (5, [])]
    answer = assemble("q", [m[0] for m in merged], [], {"po": ("PO report", "po.pdf")}, also_in={0: merged[0][1]})
    assert answer.citations[0].also_in_text() == "PO report, paragraph 856"
    from dataclasses import replace

    paged = replace(answer.citations[0], also_in=[{"title": "PO report", "paragraph": 856, "page": 138},
                                                  {"report": "news", "paragraph": 3, "page": None}])
    assert paged.also_in_text() == "PO report, paragraph 856, p. 138; news, paragraph 3"


def ranked(text, score, rank_score, paragraph, report="r"):
    return Hit(Passage(report, paragraph, 1, None, 0, len(text), text), score, paragraph, rank_score)


def test_two_equally_good_passages_of_different_evidence_are_low_confidence_and_both_quoted():
    a = ranked("The first report says services are good. Another sentence here too.", 0.6, 1.30, 4)
    b = ranked("Elsewhere the services were found to require improvement overall.", 0.6, 1.27, 40, report="other")
    c = ranked("A third passage about something else entirely here.", 0.5, 0.9, 9)
    assert disagree([a, b, c]) and not disagree([a, c]) and not disagree([a])
    neighbour = ranked("The next paragraph carries the same point further on.", 0.6, 1.29, 5)
    assert not disagree([a, neighbour, c])  # one stretch of one report is not two answers
    sentences = candidate_sentences([a, b, c])
    scores = [0.9, 0.85, 0.5, 0.88]  # passage 1's two sentences lead; passage 2's best is third
    both = choose_sentences(sentences, scores, both=True)
    assert [s.hit for s in both] == [0, 1] and both[1].text.startswith("Elsewhere")
    answer = assemble("q", [a, b, c], both, {}, disagreeing=True)
    assert answer.low_confidence and answer.low_confidence_reason == "disagree" and not answer.abstained
    assert answer.answer.endswith("[2]")
    weak = assemble("q", [replace_score(a, 0.3), replace_score(b, 0.3)], both, {}, disagreeing=True)
    assert weak.low_confidence_reason == "weak"  # weak evidence is said first
    sure = assemble("q", [a, c], choose_sentences(candidate_sentences([a, c]), [0.9, 0.5, 0.4]), {})
    assert not sure.low_confidence and sure.low_confidence_reason is None


def replace_score(hit_, score):
    from dataclasses import replace

    return replace(hit_, score=score)


def test_passage_ranks_scale_the_reranked_scores():
    hits = [ranked("a b c d", 0.5, 2.0, 1), ranked("e f g h", 0.5, 1.5, 2), ranked("i j k l", 0.5, 1.0, 3)]
    assert passage_ranks(hits) == [1.0, 0.5, 0.0] and passage_ranks([]) == []


def test_near_duplicate_is_the_jaccard_index_of_the_word_sets():
    import random

    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(30)]
    for _ in range(500):
        a, b = (" ".join(rng.sample(vocabulary, rng.randint(0, 20))) for _ in range(2))
        threshold = rng.choice([0.5, 0.8, 0.9])
        wa, wb = set(a.split()), set(b.split())
        expected = bool(wa and wb) and len(wa & wb) / len(wa | wb) >= threshold
        assert near_duplicate(a, b, threshold) == expected, (a, b, threshold)
    assert near_duplicate("a b c d e f g h i j", "a b c d e f g h i j k", 0.9)  # 10 / 11, at the bound
