"""The web chat: formatting on tiny known answers, then the real app.py served on loopback."""
import subprocess
import sys

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from qa.ask import QuestionError
from qa.types import Answer, Citation

from helpers_app import ROOT, start_app


def citation(n=1, text="Alpha <b>beta</b>. Gamma & delta.", highlights=((0, 18),), page=None, page_end=None, **kw):
    fields = dict(n=n, report="r", title="A <Report> & Co", source="lib/r.txt", page=page, page_end=page_end,
                  paragraph=7, number=None, start=0, end=len(text), text=text, score=0.734,
                  highlights=[list(h) for h in highlights])
    fields.update(kw)
    return Citation(**fields)


class FakeAsker:
    def __init__(self, result):
        self.result = result

    def ask(self, question):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


# --- formatting --------------------------------------------------------------------------


def test_marked_escapes_and_highlights_without_shifting_offsets():
    assert app.marked("a<b>c", [[1, 4]]) == "a<mark>&lt;b&gt;</mark>c"
    # overlapping, unsorted and out-of-range spans merge into one clean mark
    assert app.marked("abcdef", [[3, 9], [1, 4], [5, 5]]) == "a<mark>bcdef</mark>"
    assert app.marked("x & y", []) == "x &amp; y"


def test_where_names_paragraph_number_and_pages():
    assert app.where(citation()) == "paragraph 7"
    assert app.where(citation(number="13")) == "paragraph 7 (numbered 13.)"
    assert app.where(citation(page=3, page_end=3)) == "paragraph 7, p. 3"
    assert app.where(citation(page=3, page_end=4)) == "paragraph 7, pp. 3–4"


def test_sources_html_lists_every_citation_escaped():
    html = app.sources_html(Answer("q", "Alpha. [1]", False, [citation(1), citation(2, text="<script>x</script>", highlights=())]))
    assert "[1] A &lt;Report&gt; &amp; Co — paragraph 7" in html and "[2] " in html
    assert "score 0.73" in html
    assert "<mark>Alpha &lt;b&gt;beta&lt;/b&gt;.</mark> Gamma &amp; delta." in html
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_chat_reply_notes_not_found_and_low_confidence():
    assert app.chat_reply(Answer("q", "Alpha. [1]", False, [citation()])) == "Alpha. [1]"
    weak = app.chat_reply(Answer("q", "Alpha. [1]", False, [citation()], low_confidence=True))
    assert weak.startswith("Alpha. [1]") and "Low confidence" in weak
    assert app.chat_reply(Answer("q", "", True, [], low_confidence=True)).startswith("Not found in the indexed reports")


@pytest.mark.parametrize(
    "result, reply",
    [
        (QuestionError("Empty question: type a question about the reports."), "Empty question: type a question about the reports."),
        (RuntimeError("index\nbroken"), "Error: index broken"),
    ],
)
def test_chat_turn_puts_one_line_in_the_chat_and_never_raises(result, reply):
    box, history, sources = app.chat_turn(FakeAsker(result), "  ", [])
    assert box == "" and history == [{"role": "assistant", "content": reply}]
    assert sources == app.NO_SOURCES


def test_chat_turn_history_is_valid_chatbot_messages():
    answer = Answer("q", "Alpha. [1]", False, [citation()])
    _, history, sources = app.chat_turn(FakeAsker(answer), "q", [])
    assert [m["role"] for m in history] == ["user", "assistant"] and history[1]["content"] == "Alpha. [1]"
    assert "<mark>" in sources
    gr.Chatbot().postprocess(history)  # raises if not the messages format


def test_only_ask_is_on_the_api():
    demo = app.build_app(FakeAsker(Answer("q", "Alpha. [1]", False, [citation()])))
    assert list(demo.get_api_info()["named_endpoints"]) == ["/ask"]


def test_help_loads_no_model():
    code = (
        "import runpy, sys\nsys.argv = ['app.py', '--help']\n"
        "try:\n    runpy.run_path('app.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('torch', 'sentence_transformers', 'qa.ask') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    assert "--library" in out and "HEAVY []" in out


# --- the real server, real model, real seed report ------------------------------------------


@pytest.fixture(scope="module")
def server(seed_library, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    running = start_app(seed_library, tmp / "index", tmp / "app.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


@pytest.mark.slow
def test_api_answers_from_the_seed_report(client):
    answer = client.predict("What did the inspectors say about how the force deals with domestic abuse?", api_name="/ask")
    assert isinstance(answer, dict) and answer["abstained"] is False
    assert answer["citations"], answer
    assert "response to victims of domestic abuse is poor" in answer["citations"][0]["text"]
    assert "[1]" in answer["answer"]


@pytest.mark.slow
def test_api_abstains_off_topic(client):
    answer = client.predict("What is the capital of France?", api_name="/ask")
    assert answer["abstained"] is True
    assert answer["answer"].startswith("Not found in the indexed reports")


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   "])
def test_api_rejects_an_empty_question_with_a_one_line_error(client, question):
    # A bad request is an error, not an answer: callers can tell it from "not found" (abstained).
    with pytest.raises(AppError, match="Empty question") as caught:
        client.predict(question, api_name="/ask")
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_server_exposes_only_ask_and_printed_its_url(client, server):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]
    assert f"serving {server.url}" in server.output()
