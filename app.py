"""The web chat: ask the reports a question, then check every citation in the report itself.

``python app.py [--host H] [--port P] [--library DIR] [--index DIR] [--model M] [--max-upload-mb N]``
``[--auth USER:PASSWORD] [--auth-file FILE] [--admin USER] [--workers N] [--max-waiting N]`` (see the README)

UI only: :class:`qa.ask.Asker` answers; this module builds the page and formats what it returns.
Clicking a citation ``[n]`` (in an answer, in the sources panel, or previous/next in the viewer)
opens the source viewer: the report's full text scrolled to the cited paragraph, the answer's
sentences highlighted, page markers for PDFs and a link to the original file. The click reaches
Python as the viewer's custom ``cite`` event (``gr.HTML`` ``js_on_load``, see ``app.js``), which
renders the report server-side from :meth:`qa.ask.Asker.document`.

Programs get the same answer as JSON from the ``/ask`` endpoint::

    Client("http://127.0.0.1:7860/").predict("How are missing children handled?", api_name="/ask")
    Client(url).predict("question", ["report-id-or-file-name"], api_name="/ask")  # only these reports

A bad question (empty, too long) makes ``/ask`` raise a one-line error (``AppError`` in
``gradio_client``) rather than return an answer, so a caller can tell "bad request" from
"the reports do not cover this" (``abstained``).

Safe by default: listens on 127.0.0.1, never makes a share link, and its file routes serve only
files inside the library and its own private upload folder (:class:`FileGuard`).
"""
# No ``from __future__ import annotations``: gr.api reads the endpoint's type hints as objects.
import argparse
import atexit
import contextlib
import html
import itertools
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from web import memory
from web.gate import Busy, Gate, TooSlow

STARTED = time.monotonic()  # the process's start, near enough: what "ready in N s" counts from

# Before gradio (and the model) are imported: the app must start and run with no internet.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"

log = logging.getLogger("reportqa.app")

HERE = Path(__file__).resolve().parent
NOT_FOUND = "Not found in the indexed reports."
LOW_CONFIDENCE = "Low confidence: the best evidence is weak; check the sources before relying on this answer."
DISAGREE = ("Low confidence: the two best passages are about equally good and say different things; "
            "both are quoted. Check the sources before relying on this answer.")


def low_confidence_note(answer) -> str:
    """What to tell the reader about a low-confidence answer, by its reason."""
    return DISAGREE if getattr(answer, "low_confidence_reason", None) == "disagree" else LOW_CONFIDENCE
NO_SOURCES = '<p class="rq-empty">Sources for the latest answer appear here. Click a [n] to read it in its report.</p>'
VIEWER_CLOSED = '<div class="rq-viewer-closed"></div>'
EXAMPLES = [
    "What did the inspectors say about domestic abuse?",
    "How are missing children handled?",
    "What needs to improve?",
]
# The conversation scrolls itself to the start of the latest exchange, so a long answer is read
# from its first line (Gradio's own autoscroll would jump to the bottom, and missed updates here).
TRANSCRIPT_JS = """
watch('value', () => {
  const turns = element.querySelectorAll('.rq-turn');
  const last = turns[turns.length - 1];
  let box = element;
  while (box && !(box.scrollHeight > box.clientHeight && ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) box = box.parentElement;
  if (!last || !box || box === document.documentElement) return;
  box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
});
"""
MAX_UPLOAD_MB = 50
ASK_WORKERS = 2  # questions answered at once: CPU-bound, 2 cores (bench/load.py measures 1 against 2)
ASK_WAITING = 32  # questions waiting for a worker before the next is told "busy" (web/gate.py)
ASK_DEADLINE_S = 30.0  # the longest a question is waited for once let in (web/gate.py says what it stops)
QUEUE_MAX = 64  # Gradio's own queue (the viewer, uploads, removals): past it, Gradio's "busy" error
REPORT_TYPES = [".pdf", ".txt", ".md"]
LOADING = "Loading the model and the index…"
NOT_ADMIN = "Only an admin can {verb} reports: ask one to do it, or to make you one."
LOADING_REPORTS = '<p class="rq-empty">Loading the reports…</p>'
CHAT_WAIT_S = 600  # how long a question asked while loading waits (its turn shows the progress)
API_WAIT_S = 120  # how long /ask waits for the loading before it answers "still loading"


# --- formatting: pure functions over qa.types.Answer / Citation and index.passage.Report ---------


def one_line(exc: BaseException) -> str:
    """An exception as one line for the user: its message, else its type."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def esc(value) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


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


def _merge(spans, lo: int, hi: int) -> list[list[int]]:
    """``[start, end]`` spans clamped to ``lo..hi``, sorted, empty ones dropped, overlaps merged."""
    merged: list[list[int]] = []
    for start, end in sorted((max(lo, int(s)), min(hi, int(e))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def marked(text: str, spans) -> str:
    """``text`` HTML-escaped, with the ``[start, end]`` spans wrapped in ``<mark>``.

    Spans are clamped to the text, sorted and merged first, so overlapping or out-of-range
    highlights cannot produce broken markup.
    """
    # subtle: escape each piece separately; escaping first would shift the offsets.
    out, pos = [], 0
    for start, end in _merge(spans, 0, len(text)):
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def cite_button(turn: int, citation, label: str | None = None, css: str = "rq-cite") -> str:
    """A button that opens ``citation`` of answer ``turn`` in the source viewer (see app.js)."""
    name = f"Source {citation.n}: {citation.title}, {where(citation)}"
    return (
        f'<button type="button" class="{css}" data-rq-turn="{turn}" data-rq-n="{citation.n}" '
        f'aria-label="{esc(name)}" title="{esc(name)}">{esc(label or f"[{citation.n}]")}</button>'
    )


@dataclass
class Turn:
    """One exchange in the chat: the question and its answer (qa.types.Answer), or a one-line
    error, or neither yet (``pending``, with ``status`` saying what it waits for)."""

    question: str
    answer: object = None
    error: str | None = None
    pending: bool = False
    status: str = "Searching the reports…"

    @property
    def answered(self) -> bool:
        return self.answer is not None


def answer_sources(answer) -> list[tuple[str, list[int]]]:
    """The reports the answer's sentences come from, in order of first use, each with its
    citation numbers: an answer always says which report said it."""
    by_n = {c.n: c for c in answer.citations}
    out: dict[str, list[int]] = {}
    for s in answer.sentences:
        if s.n in by_n and s.n not in out.setdefault(by_n[s.n].title, []):
            out[by_n[s.n].title].append(s.n)
    return list(out.items())


def from_html(answer) -> str:
    sources = answer_sources(answer)
    if not sources:
        return ""
    named = " · ".join(f"<cite>{esc(title)}</cite> [{', '.join(map(str, sorted(ns)))}]" for title, ns in sources)
    return f'<p class="rq-from">From {named}</p>'


def answer_html(turn: int, answer) -> str:
    """The answer's sentences, each followed by its clickable ``[n]``, then any caveat."""
    by_n = {c.n: c for c in answer.citations}
    body = ""
    if answer.sentences:
        parts = []
        for s in answer.sentences:
            button = cite_button(turn, by_n[s.n]) if s.n in by_n else f"[{s.n}]"
            parts.append(f"{html.escape(s.text)} {button}")
        body = f'<p class="rq-answer">{" ".join(parts)}</p>' + from_html(answer)
    elif answer.answer and not answer.abstained:
        body = f'<p class="rq-answer">{html.escape(answer.answer)}</p>'
    notes = []
    if answer.abstained:
        nearest = " The nearest passages are in the sources panel, with low confidence." if answer.citations else ""
        notes.append(f'<p class="rq-note rq-not-found" role="note">{esc(NOT_FOUND + nearest)}</p>')
    elif answer.low_confidence:
        notes.append(f'<p class="rq-note rq-low" role="note">{esc(low_confidence_note(answer))}</p>')
    return body + "".join(notes)


