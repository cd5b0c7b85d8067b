"""Start-up in a real browser: the page is there at once, says it is loading, and a question
asked meanwhile is answered once the model and the index are loaded; a loading that fails says
why, in one line, instead of "loading" forever. Each scenario starts its own server."""
import shutil

import pytest

from .conftest import DESKTOP, _chat_page
from helpers_app import ROOT, STARTUP_TIMEOUT, start_app, wait_until_served

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUESTION = "What did the inspectors say about how the force deals with domestic abuse?"
LOADED_MS = 180_000  # the index is built first: the seed embedded, behind the served page


@pytest.fixture
def server(tmp_path):
    library = tmp_path / "library"
    shutil.copytree(ROOT / "seeds", library)
    started = []

    def start(*args):
        running = start_app(library, tmp_path / "index", tmp_path / "app.log", *args, wait=False)
        started.append(running)
        wait_until_served(running, STARTUP_TIMEOUT, poll=0.1)
        return running

    yield start
    for running in started:
        running.stop()


def test_the_page_says_it_is_loading_and_answers_a_question_asked_meanwhile(browser, server):
    chat = _chat_page(browser, server(), DESKTOP)  # no index yet: it is built behind the page
    try:
        chat.goto()
        status = chat.page.locator("#rq-status")
        assert status.get_by_role("status").is_visible()
        assert "answered as soon as it is ready" in status.inner_text()
        chat.shot("12-loading.png")
        chat.question.fill(QUESTION)
        chat.question.press("Enter")
        waiting = chat.page.locator("#rq-transcript .rq-pending", has_text="Your question will be answered as soon as it is ready")
        waiting.wait_for(timeout=10_000)
        chat.page.wait_for_function(
            "() => document.querySelector('#rq-transcript .rq-bot') && !document.querySelector('#rq-transcript .rq-pending')",
            timeout=LOADED_MS,
        )
        reply = chat.answers().first
        assert "[1]" in reply.locator(".rq-answer").inner_text()
        status.wait_for(state="hidden", timeout=10_000)
        chat.tab("Reports")  # filled in once loaded
        assert chat.page.locator("#rq-reports tr", has_text="Essex Police").count() == 1
        chat.shot("13-answered-after-loading.png")
        chat.check_clean()
    finally:
        chat.close()


def test_a_loading_that_fails_says_why_in_one_line_instead_of_loading(browser, server, tmp_path):
    chat = _chat_page(browser, server("--model", str(tmp_path / "no-model")), DESKTOP)
    try:
        chat.goto()
        alert = chat.page.locator("#rq-status [role=alert]")
        alert.wait_for(timeout=30_000)
        message = alert.inner_text()
        assert message.startswith("Report QA could not start: model ") and "no-model" in message
        assert not chat.page.locator("#rq-status [role=status]").count()
        reply = chat.ask(QUESTION)
        assert reply.locator(".rq-error").inner_text() == message
        chat.shot("14-loading-failed.png")
        chat.check_clean()
    finally:
        chat.close()
