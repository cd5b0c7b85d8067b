"""Hostile questions (tests/bad_questions.py) and a report whose title is markup, in a real
browser: nothing in them runs as script or becomes an element, each question is shown as text,
and the page still answers afterwards.

One page on the library scenario's server (it may add and remove reports); the hostile report is
uploaded, asked about and removed again, so test_library.py finds the library as it was.
"""
import re

import pytest

from bad_questions import BAD_QUESTIONS, NORMAL, PWNED, REFUSED
from qa.ask import check_question

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED_TITLE = "Damning report into Essex Police paints picture of chaos, confusion and incompetence"
# A TXT report's first line becomes its title (index.read.first_line_title).
HOSTILE_TITLE = f'<script>{PWNED}</script><img src=x onerror="{PWNED}"> Lighthouse keepers inspection'
HOSTILE_REPORT = f"""{HOSTILE_TITLE}

The inspectors found that the lighthouse keepers logged every storm <b>on time</b> and kept the lamps lit. <script>{PWNED}</script>

The keepers' logbooks <img src=x onerror="{PWNED}"> were complete, though the fog signal failed twice in the winter.
"""
HOSTILE_FILE = "<img src=x onerror=alert(1)> lighthouse.txt"  # no quotes: Chromium sends them as %22
HOSTILE_ID = "img-src-x-onerror-alert-1-lighthouse"  # index.library.safe_name of it
FAKE_PDF = "<img src=x onerror=alert(1)>[x](javascript:alert(1)).pdf"
LIGHTHOUSE = "What did the inspectors find about the lighthouse keepers and their logbooks?"

# What a script fragment would leave if it ran, or became markup: elements our HTML never makes,
# inside what the app renders; anywhere on the page, an on* attribute or a javascript: URL.
INJECTED_JS = """
() => {
  const found = [];
  for (const box of document.querySelectorAll('#rq-transcript, #rq-sources, #rq-viewer, #rq-reports, #rq-library-status'))
    for (const el of box.querySelectorAll('script, img, svg, iframe, object, embed, math, style, link, meta, base, form, a[href]:not([download])'))
      found.push(`${box.id}: <${el.tagName.toLowerCase()}>`);
  for (const el of document.querySelectorAll('*'))
    for (const a of el.attributes)
      if (/^on/i.test(a.name) || (/^(href|src|action|formaction|srcdoc|xlink:href)$/i.test(a.name) && /^\\s*javascript:/i.test(a.value)))
        found.push(`<${el.tagName.toLowerCase()} ${a.name}="${a.value.slice(0, 60)}">`);
  return found;
}
"""
MARKUP = {"script-tag", "img-onerror", "svg-onload", "attribute-break", "javascript-link", "markdown-link",
          "markdown-image", "html-entities", "template-braces", "iframe-srcdoc", "sql-drop", "sql-union", "alert"}


def assert_inert(chat, dialogs, scripts: int, after: str) -> None:
    assert chat.page.evaluate("typeof window.__pwned") == "undefined", f"a script ran after {after}"
    assert not dialogs, f"a dialog opened after {after}: {dialogs}"
    assert chat.page.evaluate(INJECTED_JS) == [], after
    assert chat.page.evaluate("document.scripts.length") == scripts, f"a <script> was added after {after}"