def answer_markdown(answer) -> str:
    """The answer as Markdown for the clipboard: question, answer with ``[n]``, caveat, sources."""
    lines = [f"> {' '.join(answer.question.split())}", ""]
    if answer.abstained:
        lines.append(NOT_FOUND)
    else:
        lines.append(answer.answer)
        if answer.low_confidence:
            lines += ["", f"_{low_confidence_note(answer)}_"]
    used = {s.n for s in answer.sentences}
    cited = [c for c in answer.citations if c.n in used] or answer.citations
    if cited:
        heading = "Sources:" if used else "Nearest passages (low confidence):"
        lines += ["", heading, ""]
        for c in cited:
            lines.append(f"- [{c.n}] *{c.title}*, {where(c)} ({Path(c.source).name})")
    return "\n".join(lines) + "\n"


def turn_html(i: int, turn: Turn) -> str:
    parts = ['<div class="rq-turn">']
    if turn.question.strip():
        parts.append(
            f'<div class="rq-msg rq-user"><span class="rq-who">You</span><p>{esc(turn.question)}</p></div>'
        )
    parts.append('<div class="rq-msg rq-bot"><span class="rq-who">Report QA</span>')
    if turn.pending:
        parts.append(f'<p class="rq-pending" role="status">{esc(turn.status)}</p>')
    elif turn.error:
        parts.append(f'<p class="rq-note rq-error" role="alert">{esc(turn.error)}</p>')
    else:
        parts.append(answer_html(i, turn.answer))
        parts.append(
            '<div class="rq-actions">'
            f'<button type="button" class="rq-copy" data-rq-copy="{esc(answer_markdown(turn.answer))}" '
            'aria-label="Copy this answer with its citations as Markdown">Copy as Markdown</button>'
            '<span class="rq-copied" aria-live="polite"></span></div>'
        )
    parts.append("</div></div>")
    return "".join(parts)


def transcript_html(turns: list) -> str:
    """The whole conversation; a short welcome when it is empty."""
    if not turns:
        return (
            '<div class="rq-chat rq-chat-empty"><div class="rq-welcome">'
            "<p><strong>Ask the inspection reports a question.</strong> Answers are sentences copied "
            "word for word from the reports. Each <span class=\"rq-cite-sample\">[n]</span> is a citation: "
            "click it to read the passage in its report, with the answer's words highlighted.</p>"
            "<p>Try one of the example questions below, or type your own.</p></div></div>"
        )
    body = "".join(turn_html(i, t) for i, t in enumerate(turns))
    return f'<div class="rq-chat" role="log" aria-label="Conversation">{body}</div>'


