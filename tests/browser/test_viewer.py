"""Checking a citation in a real browser: ask, click [n], read the cited paragraph in its report.

One page on the seed server for the whole module; the tests run in order and build on it.
"""
from urllib.parse import urljoin

import pytest

from .chat_page import record_timing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTION = "What did the inspectors say about how the force deals with domestic abuse?"
SEED_TITLE = "Damning report into Essex Police paints picture of chaos, confusion and incompetence"


def test_first_visit_welcomes_with_example_questions(desktop):
    assert desktop.page.locator("#rq-transcript .rq-welcome").is_visible()
    examples = desktop.page.locator("#rq-examples .rq-example")
    assert examples.count() >= 3 and examples.first.is_visible()
    desktop.shot("01-first-visit.png")


def test_clicking_a_citation_in_the_answer_shows_the_cited_paragraph_highlighted(desktop):
    reply = desktop.ask(QUESTION)
    answer = reply.locator(".rq-answer").inner_text()
    assert "[1]" in answer, answer
    seconds = desktop.open_source(reply.locator("[data-rq-n='1']"))

    viewer, target = desktop.viewer, desktop.target
    assert viewer.locator("#rq-viewer-title").inner_text() == SEED_TITLE
    assert viewer.locator(".rq-viewer-where").inner_text() == f"Citation [1] of {desktop.page.locator('#rq-sources .rq-source').count()}"
    assert "response to victims of domestic abuse is poor" in target.inner_text()
    assert desktop.in_view(target), "the cited paragraph is not scrolled into view"
    highlighted = target.locator("mark.rq-hl")
    assert highlighted.count() >= 1
    assert highlighted.first.inner_text().strip() in answer  # the answer's own words, marked in the report
    # focus moved to the paragraph, so a screen reader or keyboard user lands on it
    assert desktop.page.evaluate("document.activeElement.id") == "rq-target"
    desktop.shot("02-viewer-cited-paragraph.png")
    record_timing("seed report, [1] in the answer", seconds, desktop.browser_seconds())
    assert seconds < 3.0


def test_previous_and_next_walk_the_answers_citations(desktop):
    viewer = desktop.viewer
    assert viewer.locator(".rq-prev").is_disabled()
    desktop.open_source(viewer.locator(".rq-next"))
    assert viewer.locator(".rq-viewer-where").inner_text().startswith("Citation [2] of")
    assert desktop.in_view(desktop.target)
    assert desktop.page.locator("#rq-sources .rq-current").get_attribute("id") == "source-2"
    desktop.open_source(viewer.locator(".rq-prev"))
    assert viewer.locator(".rq-viewer-where").inner_text().startswith("Citation [1] of")


def test_the_download_link_serves_the_original_file(desktop, seed_library):
    href = desktop.viewer.locator("a.rq-download").get_attribute("href")
    response = desktop.page.request.get(urljoin(desktop.url, href))
    assert response.ok
    assert response.body() == (seed_library / "essex-police-hmic-inspection-news-summary.txt").read_bytes()


def test_a_citation_in_the_sources_panel_opens_the_viewer_too(desktop):
    desktop.close_viewer()
    desktop.open_source(desktop.page.locator("#rq-sources [data-rq-n='3']"))
    assert desktop.viewer.locator(".rq-viewer-where").inner_text().startswith("Citation [3] of")
    assert desktop.in_view(desktop.target)
    sources_passage = desktop.page.locator("#source-3 .rq-passage").inner_text().strip()
    assert desktop.target.inner_text().strip()[:40] in sources_passage or sources_passage[:40] in desktop.target.inner_text()
    desktop.close_viewer()


def test_keyboard_alone_opens_and_closes_a_citation(desktop):
    page = desktop.page
    desktop.question.focus()
    for _ in range(15):  # Shift+Tab back from the question box to the answer's [1]
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.dataset.rqN") == "1":
            break
    else:
        pytest.fail("Shift+Tab from the question never reached the [1] citation")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'rq-target'")
    assert desktop.viewer.is_visible()
    page.keyboard.press("Escape")
    desktop.viewer.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.dataset.rqN") == "1"  # focus went back where it was
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.closest('[id^=rq-]')?.id || document.activeElement.className"))
    assert {"rq-question", "rq-ask", "rq-clear", "rq-filter"} <= reached, reached


def test_copy_puts_the_answer_and_its_citations_on_the_clipboard_as_markdown(desktop):
    first = desktop.answers().first
    first.locator(".rq-copy").click()
    first.locator(".rq-copied", has_text="Copied").wait_for()
    markdown = desktop.page.evaluate("navigator.clipboard.readText()")
    assert markdown.startswith(f"> {QUESTION}\n\n")
    assert "[1]" in markdown and "Sources:" in markdown
    assert f"- [1] *{SEED_TITLE}*, paragraph 19 (numbered 13.)" in markdown


def test_not_found_and_bad_questions_get_a_one_line_note_never_a_traceback(desktop):
    long = desktop.ask("why " * 300)
    message = long.locator(".rq-error").inner_text()
    assert message.startswith("Question is") and "\n" not in message
    not_found = desktop.ask("What is the capital of France?")
    assert not_found.locator(".rq-note.rq-not-found").inner_text().startswith("Not found in the indexed reports")
    assert "Nearest passages (low confidence)" in desktop.page.locator("#rq-sources").inner_text()
    empty = desktop.ask("   ", submit="button")
    assert empty.locator(".rq-error").inner_text() == "Empty question: type a question about the reports."
    # a bad question leaves the sources of the last answer in place
    assert "Nearest passages (low confidence)" in desktop.page.locator("#rq-sources").inner_text()
    assert "Traceback" not in desktop.page.locator("#rq-transcript").inner_text()
    desktop.shot("03-not-found-and-errors.png")


def test_clear_chat_brings_back_the_examples_and_an_example_asks(desktop):
    desktop.clear()
    assert desktop.answers().count() == 0
    assert "Sources for the latest answer appear here" in desktop.page.locator("#rq-sources").inner_text()
    example = desktop.page.locator("#rq-examples .rq-example").first
    example.click()
    reply = desktop.wait_for_reply(0)
    assert reply.locator("[data-rq-n='1']").count() == 1
    assert not desktop.page.locator("#rq-examples").is_visible()
    desktop.check_clean()
