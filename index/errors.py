"""The error every reading stage raises for a report that cannot be indexed.

Its own module so that :mod:`index.read` (which picks the reader) and :mod:`index.pdf` (the PDF
reader it imports lazily) both raise it without importing each other.
"""
from __future__ import annotations

from pathlib import Path


class ReportError(Exception):
    """A report that cannot be indexed. ``str()`` is the one-line message for the user."""

    def __init__(self, path: Path | str, reason: str, action: str = "not indexed"):
        reason = " ".join(reason.split())  # one line, whatever a parser's exception said
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason} — {action}")