def sources_html(answer, turn: int = 0, current: int | None = None) -> str:
    """Every citation of an answer: a button that opens it, where it is, score, and the passage
    with the answer's sentences highlighted. ``current`` marks the one open in the viewer."""
    if not answer.citations:
        return '<p class="rq-empty">No passages to show.</p>'
    heading = "Nearest passages (low confidence)" if answer.abstained else "Sources"
    items = []
    for c in answer.citations:
        also = ""
        if c.also_in:
            also = f'<div class="rq-meta">Also in: {esc(c.also_in_text())}</div>'
        items.append(
            f'<li class="rq-source{" rq-current" if c.n == current else ""}" id="source-{c.n}">'
            f'<div class="rq-where">{cite_button(turn, c, f"[{c.n}] {c.title}", "rq-cite rq-source-open")}</div>'
            f'<div class="rq-meta">{esc(where(c))} · similarity {c.score:.2f} · {esc(Path(c.source).name)}</div>'
            f'<blockquote class="rq-passage">{marked(c.text, c.highlights)}</blockquote>{also}'
            "</li>"
        )
    return (
        f'<div class="rq-sources"><h3>{heading}</h3>'
        f'<p class="rq-meta">for “{esc(answer.question)}”</p><ol>{"".join(items)}</ol></div>'
    )


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each blank-line-separated paragraph of ``text``."""
    spans, pos = [], 0
    for m in re.finditer(r"\n[ \t]*\n\s*", text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def locate(citation, text: str) -> tuple[int, int] | None:
    """Where the cited passage is in ``text``: its offsets when they still hold, else where its
    words are found (the report was re-indexed since), else None (the words are gone)."""
    if 0 <= citation.start <= citation.end <= len(text) and text[citation.start:citation.end] == citation.text:
        return citation.start, citation.end
    found = text.find(citation.text) if citation.text else -1
    return (found, found + len(citation.text)) if found >= 0 else None


def document_body_html(text: str, page_starts=None, cited: tuple[int, int] | None = None, highlights=()) -> str:
    """A report's full text as HTML: one ``<p>`` per paragraph, a page marker where each page
    starts, the cited passage's paragraphs marked (the first gets ``id="rq-target"``) and the
    ``highlights`` (absolute ``[start, end]`` offsets in ``text``) in ``<mark>``."""
    pages = sorted((start, n) for n, start in enumerate(page_starts or [], 1))
    marks = _merge(highlights, 0, len(text))
    out, page_i, target_done = [], 0, False

    def page_marker(n: int, inline: bool) -> str:
        if inline:
            return f'<span class="rq-page rq-page-inline" id="rq-page-{n}" role="note" aria-label="Page {n} starts here">p. {n}</span>'
        return f'<div class="rq-page" id="rq-page-{n}" role="separator" aria-label="Page {n}">Page {n}</div>'

    for ps, pe in paragraph_spans(text):
        while page_i < len(pages) and pages[page_i][0] <= ps:  # pages starting before this paragraph
            out.append(page_marker(pages[page_i][1], inline=False))
            page_i += 1
        inline = {}
        while page_i < len(pages) and pages[page_i][0] < pe:  # pages starting inside it
            inline[pages[page_i][0]] = pages[page_i][1]
            page_i += 1
        in_cited = cited is not None and cited[0] < pe and ps < cited[1]
        cuts = {ps, pe, *inline}
        if in_cited:
            cuts.update(x for x in cited if ps < x < pe)
        for s, e in marks:
            cuts.update(x for x in (s, e) if ps < x < pe)
        cuts = sorted(cuts)
        pieces = []
        for a, b in zip(cuts, cuts[1:]):
            if a in inline:
                pieces.append(page_marker(inline[a], inline=True))
            piece = html.escape(text[a:b])
            if any(s <= a < e for s, e in marks):
                pieces.append(f'<mark class="rq-hl">{piece}</mark>')
            elif in_cited and cited[0] <= a < cited[1]:
                pieces.append(f'<span class="rq-in">{piece}</span>')
            else:
                pieces.append(piece)
        attrs = 'class="rq-para"'
        if in_cited:
            attrs = 'class="rq-para rq-cited"'
            if not target_done:
                attrs += ' id="rq-target" tabindex="-1"'
                target_done = True
        out.append(f"<p {attrs}>{''.join(pieces)}</p>")
    for _, n in pages[page_i:]:  # pages after the last paragraph (blank pages at the end)
        out.append(page_marker(n, inline=False))
    return "".join(out)


_nonce = itertools.count(1)


def report_meta(report) -> str:
    """``publisher · date · kind · 11 pages · 59 passages``: what is known about a report."""
    bits = [report.publisher, report.date, report.kind]
    if report.pages:
        bits.append(f"{report.pages} page{'s' if report.pages != 1 else ''}")
    bits.append(f"{report.passages} passages")
    return " · ".join(esc(b) for b in bits if b)


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def document_html(report, text: str, citation=None, turn: int | None = None, total: int = 0,
                  download: tuple[str, str] | None = None, note: str | None = None) -> str:
    """The source viewer: a report's header (title, metadata, which citation, previous/next,
    download link, close) above its full text, scrolled by app.js to ``#rq-target``.

    :param citation: the citation to mark (qa.types.Citation), or None to show the report alone.
    :param turn: the answer the citation belongs to, and ``total`` its number of citations, for
        the previous/next buttons.
    :param download: ``(url, label)`` of the original file.
    """
    cited, highlights = None, []
    if citation is not None:
        cited = locate(citation, text)
        if cited is None:
            note = note or "This report has changed since the answer: the cited passage is no longer in it."
        else:
            highlights = [[cited[0] + s, cited[0] + e] for s, e in citation.highlights]
    nav = ""
    if citation is not None and turn is not None:
        def step(n: int, label: str, css: str) -> str:
            if 1 <= n <= total:
                return (f'<button type="button" class="rq-cite {css}" data-rq-turn="{turn}" data-rq-n="{n}" '
                        f'aria-label="{label} citation, [{n}]">{label} [{n}]</button>')
            return f'<button type="button" class="rq-cite {css}" disabled>{label}</button>'

        nav = (
            f'<div class="rq-viewer-nav">{step(citation.n - 1, "‹ Previous", "rq-prev")}'
            f'<span class="rq-viewer-where">Citation [{citation.n}] of {total}</span>'
            f'{step(citation.n + 1, "Next ›", "rq-next")}</div>'
        )
    cited_where = f'<span>[{citation.n}]: {esc(where(citation))}</span>' if citation is not None else ""
    link = ""
    if download:
        link = f'<a class="rq-download" href="{esc(download[0])}" download="{esc(Path(report.source).name)}">{esc(download[1])}</a>'
    note_html = f'<p class="rq-note rq-low" role="note">{esc(note)}</p>' if note else ""
    return (
        f'<section class="rq-viewer" role="dialog" aria-modal="false" aria-labelledby="rq-viewer-title" '
        f'data-rq-nonce="{next(_nonce)}" data-rq-showing="{esc(report.id)}" '
        f'data-rq-showing-n="{citation.n if citation is not None else ""}">'
        '<header class="rq-viewer-head"><div class="rq-viewer-top">'
        f'<h2 id="rq-viewer-title" tabindex="-1">{esc(report.title)}</h2>'
        '<button type="button" class="rq-close" data-rq-close aria-label="Close the report (Escape)">✕</button></div>'
        f'<p class="rq-meta">{report_meta(report)} · {esc(Path(report.source).name)}</p>'
        f'{nav}<p class="rq-viewer-cited">{cited_where}{link}</p>{note_html}</header>'
        f'<div class="rq-doc" tabindex="0" aria-label="Full text of {esc(report.title)}">'
        f"{document_body_html(text, report.page_starts, cited, highlights)}</div></section>"
    )


def notice_html(message: str) -> str:
    """A message of one or more lines (separated by blank lines) as paragraphs of text: it names
    uploaded files, so it is escaped, never read as Markdown or HTML (``[x](javascript:...).pdf``)."""
    return "".join(f"<p>{esc(line)}</p>" for line in message.split("\n\n") if line)


def viewer_message_html(message: str) -> str:
    """The viewer showing a one-line message instead of a report (e.g. the report was removed)."""
    return (
        f'<section class="rq-viewer" role="dialog" aria-modal="false" aria-labelledby="rq-viewer-title" data-rq-nonce="{next(_nonce)}">'
        '<header class="rq-viewer-head"><div class="rq-viewer-top"><h2 id="rq-viewer-title" tabindex="-1">Source viewer</h2>'
        '<button type="button" class="rq-close" data-rq-close aria-label="Close the viewer (Escape)">✕</button></div>'
        f'<p class="rq-note rq-error" role="alert">{esc(message)}</p></header></section>'
    )


def when(stamp: str | None) -> str:
    """``2026-11-28T13:27:21+0000`` as ``2026-11-28 13:27 UTC``; anything else as it is."""
    from datetime import datetime

    if not stamp:
        return "—"
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "").replace("UTC+00:00", "UTC")


def reports_html(reports, download_url=lambda report: None) -> str:
    """The reports view: everything known about each indexed report, a button to read it and a
    link to its original file. Becomes one card per report at phone width (see app.css)."""
    if not reports:
        return '<p class="rq-empty">No reports in the library yet: add a PDF, TXT or MD file below.</p>'
    heads = ["Report", "Publisher", "Date", "Kind", "Pages", "Passages", "Indexed at", "SHA-256", ""]
    rows = []
    for r in reports:
        url = download_url(r)
        actions = (
            f'<button type="button" class="rq-open" data-rq-report="{esc(r.id)}" aria-label="Read {esc(r.title)}">Read</button>'
            + (f' <a href="{esc(url)}" download="{esc(Path(r.source).name)}" aria-label="Download {esc(Path(r.source).name)}">Download</a>' if url else "")
        )
        cells = [
            f'<strong>{esc(r.title)}</strong><br><span class="rq-meta">{esc(r.source)}</span>',
            esc(r.publisher or "—"), esc(r.date or "—"), esc(r.kind or "—"), esc(r.pages or "—"), esc(r.passages),
            esc(when(r.indexed_at)), f'<code class="rq-hash">{esc(r.sha256)}</code>', actions,
        ]
        rows.append("<tr>" + "".join(f'<td data-label="{h}">{c}</td>' for h, c in zip(heads, cells)) + "</tr>")
    total = sum(r.passages for r in reports)
    return (
        f'<p class="rq-meta">{len(reports)} report{"s" if len(reports) != 1 else ""}, {total} passages.</p>'
        '<div class="rq-table-wrap"><table class="rq-reports"><thead><tr>'
        + "".join(f'<th scope="col">{h}</th>' for h in heads)
        + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def sync_message(verb: str, paths, result, failed: str = "Not indexed") -> str:
    """What an add or remove did, in a line (``Added a.pdf: 1 report added, 59 passages indexed
    (9.3 s).``; none when ``paths`` is empty), then one line per file that could not be indexed."""
    def reports(n: int) -> str:
        return f"{n} report{'s' if n != 1 else ''}"

    done = [f"{reports(len(items))} {label}" for label, items in
            (("added", result.added), ("updated", result.updated), ("removed", result.removed),
             ("renamed", result.renamed)) if items]
    if result.passages_added:
        done.append(f"{result.passages_added} passages indexed")
    if result.passages_removed:
        done.append(f"{result.passages_removed} passages dropped")
    summary = ", ".join(done) or "nothing changed (the library already had this version)"
    lines = [f"{verb} {', '.join(p.name for p in paths)}: {summary} ({result.seconds:.1f} s)."] if paths else []
    lines += [f"{failed}: {e}" for e in result.errors]
    return "\n\n".join(lines)


# --- asking: one chat turn, never raising ----------------------------------------------------


def chat_turn(asker, message: str, previous: str | None = None, reports=None) -> Turn:
    """Ask ``message`` (``reports``: only these report ids); a bad question gets its one-line
    message, any other failure one line starting ``Error:`` (the traceback goes to the log)."""
    from qa.ask import QuestionError

    try:
        answer = asker.ask(message, reports=list(reports) if reports else None, previous=previous)
    except QuestionError as exc:
        return Turn(message or "", error=one_line(exc))
    except Exception as exc:  # a bug or a broken index: one line in the chat, traceback in the log
        log.exception("asking %r failed", message)
        return Turn(message or "", error=f"Error: {one_line(exc)}")
    return Turn(message, answer=answer)


def previous_question(turns: list) -> str | None:
    """The last question that got an answer: what a short follow-up leans on."""
    for t in reversed(turns):
        if t.answered:
            return t.question
    return None


# --- file serving: only the library and the upload folder -------------------------------------

_FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/(file=|file/|proxy=)(.*)$", re.S)


class FileGuard:
    """ASGI middleware in front of Gradio: its file routes (``/gradio_api/file=...``) answer only
    for files inside ``folders``; anything else (``/etc/passwd``, a path with ``..``, a relative
    path, a URL for the server to fetch, the ``proxy=`` route) gets a bare 404.

    Gradio checks ``allowed_paths`` itself; this is the second lock, and the one that also turns
    away URLs (Gradio would fetch public ones on the caller's behalf).
    """

    def __init__(self, app, folders):
        self.app = app
        self.folders = [Path(os.path.realpath(f)) for f in folders]

    def allows(self, path: str) -> bool:
        m = _FILE_ROUTE.match(path)
        if not m:
            return True
        route, target = m.groups()
        if route == "proxy=" or "\x00" in target or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
            return False
        if ".." in re.split(r"[\\/]+", target) or not target.startswith("/"):
            return False
        real = Path(os.path.realpath(target))
        return any(real == f or f in real.parents for f in self.folders)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self.allows(scope.get("path", "")):
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")]})
            await send({"type": "http.response.body", "body": b"Not found"})
            return
        await self.app(scope, receive, send)


def file_url(path: Path) -> str:
    """The URL (relative to the page) at which Gradio serves ``path``."""
    return "gradio_api/file=" + quote(str(path))


# --- start-up: the page is served at once, the model and the index load behind it --------------


class StartupProblem(RuntimeError):
    """The app cannot answer yet; ``str()`` is one line for the user."""


class StillLoading(StartupProblem):
    pass


class StartupFailed(StartupProblem):
    pass


class Startup:
    """What the app needs before it answers — the library synced, the model, the index and its
    BM25 loaded — done in a background thread while the page is already served.

    A question asked meanwhile waits for it (:meth:`waiting`, :meth:`wait`). A failure is one
    line (``error``), printed in the terminal and shown in the chat; the next question starts
    loading again, so a problem fixed meanwhile (a model installed, an index rebuilt) needs no
    restart.

    :param library: the folder of reports (its files are served before anything is loaded).
    :param load: makes the asker (qa.ask.Asker) and loads what it needs; called in the thread
        with a function taking a line that says what is being done. It raises
        :class:`StartupFailed` for a problem the user can fix; anything else is a bug.
    """

    def __init__(self, library: Path, load):
        self.library = Path(library)
        self._load = load
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_ready = []
        self.asker = None
        self.error: str | None = None
        self.stage = LOADING

    @classmethod
    def loaded(cls, asker) -> "Startup":
        """A start-up already done: ``asker`` answers at once."""
        startup = cls(asker.library, lambda stage: asker)
        startup.asker = asker
        startup._done.set()
        return startup

    @property
    def done(self) -> bool:
        """Loaded, or failed."""
        return self._done.is_set()

    def on_ready(self, callback) -> None:
        """Call ``callback()`` once loaded (in the loading thread)."""
        self._on_ready.append(callback)

    def start(self) -> None:
        """Start loading in a background thread, unless loaded or loading (again after a failure)."""
        with self._lock:
            if self.asker is not None or (self._thread is not None and self._thread.is_alive()):
                return
            self.error, self.stage = None, LOADING
            self._done.clear()
            self._thread = threading.Thread(target=self._run, name="reportqa-startup", daemon=True)
            self._thread.start()

    def _set_stage(self, line: str) -> None:
        self.stage = line

    def _run(self) -> None:
        try:
            asker = self._load(self._set_stage)
        except StartupFailed as exc:
            self.error = str(exc)
        except Exception as exc:  # a bug: one line for the user, the traceback in the log
            log.exception("loading the model and the index failed")
            self.error = one_line(exc)
        else:
            self.asker = asker
            for callback in self._on_ready:
                try:
                    callback()
                except Exception:
                    log.exception("after loading: %r failed", callback)
        finally:
            self._done.set()
        if self.error is not None:
            print(f"error: {self.error}", file=sys.stderr, flush=True)
        else:
            reports = self.asker.reports()
            print(f"Report QA: ready in {time.monotonic() - STARTED:.1f} s ({len(reports)} report"
                  f"{'s' if len(reports) != 1 else ''}, {sum(r.passages for r in reports)} passages)", flush=True)

    def waiting(self, timeout: float, retry: bool = True):
        """While loading, for up to ``timeout`` seconds: what is being done, each time it changes.

        :param retry: after a failure, start loading again first.
        """
        if retry and self.error is not None:
            self.start()
        deadline = time.monotonic() + timeout
        shown = None
        while not self._done.is_set() and time.monotonic() < deadline:
            if self.stage != shown:
                shown = self.stage
                yield shown
            self._done.wait(0.5)

    def result(self):
        """The asker, if loaded.

        :raises StartupFailed: loading failed (the message says what and what to do).
        :raises StillLoading: not loaded yet.
        """
        if self.asker is not None:
            return self.asker
        if self.error is not None:
            raise StartupFailed(f"Report QA could not start: {self.error}")
        raise StillLoading("Still loading the model and the index — try again in a few seconds.")

    def wait(self, timeout: float):
        """The asker, waiting up to ``timeout`` seconds for it (starting again after a failure);
        raises as :meth:`result` does."""
        for _ in self.waiting(timeout):
            pass
        return self.result()


def status_html(startup: Startup) -> str:
    """The line above the chat until the app is ready: what is loading, or why it cannot start."""
    try:
        startup.result()
    except StillLoading:
        return (f'<p class="rq-loading" role="status">{esc(startup.stage)} '
                "A question asked now is answered as soon as it is ready.</p>")
    except StartupFailed as exc:
        return f'<p class="rq-note rq-error" role="alert">{esc(exc)}</p>'
    return ""


def load_asker(library: Path, index: Path, model: str | None, stage):
    """The asker (qa.ask.Asker) of a library, with all a first question would otherwise wait
    for done: the library synced, the model, the index and its BM25 loaded, the reports' titles
    embedded. Runs in the start-up thread.

    :param stage: called with a line saying what is being done.
    :raises StartupFailed: the model, the index, the library or a file cannot be used.
    """
    from index.embed import ModelError
    from index.errors import ReportError
    from index.store import IndexUnusable
    from qa.ask import Asker

    def embedding(done: int, total: int) -> None:
        stage(f"Indexing new reports: {done:,} of {total:,} passages and sentences embedded…")

    try:
        asker = Asker(library, index, model)
        asker.sync(progress=False, on_progress=embedding)
        stage(LOADING)
        loaded = asker.loaded()
        loaded.lexical
        asker.report_vectors(loaded)  # the model's first call (slower than the next) is paid here
    except (IndexUnusable, ModelError, ReportError, OSError) as exc:
        raise StartupFailed(one_line(exc)) from None
    return asker


def fixable_errors() -> tuple:
    """The errors a user can act on from their one line: a bad report file, an unusable index,
    a file that cannot be read or written (imported when needed: see build_app)."""
    from index.errors import ReportError
    from index.store import IndexUnusable

    return ReportError, IndexUnusable, OSError


# --- the page --------------------------------------------------------------------------------


def build_app(asker, max_upload_mb: int = MAX_UPLOAD_MB, users=None, gate: Gate | None = None) -> "gr.Blocks":
    """The chat page and the ``/ask`` API endpoint.

    :param asker: a :class:`Startup` (the page is served while it loads; questions wait for
        it), or an asker (qa.ask.Asker) that answers at once.
    :param users: who may log in (web.users.Users), or None (no login). When it names admins,
        only they see the upload and remove controls, and the handlers refuse anyone else.
    :param gate: how many questions are answered at once and waited for (web.gate.Gate).
    """
    import gradio as gr  # here, not at the top: `python app.py --help` stays instant

    # Nothing of qa or index is imported here: the serving thread would wait for the loading
    # thread's imports (faiss, torch). Handlers import their errors once loaded.
    startup = asker if isinstance(asker, Startup) else Startup.loaded(asker)
    library = startup.library.resolve()
    gate = gate or Gate(ASK_WORKERS, ASK_WAITING, ASK_DEADLINE_S)
    admins_only = bool(users and users.admins)

    def may_change_library(request) -> bool:
        return users is None or users.may_change_library(getattr(request, "username", None))

    def library_tools(request):
        """The upload and remove controls shown to those who may use them, a note to the rest."""
        if not admins_only:
            return gr.skip(), gr.skip()
        allowed = may_change_library(request)
        return gr.update(visible=allowed), gr.update(visible=not allowed)

    def library_file(report) -> Path | None:
        path = (library / report.source).resolve()
        return path if library in path.parents and path.is_file() else None

    def download_url(report) -> str | None:
        path = library_file(report)
        return file_url(path) if path else None

    def download(report) -> tuple[str, str] | None:
        path = library_file(report)
        if path is None:
            return None
        kind = path.suffix.lstrip(".").upper() or "file"
        return file_url(path), f"Download original ({kind}, {human_size(path.stat().st_size)})"

    def report_choices(asker):
        return [(f"{r.title} ({r.id})", r.id) for r in asker.reports()] if asker is not None else []

    def library_views(message: str, keep=(), asker=None):
        """Status line, reports table, chat filter and remove list after the library changed
        (the last three left as they are without an ``asker``)."""
        if asker is None:
            return notice_html(message), gr.skip(), gr.skip(), gr.skip()
        choices = report_choices(asker)
        ids = {v for _, v in choices}
        return (
            notice_html(message),
            reports_html(asker.reports(), download_url),
            gr.update(choices=choices, value=[v for v in keep if v in ids]),
            gr.update(choices=choices, value=[]),
        )

    def page_load(request: gr.Request):
        """Each visit: the library controls if this user may use them, the loading line while
        loading (or why it cannot start), then the reports as they are now."""
        tools = library_tools(request)
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), *tools
        for _ in startup.waiting(CHAT_WAIT_S, retry=False):
            yield gr.update(value=status_html(startup), visible=True), gr.skip(), gr.skip(), gr.skip(), *tools
        if startup.asker is None:
            yield gr.update(value=status_html(startup), visible=True), gr.skip(), gr.skip(), gr.skip(), *tools
            return
        yield gr.update(value="", visible=False), *library_views("", asker=startup.asker)[1:], *tools

    # -- chat --

    def respond(message: str, turns: list, only: list):
        turns = list(turns or [])
        asking = bool(message and message.strip())
        if asking:
            yield "", transcript_html(turns + [Turn(message, pending=True)]), turns, gr.skip(), gr.update(visible=False)
        # Asked while loading, a question waits for it, saying so: no need to ask it again.
        for stage in startup.waiting(CHAT_WAIT_S):
            if asking:
                waiting = Turn(message, pending=True, status=f"{stage} Your question will be answered as soon as it is ready.")
                yield "", transcript_html(turns + [waiting]), turns, gr.skip(), gr.update(visible=False)
        try:
            turn = gate.run(chat_turn, startup.result(), message, previous_question(turns), only)
        except (StartupProblem, Busy, TooSlow) as exc:
            turn = Turn(message or "", error=str(exc))
        turns.append(turn)
        # an error is not an answer: the sources of the last answer stay
        sources = sources_html(turn.answer, len(turns) - 1) if turn.answered else gr.skip()
        yield "", transcript_html(turns), turns, sources, gr.update(visible=False)

    def clear():
        return "", transcript_html([]), [], NO_SOURCES, gr.update(visible=True), VIEWER_CLOSED

    # -- source viewer --

    def open_source(turns: list, evt: gr.EventData):
        """The viewer for the clicked citation (``turn``, ``n``) or report (``report``)."""
        report_id = getattr(evt, "report", None)
        try:
            asker = startup.wait(API_WAIT_S)
        except StartupProblem as exc:
            return viewer_message_html(str(exc)), gr.skip()
        from qa.ask import QuestionError

        try:
            if report_id is not None:
                report, text = asker.document(str(report_id))
                return document_html(report, text, download=download(report)), gr.skip()
            i, n = int(getattr(evt, "turn", -1)), int(getattr(evt, "n", 0))
            if not (0 <= i < len(turns) and turns[i].answered and 1 <= n <= len(turns[i].answer.citations)):
                return viewer_message_html("That citation is no longer in this chat; ask the question again."), gr.skip()
            answer = turns[i].answer
            citation = answer.citations[n - 1]
            report, text = asker.document(citation.report)
            viewer = document_html(report, text, citation, i, len(answer.citations), download(report))
            return viewer, sources_html(answer, i, current=n)
        except QuestionError:
            return viewer_message_html(
                f"The report {report_id or citation.report!r} is no longer in the library; it may have been removed."
            ), gr.skip()
        except Exception as exc:
            log.exception("opening a source failed")
            return viewer_message_html(f"Error: {one_line(exc)}"), gr.skip()

    # -- library --

    def add_reports(files, only: list, request: gr.Request, progress=gr.Progress()):
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        asker = None
        if not paths:
            return *library_views("Choose one or more PDF, TXT or MD files first.", only), None
        try:
            if not may_change_library(request):  # not the hidden controls alone: a request can be forged
                return *library_views(NOT_ADMIN.format(verb="add"), only), None
            too_big = [p.name for p in paths if p.stat().st_size > max_upload_mb * 1024 * 1024]
            if too_big:
                return *library_views(f"Not added: {', '.join(too_big)} is over {max_upload_mb} MB.", only), None
            asker = startup.wait(API_WAIT_S)
            progress(None, desc="Reading the reports")
            added, result = asker.add(
                paths, [p.name for p in paths], progress=False, out=lambda line: None,
                on_progress=lambda done, total: progress((done, total), desc="Embedding passages and sentences", unit="texts"),
            )
            # An upload that could not be indexed (a scan, a broken PDF) is not kept: it would sit
            # in the library unseen, failing again at every sync, with no way to remove it here.
            indexed = {Path(r.source).name for r in asker.reports()}
            unread = [p for p in added if p.name not in indexed]
            if unread:
                asker.remove([p.name for p in unread], progress=False, out=lambda line: None)
            message = sync_message("Added", [p for p in added if p not in unread], result, failed="Not added")
        except StartupProblem as exc:
            message = f"Not added: {exc}"
        except fixable_errors() as exc:
            message = f"Not added: {one_line(exc)}"
        except Exception as exc:
            log.exception("adding %s failed", paths)
            message = f"Error: {one_line(exc)}"
        finally:
            for p in paths:  # the library keeps its own copy; the upload goes
                p.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    p.parent.rmdir()  # Gradio's per-upload folder, when empty
            memory.give_back()  # what the sync freed (web/memory.py)
        return *library_views(message, only, asker), None

    def remove_reports(report_ids, only: list, request: gr.Request):
        if not may_change_library(request):
            return library_views(NOT_ADMIN.format(verb="remove"), only)
        if not report_ids:
            return library_views("Choose the reports to remove first.", only)
        asker = None
        try:
            asker = startup.wait(API_WAIT_S)
            removed, result = asker.remove(list(report_ids), progress=False, out=lambda line: None)
            message = sync_message("Removed", removed, result)
            memory.give_back()
        except StartupProblem as exc:
            message = f"Not removed: {exc}"
        except fixable_errors() as exc:
            message = f"Not removed: {one_line(exc)}"
        except Exception as exc:
            log.exception("removing %s failed", report_ids)
            message = f"Error: {one_line(exc)}"
        return library_views(message, only, asker)

    # -- API --

    def ask(question: str, reports: list[str] | None = None) -> dict:
        """Answer a question from the indexed reports.

        ``reports``: search only these reports (ids or file names); leave out to search all.
        Returns the answer object (question, answer with [n] markers, abstained,
        low_confidence, citations best first). A bad question or an unknown report raises a
        one-line error; so does a question asked while the app is still loading (it waits for
        the loading first, up to two minutes) or could not start.
        """
        try:
            asker = startup.wait(API_WAIT_S)
        except StartupProblem as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        from qa.ask import QuestionError

        try:
            if isinstance(reports, str):  # one report named without a list
                reports = [reports]
            return gate.run(asker.ask, question, reports=list(reports) if reports else None).to_dict()
        except (QuestionError, Busy, TooSlow) as exc:
            raise gr.Error(one_line(exc), print_exception=False) from None
        except Exception as exc:
            log.exception("asking %r failed", question)
            raise gr.Error(f"Error: {one_line(exc)}", print_exception=False) from None

    viewer_js = (HERE / "app.js").read_text(encoding="utf-8")
    with gr.Blocks(title="Report QA") as demo:
        turns = gr.State([])
        gr.Markdown("# Report QA", elem_id="rq-title")
        status = gr.HTML(status_html(startup), elem_id="rq-status", visible=not startup.done, padding=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        transcript = gr.HTML(transcript_html([]), elem_id="rq-transcript", js_on_load=TRANSCRIPT_JS,
                                             max_height="60vh", padding=False)
                        with gr.Column(elem_id="rq-examples") as examples:
                            gr.Markdown("**Example questions:**", elem_classes="rq-examples-label")
                            example_buttons = [gr.Button(q, size="sm", elem_classes="rq-example") for q in EXAMPLES]
                        with gr.Row(elem_id="rq-ask-row"):
                            question = gr.Textbox(
                                show_label=False, label="Question", elem_id="rq-question", scale=5, min_width=160,
                                placeholder="Type a question about the reports and press Enter", autofocus=True,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="rq-ask")
                        with gr.Row(elem_id="rq-chat-tools"):
                            only = gr.Dropdown(
                                choices=report_choices(startup.asker), value=[], multiselect=True, scale=4, min_width=200,
                                label="Search only these reports", info="Leave empty to search them all.",
                                elem_id="rq-filter",
                            )
                            clear_button = gr.Button("Clear chat", variant="secondary", scale=1, min_width=100,
                                                     elem_id="rq-clear")
                    with gr.Column(scale=2, min_width=300):
                        sources = gr.HTML(NO_SOURCES, elem_id="rq-sources", js_on_load=None, padding=False)
            with gr.Tab("Reports", id="reports"):
                reports_view = gr.HTML(
                    reports_html(startup.asker.reports(), download_url) if startup.asker else LOADING_REPORTS,
                    elem_id="rq-reports", js_on_load=None, padding=False,
                )
                # With admins named, hidden until the page load says this user is one.
                with gr.Row(equal_height=False, visible=not admins_only, elem_id="rq-library-tools") as tools_row:
                    new_files = gr.File(
                        label=f"Add reports: PDF, TXT or MD, up to {max_upload_mb} MB each",
                        file_count="multiple", file_types=REPORT_TYPES, type="filepath", elem_id="rq-upload",
                        scale=3, min_width=280,
                    )
                    with gr.Column(scale=2, min_width=280):
                        chosen = gr.Dropdown(choices=report_choices(startup.asker), value=[], multiselect=True,
                                             label="Reports to remove", elem_id="rq-remove-choice")
                        remove_button = gr.Button("Remove from library", variant="stop", elem_id="rq-remove")
                tools_note = gr.Markdown(NOT_ADMIN.format(verb="add or remove"), visible=False, elem_id="rq-admins-only")
                library_status = gr.HTML(elem_id="rq-library-status", padding=False)
        viewer = gr.HTML(VIEWER_CLOSED, elem_id="rq-viewer", js_on_load=viewer_js, padding=False)

        # Every UI event stays off the API (api_visibility="private"); programs use /ask.
        library_outputs = [library_status, reports_view, only, chosen]
        # Not limited to one at a time: each visit's event mostly waits for the loading.
        demo.load(page_load, None, [status, *library_outputs[1:], tools_row, tools_note], api_visibility="private",
                  show_progress="hidden", concurrency_limit=None)
        chat_outputs = [question, transcript, turns, sources, examples]
        # Questions are not limited by Gradio's queue but by the gate (web/gate.py), which can
        # say "busy" in the chat and in /ask's error; Gradio's queue would refuse with its own words.
        for trigger in (question.submit, send.click):
            trigger(respond, [question, turns, only], chat_outputs, api_visibility="private", show_progress="hidden",
                    concurrency_limit=None)
        for button in example_buttons:
            button.click(respond, [button, turns, only], chat_outputs, api_visibility="private", show_progress="hidden",
                         concurrency_limit=None)
        clear_button.click(clear, None, [*chat_outputs, viewer], api_visibility="private", show_progress="hidden")
        viewer.cite(open_source, [turns], [viewer, sources], api_visibility="private", show_progress="hidden")
        # One change to the library at a time (each is a sync, and syncs take a lock).
        new_files.upload(add_reports, [new_files, only], [*library_outputs, new_files], api_visibility="private",
                         show_progress_on=[reports_view], concurrency_id="library", concurrency_limit=1)
        remove_button.click(remove_reports, [chosen, only], library_outputs, api_visibility="private",
                            show_progress_on=[reports_view], concurrency_id="library", concurrency_limit=1)
        gr.api(ask, api_name="ask", concurrency_limit=None)
    # The rest (the viewer: 2 at once; uploads and removals: one sync at a time) waits in
    # Gradio's queue, which holds at most QUEUE_MAX events.
    demo.queue(max_size=QUEUE_MAX, default_concurrency_limit=ASK_WORKERS)

    def settled():
        """Once loaded, the page is served as it now is: a later visitor never sees the loading
        line, not even until their page-load event hides it."""
        status.value, status.visible = "", False
        reports_view.value = reports_html(startup.asker.reports(), download_url)
        only.choices = chosen.choices = report_choices(startup.asker)
        demo.config = demo.get_config_file()

    startup.on_ready(settled)
    return demo


def gradio_auth(users):
    """Gradio's ``auth`` for ``users`` (web.users.Users): a password is checked (scrypt, ~0.1 s
    and 16 MiB) on a thread, so a login never stalls the server's event loop, and one at a time,
    so a flood of login attempts takes one core at most and questions keep the other."""
    import asyncio

    one_at_a_time = asyncio.Semaphore(1)

    async def check(name: str, password: str) -> bool:
        async with one_at_a_time:
            return await asyncio.to_thread(users.check, name, password)

    return check


def launch_options(args, library: Path, index: Path, uploads: Path, users=None) -> dict:
    """How the server is launched: loopback unless ``--host``, no share link, file routes limited
    to the library and the upload folder, uploads capped at ``--max-upload-mb``; with ``users``
    (web.users.Users), the page, its config, the file routes and the API need a login."""
    import gradio as gr
    from starlette.middleware import Middleware

    # System fonts: Gradio's bundled Source Sans Pro draws a small-capital "A" in this build.
    theme = gr.themes.Default(font=["system-ui", "ui-sans-serif", "Segoe UI", "Roboto", "Arial", "sans-serif"],
                              font_mono=["ui-monospace", "Consolas", "DejaVu Sans Mono", "monospace"])
    return dict(
        server_name=args.host,
        server_port=args.port,
        share=False,
        theme=theme,
        css=(HERE / "app.css").read_text(encoding="utf-8"),
        footer_links=["api"],  # the API docs (only /ask), no "built with"/settings links
        quiet=True,
        prevent_thread_lock=True,
        allowed_paths=[str(library.resolve())],
        blocked_paths=[str(index.resolve())],
        max_file_size=args.max_upload_mb * 1024 * 1024,
        app_kwargs={"middleware": [Middleware(FileGuard, folders=[library, uploads])]},
        auth=gradio_auth(users) if users else None,
        auth_message="Report QA: log in with the user name and password you were given." if users else None,
        # Each question waiting for a worker holds a thread (web/gate.py): room for all of them
        # beside page loads and the viewer (Gradio's default is 40).
        max_threads=max(40, args.workers + args.max_waiting + 16),
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description="Serve the Report QA web chat and its /ask API.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--library", type=Path, default=Path(os.environ.get("REPORTQA_LIBRARY") or "seeds"),
                   help="folder of reports (default: $REPORTQA_LIBRARY or seeds/)")
    p.add_argument("--index", type=Path, default=Path(os.environ.get("REPORTQA_INDEX") or ".index"),
                   help="index directory (default: $REPORTQA_INDEX or .index/)")
    p.add_argument("--model", default=os.environ.get("REPORTQA_MODEL") or None,
                   help="sentence-transformers model (default: $REPORTQA_MODEL or all-MiniLM-L6-v2)")
    p.add_argument("--max-upload-mb", type=int, default=MAX_UPLOAD_MB,
                   help=f"largest report file accepted for upload, in MB (default {MAX_UPLOAD_MB})")
    login = p.add_argument_group("login (off unless users are given; see web/users.py)")
    # No type= on --auth: argparse would echo a value it cannot convert, password and all.
    login.add_argument("--auth", action="append", default=[], metavar="USER:PASSWORD",
                       help="a user who may log in (repeatable; also $REPORTQA_AUTH, comma- or newline-separated); "
                            "visible to other local users in the process list: prefer --auth-file")
    login.add_argument("--auth-file", type=Path, metavar="FILE", help="a file of users with hashed passwords")
    login.add_argument("--admin", action="append", default=[], metavar="USER",
                       help="only admins may add and remove reports (repeatable; or `:admin` in the users file)")
    login.add_argument("--add-user", nargs=2, metavar=("FILE", "NAME"),
                       help="add NAME to the users file FILE, or change their password (read without echo; "
                            "with --admin NAME, as an admin), then exit")
    load = p.add_argument_group("load")
    load.add_argument("--workers", type=int, default=ASK_WORKERS,
                      help=f"questions answered at once (default {ASK_WORKERS}: the work is CPU-bound, about one a core)")
    load.add_argument("--max-waiting", type=int, default=ASK_WAITING,
                      help=f"questions that may wait for a worker; the next is told the server is busy (default {ASK_WAITING})")
    return p


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_new_password(name: str) -> str:
    """A password for ``name``: typed twice without echo on a terminal, else stdin's first line."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def add_user_command(args) -> int:
    """``--add-user FILE NAME``: add a user to a users file or change their password."""
    from web.users import UsersError, add_user

    path, name = Path(args.add_user[0]), args.add_user[1]
    try:
        new = add_user(path, name, read_new_password(name), admin=name in args.admin)
    except (UsersError, ValueError, OSError) as exc:
        print(f"error: {path}: {name!r} not saved: {one_line(exc)}" if not isinstance(exc, UsersError)
              else f"error: {exc}", file=sys.stderr)
        return 2
    role = "admin" if name in args.admin else "user"
    print(f"{path}: {'added' if new else 'changed the password of'} {role} {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.add_user:
        return add_user_command(args)
    if not 0 < args.port < 65536:
        print(f"error: --port must be between 1 and 65535. Currently, it is {args.port}", file=sys.stderr)
        return 2
    if args.max_upload_mb <= 0:
        print(f"error: --max-upload-mb must be greater than 0. Currently, it is {args.max_upload_mb}", file=sys.stderr)
        return 2
    if args.workers < 1 or args.max_waiting < 0:
        print(f"error: --workers must be at least 1 and --max-waiting 0 or more. Currently, they are {args.workers} "
              f"and {args.max_waiting}", file=sys.stderr)
        return 2
    from web.users import UsersError, load_users

    try:
        users = load_users(args.auth, os.environ.get("REPORTQA_AUTH"), args.auth_file, args.admin)
    except UsersError as exc:  # never shows a password (web/users.py)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if users is None and not is_loopback(args.host):
        print(f"warning: --host {args.host} without login: anyone who can reach it can read, add and remove reports; "
              "give users with --auth-file, --auth or REPORTQA_AUTH", file=sys.stderr, flush=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Uploads land in a private folder of this process (not the machine-wide /tmp/gradio), which
    # is the only place besides the library that the file routes serve from; gone at exit.
    uploads = Path(tempfile.mkdtemp(prefix="reportqa-uploads-"))
    atexit.register(shutil.rmtree, uploads, ignore_errors=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    # The page is served first; the library's sync and the model, index and BM25 load in the
    # background, after the launch: both are mostly Python holding the GIL, so loading while
    # gradio imports would only delay the page (and not make the first answer sooner).
    startup = Startup(args.library, lambda stage: load_asker(args.library, args.index, args.model, stage))
    demo = build_app(startup, args.max_upload_mb, users, Gate(args.workers, args.max_waiting, ASK_DEADLINE_S))
    try:
        demo.launch(**launch_options(args, args.library, args.index, uploads, users))
    except OSError as exc:  # the address is not this machine's, or the port is taken
        print(f"error: cannot listen on {args.host}:{args.port}: {one_line(exc)}", file=sys.stderr)
        return 2
    login = ""
    if users:
        login = f"; login required: {len(users)} user{'s' if len(users) != 1 else ''}"
        login += f", admins {', '.join(sorted(users.admins))}" if users.admins else ""
    print(f"Report QA: serving {demo.local_url} (loading the model and the index{login})", flush=True)
    startup.start()
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
