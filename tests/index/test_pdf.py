"""Reading PDFs as a person reads them: the pure layout rules on tiny pages of known lines, then
the real 2019 Essex Ofsted report (tests/data/SOURCES.md), checked against the PDF by eye."""
import logging
import re
import warnings
from pathlib import Path

import pytest

from index.chunk import chunk
from index.layout import (
    PlacedLine, Vocabulary, assemble, date_from_page, find_date, is_table, mark_gaps, meaningful_title,
    normalise_line, pdf_date, strip_running_lines, title_from_page,
)
from index.passage import ReportText
from index.pdf import read_pdf
from index.errors import ReportError

DATA = Path(__file__).resolve().parent.parent / "data"
ESSEX = DATA / "80468_essex__ilacs_07-january-2019.pdf"

PROSE = [  # full-width lines, so the page's typical line width is that of running text
    "Inspectors saw that children are seen quickly and that their needs are",
    "assessed well by social workers who know them and their families very",
    "well, and that plans are reviewed often enough to keep children safe.",
]


def prose(n: int) -> list[str]:
    """A different paragraph of running text for page ``n`` (different words, not just digits)."""
    who = ["social workers", "family support staff", "independent reviewers", "foster carers", "managers",
           "personal advisers"][n]
    return [f"On this page {who} were seen to know children well and to visit them", "often enough to keep them "
            f"safe, said {who} in interviews with inspectors during", f"the week, and {who} agreed."]


def read(pages: list[list[str]]) -> ReportText:
    text, starts, kinds = assemble(pages)
    return ReportText(text=text, page_starts=starts, footnotes=kinds["footnote"], tables=kinds["table"])


# --- single lines --------------------------------------------------------------------------


def test_lines_are_normalised_and_symbol_font_bullets_become_bullets():
    assert normalise_line("\uf0b7 Consistency  in\u00a0planning   ") == "• Consistency in planning"
    assert normalise_line("\uf06eItem") == "• Item"
    assert normalise_line("\u25fc Area leaders") == "• Area leaders"
    assert normalise_line(" \t ") == ""
    assert normalise_line("\u200bHello\x0c") == "Hello"


# --- running headers, footers, page numbers -----------------------------------------------


def test_running_header_footer_and_page_numbers_are_removed():
    pages = [
        ["Area inspection report: Essex", f"{n} to 14 July 2023 {n}", "", *prose(n), "", f"Page {n} of 4"]
        for n in range(1, 5)
    ]
    pages[2] = ["Area inspection report: Essex", "10 to 14 July 2023 3", "A heading only here", *prose(3), "3"]
    stripped = strip_running_lines(pages)
    for n, lines in enumerate(stripped, start=1):
        filled = [l for l in lines if l]
        assert not any("Area inspection report" in l or "July 2023" in l or re.fullmatch(r"(Page )?\d( of 4)?", l)
                       for l in filled), filled
        assert filled[-3:] == prose(n)
    assert "A heading only here" in stripped[2]


def test_a_line_opening_only_two_pages_far_apart_is_kept():
    pages = [["Summary", *prose(n)] if n in (0, 5) else prose(n) for n in range(6)]
    assert strip_running_lines(pages)[0][0] == "Summary"


def test_left_and_right_running_heads_on_alternate_pages_are_removed():
    heads = ["Introduction by the Chair", "Module 1: The report"] * 2
    pages = [[head, *prose(n)] for n, head in enumerate(heads)]
    assert [lines[0] for lines in strip_running_lines(pages)] == ["", "", "", ""]


# --- paragraphs ----------------------------------------------------------------------------


def test_lines_join_with_spaces_and_blank_lines_end_paragraphs():
    text = read([[*PROSE, "", "A second paragraph that ends here."]]).text
    assert text == " ".join(PROSE) + "\n\nA second paragraph that ends here."


def test_one_line_numbered_entries_that_are_no_sentences_stay_one_list():
    text = read([["1. Children who need help and protection Good", "2. Children looked after Good"]]).text
    assert text == "1. Children who need help and protection Good\n2. Children looked after Good"


