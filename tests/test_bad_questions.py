"""Hostile and odd questions (tests/bad_questions.py) asked of qa and of the real ``/ask`` API:
an answer, an abstention or a one-line message, never another exception, a traceback or a 500.
The browser side (nothing in them runs as script) is tests/browser/test_bad_questions.py."""
import json

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from bad_questions import ANSWERED, BAD_QUESTIONS, REFUSED
from qa.ask import MAX_QUESTION_CHARS, QuestionError, check_question

NAMES = list(BAD_QUESTIONS)


def test_check_question_keeps_the_words_and_drops_what_is_not_text():
    assert check_question("  How\tare \n missing\u00a0children  handled? ") == "How are missing children handled?"
    assert check_question("domestic\x00abuse\x1b[31m") == "domestic abuse [31m"
    assert check_question("dom\u200bestic \u202eabuse\u202c \ud800") == "domestic abuse"
    assert check_question("ماذا قال المفتشون؟ 🤔") == "ماذا قال المفتشون؟ 🤔"
    assert check_question("<script>x</script>") == "<script>x</script>"  # text; the page escapes it
    assert check_question("a" * MAX_QUESTION_CHARS) == "a" * MAX_QUESTION_CHARS


@pytest.mark.parametrize("question, message", [
    (None, "Empty question: type a question about the reports."),
    ("\x00 \u200b\ufeff \ud800", "Empty question: type a question about the reports."),
    ("a" * (MAX_QUESTION_CHARS + 1), "Question is 1,001 characters long; the limit is 1,000: shorten it."),
    (12, "Question must be text, not int: type a question about the reports."),
])
def test_check_question_refuses_in_one_line_naming_what_is_wrong(question, message):
    with pytest.raises(QuestionError) as caught:
        check_question(question)
    assert str(caught.value) == message


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_qa_answers_abstains_or_refuses_in_one_line(seed_asker, name):
    question = BAD_QUESTIONS[name]
    try:
        answer = seed_asker.ask(question)
    except QuestionError as exc:
        assert name in REFUSED, f"{name}: refused: {exc}"
        assert str(exc).startswith(REFUSED[name]) and "\n" not in str(exc)
        return
    assert name not in REFUSED, f"{name}: not refused"
    assert answer.citations and (answer.abstained or answer.sentences)
    if name in ANSWERED:
        assert not answer.abstained, name
    # what the API and the CLI send: valid UTF-8 JSON (a lone surrogate would not encode)
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")


@pytest.mark.slow
def test_a_follow_up_to_a_question_typed_with_odd_characters_is_answered(seed_asker):
    # The chat passes the previous question as it was typed, and a follow-up is searched with it.
    for name in ("lone-surrogate", "nul", "control-chars", "zero-width", "hebrew-with-rtl-override", "emoji"):
        answer = seed_asker.ask("and what about missing children?", previous=BAD_QUESTIONS[name])
        assert answer.citations, name


@pytest.fixture(scope="module")
def client(seed_server):
    return Client(seed_server.url, verbose=False)


@pytest.mark.slow
def test_api_answers_abstains_or_refuses_in_one_line(client, seed_server):
    logged = len(seed_server.output())
    for name, question in BAD_QUESTIONS.items():
        if name == "lone-surrogate":  # gradio_client cannot encode it; sent raw below
            continue
        try:
            answer = client.predict(question, api_name="/ask")
        except AppError as exc:
            assert name in REFUSED, f"{name}: refused: {exc}"
            assert str(exc).startswith(REFUSED[name]) and "\n" not in str(exc), (name, str(exc))
            continue
        assert name not in REFUSED, f"{name}: not refused"
        assert isinstance(answer, dict) and answer["citations"], (name, answer)
        assert answer["abstained"] or answer["sentences"], (name, answer)
    assert "Traceback" not in seed_server.output()[logged:]


def _call(url: str, body: bytes) -> tuple[int, str]:
    """POST a raw body to /ask, then read its result: (HTTP status, the result's text)."""
    with httpx.Client(timeout=60) as http:
        posted = http.post(url + "gradio_api/call/ask", content=body, headers={"content-type": "application/json"})
        if posted.status_code != 200:
            return posted.status_code, posted.text
        result = http.get(url + f"gradio_api/call/ask/{posted.json()['event_id']}")
        return result.status_code, result.text


@pytest.mark.slow
def test_api_takes_what_a_raw_request_can_carry_without_a_500(seed_server):
    logged = len(seed_server.output())
    # a lone surrogate, as JSON escapes carry it: dropped, the words answered
    status, text = _call(seed_server.url, b'{"data": ["domestic \\ud800 abuse", null]}')
    assert status == 200 and "event: complete" in text and '"question": "domestic abuse"' in text, text
    for body, message in (
        (b'{"data": ["\\u0000\\u0001\\u200b", null]}', "Empty question"),
        (b'{"data": [12, null]}', "Question must be text, not int"),
        (b'{"data": [null, null]}', "Empty question"),
        (b'{"data": ["domestic abuse", ["<script>x</script>"]]}', "No report '<script>x</script>' in the index"),
    ):
        status, text = _call(seed_server.url, body)
        assert status == 200 and "event: error" in text and f'"error": "{message}' in text, (body, text)
    # not JSON, or not UTF-8: refused before the app sees it
    for body in (b'{"data": ["domestic \xff\xfe abuse", null]}', b"not json"):
        assert _call(seed_server.url, body)[0] in (400, 422), body
    assert "Traceback" not in seed_server.output()[logged:]


def test_the_library_status_shows_file_names_as_text_not_markdown_or_html():
    from web.page.reports import notice_html

    html = notice_html('Not added: [x](javascript:alert(1)).pdf: bad\n\nNot added: <img src=x onerror="alert(1)">.md: bad')
    assert html == ('<p>Not added: [x](javascript:alert(1)).pdf: bad</p>'
                    '<p>Not added: &lt;img src=x onerror=&quot;alert(1)&quot;&gt;.md: bad</p>')
    assert notice_html("") == ""
