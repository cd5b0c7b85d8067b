"""The chat: its turns (a question and its answer, an error, or a question still waiting), how
each looks, the answer as Markdown for the clipboard, and the sources panel beside it.

Views are pure functions over qa.types.Answer / Citation; :func:`chat_turn` asks and never raises.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

from web.page.markup import cite_button, esc, marked, one_line, where

log = logging.getLogger("reportqa.app")

NOT_FOUND = "Not found in the indexed reports."
LOW_CONFIDENCE = "Low confidence: the best evidence is weak; check the sources before relying on this answer."
DISAGREE = ("Low confidence: the two best passages are about equally good and say different things; "
            "both are quoted. Check the sources before relying on this answer.")
NO_SOURCES = '<p class="rq-empty">Sources for the latest answer appear here. Click a [n] to read it in its report.</p>'


def low_confidence_note(answer) -> str:
    """What to tell the reader about a low-confidence answer, by its reason."""
    return DISAGREE if getattr(answer, "low_confidence_reason", None) == "disagree" else LOW_CONFIDENCE


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