def test_a_numbered_paragraph_starts_a_new_paragraph_without_a_blank_line():
    text = read([["12. Social workers know children very well and see them", "often and alone.",
                  "13. Management oversight of practice is embedded.", "3.36. This is not the occasion."]]).text
    assert text.split("\n\n") == [
        "12. Social workers know children very well and see them often and alone.",
        "13. Management oversight of practice is embedded.",
        "3.36. This is not the occasion.",
    ]
    passages = chunk("r", ReportText(text))
    assert [p.number for p in passages] == ["12", "13", "3.36"]


def test_a_bare_number_line_joins_the_paragraph_it_numbers():
    assert read([["5.", "When risks increase, strategy meetings are held."]]).text == \
        "5. When risks increase, strategy meetings are held."


def test_bullets_start_new_lines_of_the_same_paragraph():
    text = read([["The council should improve:", "• consistency in planning for disabled",
                  "children", "• the timeliness of initial visits.", "", "Next paragraph."]]).text
    assert text == ("The council should improve:\n• consistency in planning for disabled children\n"
                    "• the timeliness of initial visits.\n\nNext paragraph.")


def test_a_table_block_keeps_its_lines():
    table = ["Judgement Grade", "The impact of leaders on social work practice with children",
             "and families Outstanding", "Overall effectiveness Outstanding"]
    assert is_table(table, width=80)
    assert not is_table(PROSE, width=80)
    report = read([[*PROSE, "", *table, "", *PROSE]])
    assert "\n\n" + "\n".join(table) + "\n\n" in report.text
    start = report.text.index("Judgement Grade")
    assert report.tables == [[start, start + len("\n".join(table))]]


def test_words_hyphenated_at_line_ends_are_rejoined_by_the_reports_own_words():
    pages = [[
        "The investigation found a strengths-based model and a thorough",
        "investi-", "gation of each strengths-", "based plan, with well-", "matched actions. Each",
        "assess-", "ment is person-", "centred for every person we met.",
    ]]
    text = read(pages).text
    assert "thorough investigation of each strengths-based plan, with well-matched actions." in text
    assert "Each assessment is person-centred for every person" in text


def test_vocabulary_prefers_the_form_the_report_uses():
    vocabulary = Vocabulary.of([["a referral and a re-referral", "cost-effective work"]])
    assert vocabulary.join("the re-", "ferral") == "the referral"
    assert vocabulary.join("cost-", "effective") == "cost-effective"
    assert vocabulary.join("COVID-", "19 pandemic") == "COVID-19 pandemic"
    assert vocabulary.join("compa-", "ny") == "company"  # neither half is a word of the report


# --- across page breaks --------------------------------------------------------------------


def test_a_paragraph_running_over_a_page_break_is_one_paragraph_with_both_pages():
    report = read([
        [*PROSE, "", "5. Children at immediate risk are fast-tracked by the hub and", "picked up by the relevant"],
        ["locality-based assessment and intervention team.", "", "6. The recent introduction of a form."],
    ])
    paragraphs = report.text.split("\n\n")
    assert paragraphs[1] == ("5. Children at immediate risk are fast-tracked by the hub and picked up by the "
                             "relevant locality-based assessment and intervention team.")
    assert report.text[report.page_starts[1]:].startswith("locality-based assessment")
    passages = chunk("r", report)
    by_number = {p.number: p for p in passages}
    assert (by_number["5"].page, by_number["5"].page_end) == (1, 2)
    assert (by_number["6"].page, by_number["6"].page_end) == (2, 2)


def test_no_join_after_a_finished_sentence_or_before_a_new_numbered_paragraph():
    finished = read([[*PROSE], ["The next paragraph starts the page.", "It has two lines."]])
    assert finished.text.count("\n\n") == 1
    numbered = read([["5. A paragraph that stops in the middle of a", "sentence because"],
                     ["6. A new numbered paragraph."]])
    assert numbered.text.count("\n\n") == 1
    assert numbered.text[numbered.page_starts[1]:].startswith("6. A new")


def test_a_lower_case_continuation_joins_even_after_a_heading_like_line():
    report = read([[*PROSE[:2]], ["well, and plans are reviewed."]])
    assert report.text == " ".join(PROSE[:2]) + " well, and plans are reviewed."
    assert report.page_starts == [0, len(" ".join(PROSE[:2])) + 1]


