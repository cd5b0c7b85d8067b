"""The web chat: ask the reports a question, read the answer beside the passages it cites.

``python app.py [--host H] [--port P] [--library DIR] [--index DIR] [--model M]``

UI only: :class:`qa.ask.Asker` answers; this module builds the page and formats what it returns.
Programs get the same answer as JSON from the ``/ask`` endpoint::

    Client("http://127.0.0.1:7860/").predict("How are missing children handled?", api_name="/ask")

A bad question (empty, too long) makes ``/ask`` raise a one-line error (``AppError`` in
``gradio_client``) rather than return an answer, so a caller can tell "bad request" from
"the reports do not cover this" (``abstained``).
"""
# No ``from __future__ import annotations``: gr.api reads the endpoint's type hints as objects.
import argparse
import html
import logging
import os
import sys
from pathlib import Path

# Before gradio (and the model) are imported: the app must start and run with no internet.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"

log = logging.getLogger("reportqa.app")

NOT_FOUND = "Not found in the indexed reports."
LOW_CONFIDENCE = "(Low confidence: the best evidence is weak; check the sources.)"
NO_SOURCES = '<p class="rq-empty">Sources for the latest answer appear here.</p>'
CSS = """
.rq-sources ol { list-style: none; padding-left: 0; }
.rq-source { margin-bottom: 1em; }
.rq-where { font-weight: 600; }
.rq-meta { font-size: 0.85em; opacity: 0.75; }
.rq-passage { white-space: pre-wrap; margin: 0.3em 0 0 0; }
"""


# --- formatting: pure functions over qa.types.Answer / Citation ---------------------------


def one_line(exc: BaseException) -> str:
    """An exception as one line for the user: its message, else its type."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def chat_reply(answer) -> str:
    """The assistant's message: the answer with its [n] markers, plus any caveat."""
    text = answer.answer
    if answer.abstained and NOT_FOUND.rstrip(".") not in text:
        text = f"{NOT_FOUND} {text}".strip()
    if answer.low_confidence and not answer.abstained:
        text = f"{text}\n\n{LOW_CONFIDENCE}"
    return text


def where(citation) -> str:
    """``paragraph 19 (numbered 13.), pp. 3–4``: enough to find the passage in the report."""
    text = f"paragraph {citation.paragraph}"
    if citation.number:
        text += f" (numbered {citation.number}.)"
    if citation.page is not None:
        if citation.page_end in (None, citation.page):
            text += f", p. {citation.page}"
        else:
            text += f", pp. {citation.page}–{citation.page_end}"
    return text


