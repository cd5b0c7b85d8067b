"""The small pieces every view of the page uses: escaping, marking spans, where a citation is,
its button, and an error or a size or a time as the user reads it. Pure functions over strings."""
from __future__ import annotations

import html
from datetime import datetime


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


def merge_spans(spans, lo: int, hi: int) -> list[list[int]]:
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
    for start, end in merge_spans(spans, 0, len(text)):
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def cite_button(turn: int, citation, label: str | None = None, css: str = "rq-cite") -> str:
    """A button that opens ``citation`` of answer ``turn`` in the source viewer (see viewer.js)."""
    name = f"Source {citation.n}: {citation.title}, {where(citation)}"
    return (
        f'<button type="button" class="{css}" data-rq-turn="{turn}" data-rq-n="{citation.n}" '
        f'aria-label="{esc(name)}" title="{esc(name)}">{esc(label or f"[{citation.n}]")}</button>'
    )


def human_size(size: int) -> str:
    """``512 bytes``, ``1.5 KB``, ``3.2 MB``: a file's size as a person reads it."""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def when(stamp: str | None) -> str:
    """``2026-11-28T13:27:21+0000`` as ``2026-11-28 13:27 UTC``; anything else as it is."""
    if not stamp:
        return "—"
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "").replace("UTC+00:00", "UTC")