def test_footnotes_at_the_foot_of_a_page_do_not_split_the_paragraph_they_interrupt():
    report = read([
        [*PROSE, "", "The council’s new safeguarding children partnership board5 met in", "",
         "5 The board was set up in 2022.", "6 Ibid."],
        ["September and agreed the plan."],
    ])
    paragraphs = report.text.split("\n\n")
    assert paragraphs[1] == "5 The board was set up in 2022.\n6 Ibid."
    assert paragraphs[2] == "The council’s new safeguarding children partnership board5 met in September and agreed the plan."
    # every line keeps its page: the footnotes stay on page 1, the paragraph starts on page 1
    assert report.page_at(report.text.index("6 Ibid")) == 1
    assert report.page_at(report.text.index("The council")) == 1
    assert report.page_at(report.text.index("September")) == 2
    # the reader marks the footnotes, so they become passages of their own kind
    start = report.text.index("5 The board")
    assert report.footnotes == [[start, start + len("5 The board was set up in 2022.\n6 Ibid.")]]
    assert report.kind_at(start, start + 10) == "footnote" and report.kind_at(0, 10) is None


def test_page_starts_cover_empty_pages_and_stay_ascending():
    report = read([[*PROSE], [], ["An image page came before this one."]])
    assert len(report.page_starts) == 3
    assert report.page_starts[1] == report.page_starts[2] == report.text.index("An image page")


# --- where lines sit on the page -----------------------------------------------------------


def body(text: str, y: float, size: float = 12) -> PlacedLine:
    return PlacedLine(text, y, size)


def test_a_wide_gap_after_a_sentence_is_a_paragraph_break_but_table_rows_stay_together():
    lines = [
        body("Services for children in Essex have continued to improve since the", 700),
        body("previous inspection. They are good.", 685.5),
        body("Senior leaders know their communities and services well and are", 665.5),  # wider gap
        body("responsive to children’s needs.", 651),
        body("The impact of leaders on social work practice with children", 600, 11),  # smaller: a break
        body("and families Outstanding", 587, 11),
        body("Overall effectiveness Outstanding", 557, 11),  # wide gap, no full stop: same block
    ]
    assert mark_gaps(lines) == [
        lines[0].text, lines[1].text, "", lines[2].text, lines[3].text, "", lines[4].text, lines[5].text, lines[6].text,
    ]


def test_raised_footnote_numbers_and_broken_lines_are_put_back():
    lines = [
        body("Traditionally, accountability has referred to compliance. The Single Audit Act,", 500, 11),
        PlacedLine("6", 504, 5.5),  # raised and small: a footnote reference
        body("for example, requires an audit.", 500, 11),  # same baseline: rest of the same line
        body("The next line of the paragraph is here.", 487, 11),
        body("Another line.", 474, 11),
    ]
    assert mark_gaps(lines)[0] == ("Traditionally, accountability has referred to compliance. The Single Audit Act,6 "
                                   "for example, requires an audit.")


def test_title_from_the_largest_text_on_page_one_with_the_line_below_a_short_name():
    lines = [
        PlacedLine("1 ", 29.4, 20),
        PlacedLine("Essex County Council ", 689.5, 26),
        PlacedLine("Inspection of children’s social care services ", 648.8, 16),
        PlacedLine("Inspection dates: 19 November 2018 to 23 November 2018 ", 619.1, 12),
        *[PlacedLine("Services for children in Essex have continued to improve.", 500 - 14 * i, 12) for i in range(5)],
    ]
    assert title_from_page(lines) == "Essex County Council: Inspection of children’s social care services"
    assert title_from_page([PlacedLine("Annual report of the board"), PlacedLine("It met twice.")]) == \
        "Annual report of the board"


def test_metadata_titles_from_tools_or_templates_are_not_titles():
    for junk in [None, "", "Microsoft Word - ILACS Essex.docx", "Untitled", "Essex - Draft Report",
                 "report.pdf", "905_Precinct_NoOU", "Document1"]:
        assert meaningful_title(junk) is None, junk
    assert meaningful_title("UK Covid-19 Inquiry - Module 1") == "UK Covid-19 Inquiry - Module 1"


def test_dates_from_metadata_and_page_one():
    assert pdf_date("D:20190103090900+00'00'") == "2019-01-03"
    assert pdf_date("D:00000101") is None and pdf_date("garbage") is None and pdf_date(None) is None
    assert find_date("Thursday, March 13, 2008") == "2008-03-13"
    assert find_date("Inspection date: 22 February 2016 to 17 March 2016") == "2016-02-22"
    assert date_from_page(["Inspection date: 22 February 2016", "Report published: 24 May 2016"]) == "2016-05-24"
    assert find_date("September 2006") is None


