"""The evaluation's own pieces on tiny known inputs: the naive baseline's chunks and relevance,
the warnings' metrics, the misses report."""
from index.passage import ReportText
from qa.baseline import fixed_chunks
from qa.eval import GoldQuestion, Miss, Outcome, chunk_holds_evidence, misses_report, score, table


def test_fixed_chunks_cut_every_n_words_with_exact_offsets_and_pages():
    text = " ".join(f"w{i}" for i in range(10))
    report = ReportText(text, page_starts=[0, text.index("w6")])
    chunks = fixed_chunks("r", report, words=4)
    assert [c.text for c in chunks] == ["w0 w1 w2 w3", "w4 w5 w6 w7", "w8 w9"]
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert [(c.page, c.page_end) for c in chunks] == [(1, 1), (1, 2), (2, 2)]


def test_a_naive_chunk_counts_when_it_holds_at_least_half_the_evidence():
    text = "alpha beta gamma delta epsilon zeta eta theta"
    report = ReportText(text)
    first, second = fixed_chunks("r", report, words=4)  # "alpha beta gamma delta" | "epsilon zeta eta theta"
    across = GoldQuestion("q", ["gamma delta epsilon"], report="r")  # cut by the boundary, mostly in the first
    assert chunk_holds_evidence(across, first, text) and not chunk_holds_evidence(across, second, text)
    assert not chunk_holds_evidence(GoldQuestion("q", ["zeta"], report="other"), second, text)
    assert chunk_holds_evidence(GoldQuestion("q", ["zeta"]), second, text)


def test_warnings_are_scored_against_out_of_scope_questions_and_wrong_answers():
    a, b = GoldQuestion("q1", ["x"]), GoldQuestion("q2", ["y"])
    oos, off = GoldQuestion("q3", abstain=True), GoldQuestion("q4", abstain=True)
    outcomes = [
        Outcome(a, (1,), False, 0.8, True), Outcome(b, (2,), False, 0.6, False, low_confidence=True),
        Outcome(oos, (), False, 0.5, None, low_confidence=True), Outcome(off, (), True, 0.1, None, low_confidence=True),
    ]
    s = score(outcomes)
    assert (s.abstention_precision, s.abstention_recall) == (1.0, 0.5)
    assert (s.flagged_precision, s.flagged_recall) == (2 / 3, 1.0)
    assert (s.wrong_flagged, s.right_flagged) == (1.0, 0.0)
    nothing = score([Outcome(a, (1,), False, 0.8, True)])
    assert nothing.abstention_precision is None and "| – |" in table({"naive": nothing})


def test_misses_report_lists_ranks_and_counts_causes():
    g = GoldQuestion("How old was he?", ["aged 40"], report="r")
    misses = [Miss(g, {"dense": 3, "bm25": None, "hybrid": 2, "answer": 2}, "r#4", 120, 7, ["r#3 p.7: something"], "table"),
              Miss(g, {"dense": 9, "bm25": 1, "hybrid": 4, "answer": 4}, "r#9", 80, 9, [], "other words")]
    text = misses_report(misses)
    assert "ranks: dense 3  bm25 -  hybrid 2  answer 2   passage r#4 p.7, 120 word pieces" in text
    assert "above: r#3 p.7: something" in text
    assert text.splitlines()[-1] == "misses by cause: table 1, other words 1"
