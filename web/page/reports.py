"""The Reports tab: everything known about each indexed report, and what adding or removing
reports did, in words. Pure functions over index.passage.Report and index.sync's result."""
from __future__ import annotations

from pathlib import Path

from web.page.markup import esc, when

LOADING_REPORTS = '<p class="rq-empty">Loading the reports…</p>'


def reports_html(reports, download_url=lambda report: None) -> str:
    """The reports view: everything known about each indexed report, a button to read it and a
    link to its original file. Becomes one card per report at phone width (see page.css)."""
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


def notice_html(message: str) -> str:
    """A message of one or more lines (separated by blank lines) as paragraphs of text: it names
    uploaded files, so it is escaped, never read as Markdown or HTML (``[x](javascript:...).pdf``)."""
    return "".join(f"<p>{esc(line)}</p>" for line in message.split("\n\n") if line)


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
