"""End to end on the real seed report with the real model and real FAISS."""
import json
import os
import subprocess
import sys

import pytest

from qa import eval as evaluation
from qa.ask import QuestionError

from conftest import GOLD, ROOT, SEED_REPORT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes(seed_asker):
    return evaluation.run(seed_asker, evaluation.read_gold(GOLD / "seed.jsonl"))


def test_gold_set_is_big_enough():
    gold = evaluation.read_gold(GOLD / "seed.jsonl")
    assert sum(not g.abstain for g in gold) >= 30 and sum(g.abstain for g in gold) >= 8
    text = SEED_REPORT.read_text(encoding="utf-8")
    assert all(e in text for g in gold for e in g.evidence)


def test_retrieval_on_the_seed_gold_set(outcomes):
    scores = evaluation.score(outcomes)
    print(evaluation.report(scores))
    # Measured when written (hybrid, the default): recall@1 0.658, recall@3 0.823, MRR 0.760 on
    # this deliberately hard paraphrase set (slang, no shared terms). These floors catch
    # regressions; the target (recall@3 >= 0.95) is not met with all-MiniLM-L6-v2 alone
    # — see the README.
    assert scores.recall_at_3 >= 0.81
    assert scores.recall_at_1 >= 0.64
    assert scores.mrr >= 0.75


OFF_TOPIC = ["What is the capital of France?", "Who won the 2018 World Cup?", "What's a good recipe for banana bread?",
             "How do I reset my broadband router?"]


def test_abstains_off_topic_and_answers_every_answerable_question(outcomes):
    by_question = {o.gold.q: o for o in outcomes}
    assert all(by_question[q].abstained for q in OFF_TOPIC)
    answerable = [o for o in outcomes if not o.gold.abstain]
    assert not [o.gold.q for o in answerable if o.abstained]


def test_near_topic_questions_the_report_does_not_answer_are_at_least_low_confidence(seed_asker):
    # Measured when written: only 4 of the 14 near-topic out-of-scope questions fall below the
    # low-confidence line (the others score like answerable questions); these are they.
    for q in ["What Ofsted ratings did schools in Essex get?",
              "What rating did the force get for efficiency and value for money?",
              "How long do ambulances take to reach emergency patients in Essex?",
              "How quickly does Essex Fire and Rescue Service respond to house fires?"]:
        assert seed_asker.ask(q).low_confidence, q


def test_done_when_questions(seed_asker):
    answer = seed_asker.ask("What did the inspectors say about how the force deals with domestic abuse?")
    assert not answer.abstained and "[1]" in answer.answer
    assert "response to victims of domestic abuse is poor" in answer.citations[0].text
    assert seed_asker.ask("What is the capital of France?").abstained


def test_citations_are_verbatim_with_exact_offsets_and_highlights(seed_asker):
    text = SEED_REPORT.read_text(encoding="utf-8")
    answer = seed_asker.ask("Are there enough trained detectives?")
    assert answer.citations
    for c in answer.citations:
        assert text[c.start : c.end] == c.text
        for s, e in c.highlights:
            assert c.text[s:e] in answer.answer
    assert answer.citations[0].highlights, "the top passage should hold an answer sentence"


def test_empty_question_is_refused_with_a_clear_message(seed_asker):
    with pytest.raises(QuestionError, match="Empty question"):
        seed_asker.ask("   ")


def test_cli_ask_json_reads_questions_from_stdin(seed_asker):
    env = {**os.environ, "REPORTQA_LIBRARY": str(seed_asker.library), "REPORTQA_INDEX": str(seed_asker.index_dir.path)}
    run = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "--json"], cwd=ROOT, env=env, text=True, capture_output=True,
        input="How good are child protection investigations?\nWho won the 2018 World Cup?\n", timeout=180,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(l) for l in run.stdout.splitlines()]
    assert [l["question"] for l in lines] == ["How good are child protection investigations?", "Who won the 2018 World Cup?"]
    first = lines[0]
    assert set(first) >= {"question", "answer", "abstained", "citations"} and not first["abstained"]
    c = first["citations"][0]
    assert set(c) >= {"n", "report", "title", "source", "page", "paragraph", "start", "end", "text", "score"}
    assert c["n"] == 1 and c["page"] is None and c["source"].endswith(".txt")
    assert [x["n"] for x in first["citations"]] == list(range(1, len(first["citations"]) + 1))
    assert all(0.0 < x["score"] <= 1.0 for x in first["citations"])  # similarity; order is the retriever's
    assert lines[1]["abstained"] is True


def test_cli_errors_are_one_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "qa", "--library", str(tmp_path / "missing"), "--index", str(tmp_path / "i"), "index"],
        cwd=ROOT, text=True, capture_output=True, timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "library folder not found" in run.stderr


def test_eval_command_compares_with_naive_and_explains_misses(tmp_path, seed_library, seed_asker, capsys):
    """`python -m qa eval GOLD... --compare --misses` through the CLI's own code: one table a set
    with the naive row, and every miss listed with its ranks and a cause."""
    from qa.__main__ import main

    gold = tmp_path / "tiny.jsonl"
    gold.write_text(
        json.dumps({"q": "What did the inspectors say about how the force deals with domestic abuse?",
                    "evidence": ["response to victims of domestic abuse is poor"]}) + "\n"
        # asked in words that share nothing with its passage: a miss to explain
        + json.dumps({"q": "What is the capital of France?", "evidence": ["backlog contains a high number"]}) + "\n"
        + json.dumps({"q": "Who won the 2018 World Cup?", "abstain": True}) + "\n", encoding="utf-8")
    other = tmp_path / "tiny2.jsonl"
    other.write_text(gold.read_text(encoding="utf-8"), encoding="utf-8")
    index = seed_asker.index_dir.path
    assert main(["--library", str(seed_library), "--index", str(index), "eval", str(gold), str(other),
                 "--compare", "--misses"]) == 0
    out = capsys.readouterr().out
    assert "## tiny\n" in out and "## tiny2\n" in out and out.count("| naive |") == 2
    assert "- 'What is the capital of France?' [" in out and "ranks: dense" in out and "misses by cause:" in out
    assert "misses of all sets by cause:" in out
