from index.passage import Report
from qa.followup import leans_on_previous, mentioned_reports, retrieval_query


def test_follow_ups_lean_on_the_previous_question():
    for q in ["and what about domestic abuse?", "What about missing children?", "Why?", "what did the 2019 report say?",
              "Is that getting better?", "And how long did it take?"]:
        assert leans_on_previous(q), q
    for q in ["How good are child protection investigations?", "What did the inspectors say about domestic abuse?",
              "Does the force have enough detectives?"]:
        assert not leans_on_previous(q), q


def test_retrieval_query_joins_only_follow_ups():
    assert retrieval_query("and what about domestic abuse?", "How is anti-social behaviour handled?") == (
        "How is anti-social behaviour handled? and what about domestic abuse?")
    assert retrieval_query("How good are investigations?", "Anything on burglary?") == "How good are investigations?"
    assert retrieval_query("and what about domestic abuse?", None) == "and what about domestic abuse?"


def test_reports_named_by_year():
    reports = [Report("ofsted-2014", "a.pdf", "1", "Essex inspection", date="2014-03-21"),
               Report("ofsted-2019", "b.pdf", "2", "Essex inspection", date="2019-01-03")]
    assert mentioned_reports("what did the 2019 report say?", reports) == {"ofsted-2019"}
    assert mentioned_reports("what happened in 2019?", reports) == set()  # no report named
    assert mentioned_reports("what did the 2030 report say?", reports) == set()
