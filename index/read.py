"""Report files -> text: decide what a file is by its content, not its name, and read it.

PDF parsing itself lives in :mod:`index.pdf` (the only module that imports pypdf).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from index.errors import ReportError
from index.passage import ReportText

REPORT_SUFFIXES = {".pdf", ".txt", ".md"}


def sniff(data: bytes) -> str:
    """What the bytes are: ``"pdf"``, ``"html"``, ``"text"``, ``"empty"`` or ``"binary"``."""
    head = data[:1024]
    if not data.strip():
        return "empty"
    if b"%PDF-" in head:
        return "pdf"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in lowered[:256]:
        return "html"
    if b"\x00" in data[:8192]:
        return "binary"
    return "text"


def decode_text(data: bytes, path: Path | str) -> str:
    """Text from bytes: UTF-8 (with or without BOM), else Windows-1252; newlines normalised.

    Offsets in passages index this decoded, newline-normalised text.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReportError(path, "not UTF-8 or Windows-1252 text", "not indexed; save it as UTF-8") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_report(path: Path) -> ReportText:
    """Read a report file of any supported kind; raises :class:`ReportError` with the reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(path, f"cannot be read ({exc.strerror})") from exc
    kind = sniff(data)
    suffix = path.suffix.lower()
    if kind == "empty":
        raise ReportError(path, "empty file", "not indexed; add the report's content")
    if kind == "html":
        raise ReportError(path, "an HTML page, not a report", "not indexed; save the report itself (PDF or text)")
    if kind == "binary":
        raise ReportError(path, "binary data, not a PDF or text", "not indexed")
    if suffix == ".pdf" and kind != "pdf":
        raise ReportError(path, "named .pdf but is not a PDF", "not indexed; check the file")
    if kind == "pdf":
        from index.pdf import read_pdf

        return read_pdf(path, data)
    text = decode_text(data, path)
    if not text.strip():
        raise ReportError(path, "no text", "not indexed")
    return ReportText(text=text)


def file_sha256(path: Path) -> str:
    """Hash of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sidecar(path: Path) -> dict:
    """Metadata from ``REPORT.json`` beside the report (title, publisher, date, kind), if any."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(sidecar, f"metadata is not valid JSON ({exc})", "fix or delete it") from exc
    if not isinstance(meta, dict):
        raise ReportError(sidecar, "metadata must be a JSON object", "fix or delete it")
    return {k: v for k, v in meta.items() if isinstance(v, (str, int, float)) or v is None}


_DATELINE = re.compile(
    r"^((mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?(\d{1,2}\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{4}$|^(\w+day,?\s+)?\d{1,2}\s+\w+\s+\d{4}$",
    re.IGNORECASE,
)


def first_line_title(text: str, fallback: str) -> str:
    """A title for a report without metadata: its first substantial line that is not a date."""
    for line in text.splitlines():
        line = line.strip()
        if len(line.split()) >= 3 and not line[:1].isdigit() and not _DATELINE.match(line):
            return line[:200]
    return fallback