# --- the real report -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def essex():
    report = read_pdf(ESSEX, ESSEX.read_bytes())
    return report, chunk("essex", report)


def numbered(passages) -> dict:
    found = {}
    for p in passages:
        if p.number is None:
            continue
        assert p.number not in found or p.part > 1, f"paragraph {p.number} appears twice"
        found.setdefault(p.number, p)
    return found


def test_essex_title_date_and_pages(essex):
    report, _ = essex
    assert report.title == "Essex County Council: Inspection of children’s social care services"
    assert report.date == "2019-01-03"
    assert len(report.page_starts) == 11
    assert report.page_starts == sorted(report.page_starts)


def test_essex_numbered_paragraphs_all_found_once_with_their_pages(essex):
    _, passages = essex
    by_number = numbered(passages)
    assert [str(n) for n in range(1, 48)] == [n for n in by_number if n]
    # pages as the PDF shows them (pdftoppm / pdftotext -f N -l N)
    expected = {"1": (2, 2), "5": (2, 3), "6": (3, 3), "10": (3, 4), "12": (4, 4), "15": (5, 5), "20": (5, 6),
                "21": (6, 6), "26": (6, 7), "32": (7, 8), "33": (8, 8), "38": (9, 9), "43": (9, 10), "47": (10, 10)}
    for number, pages in expected.items():
        assert (by_number[number].page, by_number[number].page_end) == pages, number


def test_essex_paragraphs_read_as_prose_across_page_breaks(essex):
    report, passages = essex
    by_number = numbered(passages)
    assert "picked up by the relevant locality-based assessment and intervention team." in by_number["5"].text
    assert "an effective forum for improving outcomes for children." in by_number["10"].text
    assert "resulting in well-thought-out, child-centred placements" in by_number["33"].text
    assert "a strengths-based approach" in by_number["10"].text
    assert report.text[report.page_starts[2]:].startswith("locality-based assessment")
    for p in passages:
        if p.number:
            assert "\n" not in p.text.split("\n\n")[-1], p.text  # the paragraph itself is one line


def test_essex_has_no_running_page_numbers_and_keeps_its_table_and_bullet(essex):
    report, passages = essex
    assert not re.search(r"(^|\n)\d{1,2}(\n|$)", report.text)
    assert not any(re.search(r"\s\d{1,2}\s*$", p.text) for p in passages)
    assert "\n• Consistency in planning for disabled children and care leavers." in report.text
    table = next(p for p in passages if p.text.startswith("Judgement Grade"))
    assert table.text.endswith("\nOverall effectiveness Outstanding")
    assert table.page == 1


# --- refusals and noise --------------------------------------------------------------------


def refusal(name: str) -> str:
    path = DATA / name
    with pytest.raises(ReportError) as caught:
        read_pdf(path, path.read_bytes())
    return str(caught.value)


def test_encrypted_pdf_needing_a_password_is_refused_but_an_empty_password_is_tried():
    assert refusal("r4-aes-user-password.pdf").endswith(
        "r4-aes-user-password.pdf: encrypted PDF needing a password — not indexed; save an unlocked copy")
    path = DATA / "r6-empty-password.pdf"
    assert read_pdf(path, path.read_bytes()).text.strip()


def test_scanned_pdf_without_text_and_a_truncated_pdf_are_refused_with_reasons():
    assert refusal("imagemagick-lzw.pdf").endswith("no text layer (scanned?) — not indexed; OCR it first")
    assert re.search(r"T04_002_EOF-missing\.pdf: malformed PDF \(.+\) — not indexed$", refusal("T04_002_EOF-missing.pdf"))


def test_pypdf_prints_and_logs_nothing_while_reading_a_damaged_pdf(capfd, caplog):
    path = DATA / "T01_001_header-invalid-major-version.pdf"
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        report = read_pdf(path, path.read_bytes())
    assert "Hello PDF-world!" in report.text
    assert not caught and not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert capfd.readouterr() == ("", "")
    assert logging.getLogger("pypdf").level == logging.NOTSET  # left as it was found
