from index.chunk import (
    approximate_tokens, chunk, embedding_text, is_furniture, is_heading, paragraphs, retrieval_text, section_headings,
)
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


def test_headings_are_short_lines_that_are_no_sentences():
    for heading in ("Leadership and management", "4. FINANCIAL AND OTHER REDRESS", "a. Introduction",
                    "What is it like to be a child or young person with SEND in this area?"):
        assert is_heading(heading), heading
    for not_heading in ("The force is poor at this.", "Executive summary 2", "Source: National Immunization Survey",
                        "18 Cynthia Howard, Fred Howard, Ruth Lawrence", "6.14. How then is the phrase to be understood?",
                        "two lines\nof text", "4."):
        assert not is_heading(not_heading), not_heading


def test_each_passage_knows_the_headings_it_sits_under_and_they_stay_out_of_its_text():
    text = ("4. REDRESS\n\na. Introduction\n\n4.1. There were four schemes.\n\n4.2. They merged.\n\n"
            "b. The Shortfall Scheme\n\n4.3. It came first.\n\n5. CONCLUSIONS\n\n5.1. Delay was common.")
    assert [h for _, h in section_headings(text)] == [
        "4. REDRESS", "4. REDRESS > a. Introduction", "4. REDRESS > b. The Shortfall Scheme", "5. CONCLUSIONS"]
    passages = chunk("r", ReportText(text))
    assert [(p.number, p.heading) for p in passages] == [
        ("4.1", "4. REDRESS > a. Introduction"), ("4.2", "4. REDRESS > a. Introduction"),
        ("4.3", "4. REDRESS > b. The Shortfall Scheme"), ("5.1", "5. CONCLUSIONS")]
    assert passages[1].text == "4.2. They merged."  # the heading is context, never cited text
    assert retrieval_text(passages[1], "Inquiry report") == "Inquiry report\n4. REDRESS > a. Introduction\n4.2. They merged."


def test_glued_footnote_numbers_are_cited_but_not_searched():
    passage = chunk("r", ReportText("Claims could be made under the scheme.26 They were slow, said the area2 team."))[0]
    assert "scheme.26" in passage.text
    assert embedding_text(passage) == "Claims could be made under the scheme. They were slow, said the area team."


def test_passage_kinds_from_the_reader_and_tables_searchable_row_by_row():
    text = "A paragraph of running text that ends.\n\nGrade\nOverall effectiveness Good\nLeaders Good\n\n1 A footnote."
    table_at, note_at = text.index("Grade"), text.index("1 A footnote")
    report = ReportText(text, page_starts=[0], tables=[[table_at, note_at - 2]], footnotes=[[note_at, len(text)]])
    passages = chunk("r", report)
    assert [p.kind for p in passages] == ["text", "table", "footnote"]
    table = passages[1]
    assert [table.text[s:e] for s, e in table.sentences] == ["Grade", "Overall effectiveness Good", "Leaders Good"]
    # in a text file, a block set line by line is a table too; a heading left alone is a stub
    plain = chunk("r", ReportText("Some running text here.\n\nName\nAlice Smith\nBob Jones\n\nClosing Remarks"))
    assert [p.kind for p in plain] == ["text", "table", "heading"]


def test_notes_the_layout_missed_stand_alone_and_reference_entries_are_marked():
    text = ("220 Katharine Hammond 16 June 2023 77/12-78/23\n\n2.99. When the pandemic took hold, it was new.\n\n"
            "17 July 2023 to the present time\n\n4.169. Much of 2023 was slow.\n\n"
            "Evans, Cynthia J., and Nancy B. Lyons. “The Effect of Infant Formula Samples.” Pediatrics (1986).")
    passages = chunk("r", ReportText(text, page_starts=[0]))
    assert [(p.kind, p.text[:14]) for p in passages] == [
        ("footnote", "220 Katharine "), ("text", "2.99. When the"), ("text", "17 July 2023 t"), ("reference", "Evans, Cynthia")]
    # in a text file nothing is guessed to be a note: "12 The council" may number a paragraph
    assert [p.kind for p in chunk("r", ReportText("12 The council met.\n\nIt agreed."))] == ["text", "text"]
