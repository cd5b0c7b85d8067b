"""PDF -> report text with page offsets: the only module that imports pypdf."""
from __future__ import annotations

import io
import logging
from pathlib import Path

from index.passage import ReportText
from index.read import ReportError


def read_pdf(path: Path, data: bytes) -> ReportText:
    """Text of a PDF, pages separated by blank lines, with where each page starts."""
    import pypdf
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReportError(path, "encrypted PDF needing a password", "not indexed; save an unlocked copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ReportError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ReportError(path, f"malformed PDF ({type(exc).__name__}: {str(exc)[:80]})") from exc
    if not any(p.strip() for p in pages):
        raise ReportError(path, "no text layer (scanned?)", "not indexed; OCR it first")
    starts, parts, offset = [], [], 0
    for text in pages:
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2
    meta = reader.metadata or {}
    title = (meta.get("/Title") or "").strip() or None
    return ReportText(text="\n\n".join(parts), page_starts=starts, title=title)
