"""The page at phone width (390 px): chat, source viewer and reports view, nothing cut off."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_chat_at_phone_width_has_nothing_cut_off(phone):
    assert phone.cut_off() == []
    phone.page.locator("#rq-examples .rq-example").first.click()
    reply = phone.wait_for_reply(0)
    assert reply.locator("[data-rq-n='1']").is_visible()
    assert phone.cut_off() == []
    phone.shot("09-phone-answer.png", full_page=True)


def test_viewer_fills_the_phone_screen_with_the_cited_paragraph_in_view(phone):
    phone.open_source(phone.answers().first.locator("[data-rq-n='1']"))
    box = phone.viewer.bounding_box()
    assert box["x"] == 0 and box["width"] == 390, box
    close = phone.viewer.locator(".rq-close").bounding_box()
    assert close["x"] >= 0 and close["x"] + close["width"] <= 390
    assert phone.in_view(phone.target) and phone.target.locator("mark.rq-hl").count() >= 1
    assert phone.cut_off() == []
    phone.shot("10-phone-viewer.png")
    phone.viewer.locator(".rq-close").click()  # by touch, not Escape
    phone.viewer.wait_for(state="hidden")


def test_reports_view_at_phone_width_has_nothing_cut_off(phone):
    phone.tab("Reports")
    phone.page.locator("#rq-reports table").wait_for()
    assert phone.cut_off() == []
    # every report's details are there as a card, the full hash included
    assert phone.page.locator("#rq-reports td[data-label='SHA-256']").first.is_visible()
    phone.shot("11-phone-reports.png", full_page=True)
    phone.check_clean()