def test_bad_questions_and_a_markup_title_stay_text_and_the_page_still_works(browser, library_server):
    from .conftest import DESKTOP, _chat_page

    chat = _chat_page(browser, library_server, DESKTOP)
    dialogs = []
    chat.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        chat.goto()
        scripts = chat.page.evaluate("document.scripts.length")
        assert_inert(chat, dialogs, scripts, "loading the page")

        for name, question in BAD_QUESTIONS.items():
            reply = chat.ask(question, submit="button")
            if name in REFUSED:
                error = reply.locator(".rq-error").inner_text()
                assert error.startswith(REFUSED[name]) and "\n" not in error, (name, error)
            else:
                assert reply.locator(".rq-answer, .rq-not-found").count(), (name, reply.inner_text())
            assert "Traceback" not in reply.inner_text() and "Error:" not in reply.inner_text(), name
            if name in MARKUP:  # shown as the text it is, in the chat and above the sources
                assert chat.page.locator("#rq-transcript .rq-user p").last.text_content() == question, name
                assert chat.page.locator("#rq-sources .rq-sources > .rq-meta").text_content() == (
                    f"for “{check_question(question)}”"), name
            cite = reply.locator(".rq-answer [data-rq-n='1']").first
            if cite.count():
                chat.open_source(cite)
                assert chat.viewer.locator("#rq-viewer-title").inner_text() == SEED_TITLE, name
                chat.close_viewer()
            assert_inert(chat, dialogs, scripts, name)

        reply = chat.ask(NORMAL)
        assert "domestic abuse" in reply.locator(".rq-answer").inner_text()
        chat.open_source(reply.locator(".rq-answer [data-rq-n='1']").first)
        assert "domestic abuse is poor" in chat.target.inner_text()
        chat.close_viewer()

        # A refused upload's name is in the status line: shown as text, not read as Markdown.
        chat.tab("Reports")
        chat.page.locator("#rq-upload input[type=file]").set_input_files(
            [{"name": FAKE_PDF, "mimeType": "application/pdf", "buffer": b"not a PDF"}])
        chat.page.locator("#rq-library-status", has_text="Not added").wait_for(timeout=30_000)
        status = chat.page.locator("#rq-library-status").inner_text()
        # Gradio's upload drops "<", ">" and ":" from the name; the Markdown link is left, as text
        assert "[x](javascript" in status and ".pdf: named .pdf but its content is not a PDF" in status, status
        assert_inert(chat, dialogs, scripts, "a refused upload")

        # A report whose title (its first line) and text are markup, uploaded under a markup name.
        chat.page.locator("#rq-upload input[type=file]").set_input_files(
            [{"name": HOSTILE_FILE, "mimeType": "text/plain", "buffer": HOSTILE_REPORT.encode()}])
        chat.page.locator("#rq-library-status", has_text="lighthouse").wait_for(timeout=90_000)
        status = chat.page.locator("#rq-library-status").inner_text()
        assert status.startswith(f"Added {HOSTILE_ID}.txt: 1 report added"), status
        row = chat.page.locator("#rq-reports tr", has_text="Lighthouse keepers inspection")
        assert row.locator("strong").text_content() == HOSTILE_TITLE
        assert_inert(chat, dialogs, scripts, "the upload")
        chat.open_source(row.locator("button.rq-open"))
        assert chat.viewer.locator("#rq-viewer-title").text_content() == HOSTILE_TITLE
        assert f"<script>{PWNED}</script>" in chat.viewer.locator(".rq-doc").text_content()
        chat.close_viewer()

        chat.tab("Chat")
        chat.page.locator("#rq-filter input[role=combobox]").click()
        option = chat.page.get_by_role("option", name=re.compile(re.escape(f"({HOSTILE_ID})") + "$"))
        assert option.text_content().lstrip("✓ ").strip() == f"{HOSTILE_TITLE} ({HOSTILE_ID})"  # ✓: Gradio's tick
        chat.page.keyboard.press("Escape")
        reply = chat.ask(LIGHTHOUSE)
        assert "lighthouse keepers" in reply.locator(".rq-answer").inner_text()
        assert reply.locator(".rq-from cite").first.text_content() == HOSTILE_TITLE
        assert HOSTILE_TITLE in chat.page.locator("#source-1 .rq-where").text_content()
        chat.open_source(reply.locator(".rq-answer [data-rq-n='1']").first)
        assert chat.viewer.locator("#rq-viewer-title").text_content() == HOSTILE_TITLE
        assert "<b>on time</b>" in "".join(chat.page.locator("#rq-viewer .rq-cited").all_text_contents())
        chat.close_viewer()
        assert_inert(chat, dialogs, scripts, "asking about the report with a markup title")
        chat.shot("15-bad-questions.png")
    finally:
        if (library_server.library / f"{HOSTILE_ID}.txt").exists():
            chat.page.keyboard.press("Escape")  # the viewer, if a failure left it open
            chat.tab("Reports")
            chat.choose("rq-remove-choice", re.compile(re.escape(f"({HOSTILE_ID})") + "$"))
            chat.page.locator("#rq-remove").click()
            chat.page.locator("#rq-library-status", has_text=f"Removed {HOSTILE_ID}.txt").wait_for(timeout=60_000)
        chat.close()
    assert not (library_server.library / f"{HOSTILE_ID}.txt").exists()
    chat.check_clean()