def marked(text: str, spans) -> str:
    """``text`` HTML-escaped, with the ``[start, end]`` spans wrapped in ``<mark>``.

    Spans are clamped to the text, sorted and merged first, so overlapping or out-of-range
    highlights cannot produce broken markup.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, int(s)), min(len(text), int(e))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    # subtle: escape each piece separately; escaping first would shift the offsets.
    out, pos = [], 0
    for start, end in merged:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def sources_html(answer) -> str:
    """Every citation: number, report title, where, score, and the passage with highlights."""
    if not answer.citations:
        return '<p class="rq-empty">No passages to show.</p>'
    heading = "Nearest passages (low confidence)" if answer.abstained else "Sources"
    items = []
    for c in answer.citations:
        items.append(
            f'<li class="rq-source" id="source-{c.n}">'
            f'<div class="rq-where">[{c.n}] {html.escape(c.title)} — {html.escape(where(c))}</div>'
            f'<div class="rq-meta">score {c.score:.2f} · {html.escape(c.source)}</div>'
            f'<blockquote class="rq-passage">{marked(c.text, c.highlights)}</blockquote>'
            "</li>"
        )
    return f'<div class="rq-sources"><h3>{heading}</h3><ol>{"".join(items)}</ol></div>'


def chat_turn(asker, message: str, history: list) -> tuple[str, list, str]:
    """One chat turn: (cleared textbox, history with the reply appended, sources panel HTML).

    Never raises: a bad question gets its one-line message, any other failure one line
    starting ``Error:`` (the traceback goes to the log).
    """
    from qa.ask import QuestionError

    history = list(history or [])
    if message and message.strip():
        history.append({"role": "user", "content": message})
    try:
        answer = asker.ask(message)
    except QuestionError as exc:
        reply, sources = one_line(exc), NO_SOURCES
    except Exception as exc:  # a bug or a broken index: one line in the chat, traceback in the log
        log.exception("asking %r failed", message)
        reply, sources = f"Error: {one_line(exc)}", NO_SOURCES
    else:
        reply, sources = chat_reply(answer), sources_html(answer)
    history.append({"role": "assistant", "content": reply})
    return "", history, sources


def reports_table(reports) -> list[list]:
    """Rows for the reports view: what a reader needs to know which report is which."""
    return [
        [r.id, r.title, r.publisher or "", r.date or "", r.kind or "", r.pages or "", r.passages,
         (r.indexed_at or "")[:19], r.sha256[:12]]
        for r in reports
    ]


REPORT_COLUMNS = ["report", "title", "publisher", "date", "kind", "pages", "passages", "indexed at", "sha256"]


def sync_message(verb: str, paths, result) -> str:
    """One line per outcome of an add or remove: what changed, and each file not indexed."""
    lines = [f"{verb}: {', '.join(p.name for p in paths)}. {result.describe()}."]
    lines += [f"Not indexed: {e}" for e in result.errors]
    return "\n\n".join(lines)


# --- the page --------------------------------------------------------------------------------


def build_app(asker) -> "gr.Blocks":
    """The chat page and the ``/ask`` API endpoint, answering with ``asker`` (a qa.ask.Asker)."""
    import gradio as gr  # here, not at the top: `python app.py --help` stays instant

    from index.read import ReportError
    from index.store import IndexUnusable
    from qa.ask import QuestionError

    def report_choices():
        return [(f"{r.title} ({r.id})", r.id) for r in asker.reports()]

    def refreshed(message: str):
        return message, reports_table(asker.reports()), gr.update(choices=report_choices(), value=[])

    def upload(files, progress=gr.Progress()):
        if not files:
            return refreshed("Choose one or more PDF, TXT or MD files first.")
        paths = [Path(f if isinstance(f, str) else f.name) for f in files]
        try:
            added, result = asker.add(
                paths, [p.name for p in paths], progress=False, out=lambda line: None,
                on_progress=lambda done, total: progress((done, total), desc="Embedding passages", unit="passages"),
            )
        except (ReportError, IndexUnusable, OSError) as exc:
            return refreshed(f"Not added: {one_line(exc)}")
        return refreshed(sync_message("Added", added, result))

    def remove(report_ids):
        if not report_ids:
            return refreshed("Choose the reports to remove first.")
        try:
            removed, result = asker.remove(list(report_ids), progress=False, out=lambda line: None)
        except (ReportError, IndexUnusable, OSError) as exc:
            return refreshed(f"Not removed: {one_line(exc)}")
        return refreshed(sync_message("Removed", removed, result))

    def respond(message: str, history: list):
        return chat_turn(asker, message, history)

    def ask(question: str) -> dict:
        """Answer a question from the indexed reports.

        Returns the answer object (question, answer with [n] markers, abstained,
        low_confidence, citations best first). A bad question raises a one-line error.
        """
        try:
            return asker.ask(question).to_dict()
        except QuestionError as exc:
            raise gr.Error(one_line(exc), print_exception=False) from None
        except Exception as exc:
            log.exception("asking %r failed", question)
            raise gr.Error(f"Error: {one_line(exc)}", print_exception=False) from None

    with gr.Blocks(title="Report QA") as demo:
        gr.Markdown(
            "# Report QA\nAsk the inspection reports a question. Answers are sentences copied "
            "word for word from the reports; each [n] points to a passage in the sources panel."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=520,
                    # Plain text, not Markdown: the words shown must be the reports' own, and
                    # Markdown would turn "13.The force…" into a list or eat * and _.
                    render_markdown=False,
                    feedback_options=None,
                    placeholder="Ask, for example: What did the inspectors say about domestic abuse?",
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Type a question about the reports and press Enter",
                        scale=5,
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
            with gr.Column(scale=2):
                sources = gr.HTML(NO_SOURCES, label="Sources")

        # The chat's own events stay off the API (api_visibility="private"); programs use /ask.
        for trigger in (question.submit, send.click):
            trigger(
                respond,
                inputs=[question, chatbot],
                outputs=[question, chatbot, sources],
                api_visibility="private",
            )
        with gr.Accordion("Reports in the library", open=False):
            table = gr.Dataframe(
                value=reports_table(asker.reports()), headers=REPORT_COLUMNS, interactive=False, wrap=True,
            )
            with gr.Row():
                new_files = gr.File(
                    label="Add reports (PDF, TXT, MD)", file_count="multiple",
                    file_types=[".pdf", ".txt", ".md"], type="filepath",
                )
                with gr.Column():
                    add_button = gr.Button("Add to library", variant="primary")
                    chosen = gr.Dropdown(choices=report_choices(), multiselect=True, label="Reports to remove")
                    remove_button = gr.Button("Remove from library", variant="stop")
            library_status = gr.Markdown()
        add_button.click(upload, inputs=[new_files], outputs=[library_status, table, chosen], api_visibility="private")
        remove_button.click(remove, inputs=[chosen], outputs=[library_status, table, chosen], api_visibility="private")
        gr.api(ask, api_name="ask")
    return demo


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description="Serve the Report QA web chat and its /ask API.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--library", type=Path, default=Path(os.environ.get("REPORTQA_LIBRARY") or "seeds"),
                   help="folder of reports (default: $REPORTQA_LIBRARY or seeds/)")
    p.add_argument("--index", type=Path, default=Path(os.environ.get("REPORTQA_INDEX") or ".index"),
                   help="index directory (default: $REPORTQA_INDEX or .index/)")
    p.add_argument("--model", default=os.environ.get("REPORTQA_MODEL") or None,
                   help="sentence-transformers model (default: $REPORTQA_MODEL or all-MiniLM-L6-v2)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"error: --port must be between 1 and 65535. Currently, it is {args.port}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Imported after parsing so that --help stays instant and loads no model.
    from index.embed import ModelError
    from index.read import ReportError
    from index.store import IndexUnusable
    from qa.ask import Asker

    asker = Asker(args.library, args.index, args.model)
    try:
        asker.sync(progress=False)
        asker.loaded()  # load the model and index now, not on the first question
    except (IndexUnusable, ModelError, ReportError, OSError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    demo = build_app(asker)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        css=CSS,
        footer_links=["api"],  # the API docs (only /ask), no "built with"/settings links
        quiet=True,
        prevent_thread_lock=True,
    )
    print(f"Report QA: serving {demo.local_url}", flush=True)
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
