"""Login in a real Chromium: Gradio's login form, then the Reports tab as an admin (upload and
remove controls) and as a user who is not one (a note instead). Server: ``login_server``."""
import pytest

from .chat_page import ChatPage
from .conftest import DESKTOP

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def logged_in(browser, server, user: str) -> ChatPage:
    chat = ChatPage(browser.new_context(viewport=DESKTOP).new_page(), server.url)
    chat.page.goto(server.url)
    chat.page.get_by_label("username").fill(user)
    chat.page.get_by_label("password").fill(server.passwords[user])
    chat.page.get_by_role("button", name="Login").click()
    chat.page.wait_for_selector("#rq-question textarea")
    return chat


def test_a_wrong_password_stays_on_the_login_form(browser, login_server):
    chat = ChatPage(browser.new_context(viewport=DESKTOP).new_page(), login_server.url)
    try:
        chat.page.goto(login_server.url)
        chat.page.get_by_label("username").fill("bob")
        chat.page.get_by_label("password").fill(login_server.passwords["alice"])
        chat.page.get_by_role("button", name="Login").click()
        chat.page.get_by_text("Incorrect Credentials", exact=False).wait_for()
        assert chat.page.locator("#rq-question").count() == 0
        chat.shot("15-login-refused.png")
        chat.check_clean()
    finally:
        chat.close()


@pytest.mark.parametrize("user, admin", [("bob", False), ("alice", True)])
def test_only_an_admin_sees_the_upload_and_remove_controls(browser, login_server, user, admin):
    chat = logged_in(browser, login_server, user)
    try:
        chat.tab("Reports")
        chat.page.locator("#rq-reports table").wait_for()
        chat.page.wait_for_timeout(300)  # the page load's updates are applied together
        tools, note = chat.page.locator("#rq-library-tools"), chat.page.locator("#rq-admins-only")
        if admin:
            tools.wait_for(state="visible")
            assert chat.page.locator("#rq-upload").is_visible() and chat.page.locator("#rq-remove").is_visible()
            assert not note.is_visible()
        else:
            note.wait_for(state="visible")
            assert "Only an admin can add or remove reports" in note.inner_text()
            assert not chat.page.locator("#rq-upload").is_visible() and not chat.page.locator("#rq-remove").is_visible()
        chat.shot(f"16-reports-as-{'admin' if admin else 'user'}.png")
        chat.check_clean()
    finally:
        chat.close()
