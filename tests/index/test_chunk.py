from index.chunk import approximate_tokens, chunk, is_furniture, paragraphs
from index.passage import ReportText
from index.sentences import split_sentences

from conftest import SEED_REPORT


def texts(text: str, **kw) -> list[str]:
    return [p.text for p in chunk("r", ReportText(text), **kw)]


def test_paragraphs_split_on_blank_lines_with_exact_offsets():
    text = "First para here is a sentence.\n\n  Second para, also a sentence.  \n\n\nThird one ends.\n"
    passages = chunk("r", ReportText(text))
    assert [p.text for p in passages] == [
        "First para here is a sentence.", "Second para, also a sentence.", "Third one ends."
    ]
    for p in passages:
        assert text[p.start : p.end] == p.text
    assert [p.paragraph for p in passages] == [1, 2, 3]
    assert [p.id for p in passages] == ["r#1", "r#2", "r#3"]


def test_number_stub_and_heading_join_the_paragraph_they_introduce():
    text = "Findings\n\n4.\n\nThe force is poor at this.\n\nA closing sentence."
    passages = chunk("r", ReportText(text))
    assert passages[0].text == "Findings\n\n4.\n\nThe force is poor at this."
    assert passages[0].number == "4"
    assert passages[1].text == "A closing sentence."


def test_lead_in_ending_in_colon_joins_the_next_paragraph():
    assert texts("It found:\n\nThe force is poor.") == ["It found:\n\nThe force is poor."]


def test_own_paragraph_number_with_and_without_space():
    passages = chunk("r", ReportText("12.The force did it.\n\n13. Then again it did."))
    assert [p.number for p in passages] == ["12", "13"]


def test_web_furniture_is_dropped_by_general_rules():
    for block in ["Please enter your comment!", "Please enter your name here", "More articles", "Share",
                  "Share on Facebook", "Leave a Reply", "Related stories", "© 2023 Some Newspaper Ltd"]:
        assert is_furniture(block), block
    for block in ["The force is poor.", "More officers are needed in Essex.", "Share of crimes solved fell."]:
        assert not is_furniture(block), block
    assert texts("The force is poor.\n\nPlease enter your comment!\n\nMore articles") == ["The force is poor."]


def test_repeated_paragraph_is_indexed_once_even_with_another_number():
    concern = "HMIC has significant concerns about the capability of the force to protect vulnerable people from harm and support victims of crime"
    text = f"6.{concern}\n\n7. Something else entirely.\n\n12.{concern}."
    assert texts(text) == [f"6.{concern}", "7. Something else entirely."]


def test_long_paragraph_is_split_at_sentence_boundaries_within_the_limit():
    sentences = [f"Sentence number {i} says a few more words here." for i in range(30)]
    text = " ".join(sentences)
    count = lambda s: len(s.split())  # a known counter: one token per word
    passages = chunk("r", ReportText(text), max_tokens=40, count_tokens=count)
    assert len(passages) > 1
    assert all(count(p.text) <= 40 for p in passages)
    assert all(p.paragraph == 1 for p in passages) and [p.part for p in passages] == list(range(1, len(passages) + 1))
    assert passages[1].id == "r#1.2"
    assert " ".join(p.text for p in passages) == text  # nothing lost, nothing repeated
    for p in passages:
        assert text[p.start : p.end] == p.text and p.text.endswith(".")


def test_pages_come_from_page_starts():
    text = "Page one paragraph.\n\nStill page one and on to\n\npage two."
    report = ReportText(text, page_starts=[0, text.index("page two")])
    passages = chunk("r", report)
    assert (passages[0].page, passages[0].page_end) == (1, 1)
    assert (passages[-1].page, passages[-1].page_end) == (1, 2)  # a paragraph across the break


def test_sentences_keep_abbreviations_and_paragraph_numbers_together():
    text = "1. The force, e.g. in Essex, is poor. Mr. Smith agreed! Why?\n\nHeading"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "1. The force, e.g. in Essex, is poor.", "Mr. Smith agreed!", "Why?", "Heading"
    ]


def test_a_footnote_number_after_a_full_stop_ends_the_sentence_it_belongs_to():
    text = ("The Post Office cannot fund them.35 Accordingly, the Department has. It was “more robust”.6 However, "
            "it failed. He said “never.”7 Costs rose 2.5 Million in 2020.4 Then fell.")
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "The Post Office cannot fund them.35", "Accordingly, the Department has.", "It was “more robust”.6",
        "However, it failed.", "He said “never.”7", "Costs rose 2.5 Million in 2020.4 Then fell."
    ]


def test_seed_report_passages():
    text = SEED_REPORT.read_text(encoding="utf-8")
    passages = chunk("seed", ReportText(text))
    assert all(text[p.start : p.end] == p.text for p in passages)
    joined = "\n".join(p.text for p in passages)
    assert "Please enter" not in joined and "More articles" not in joined
    assert joined.count("HMIC has significant concerns about the capability") == 1
    assert passages[0].text.startswith("Tuesday, January 31, 2023\n\nDamning report")
    assert any(p.number == "13" and "domestic abuse is poor" in p.text for p in passages)


def test_approximate_tokens_grows_with_words():
    assert approximate_tokens("one two three") < approximate_tokens("one two three four five six")
