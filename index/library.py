"""The library folder: adding report files to it and removing them (a sync then follows)."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from index.errors import ReportError
from index.read import REPORT_SUFFIXES, sniff

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name that stays inside the library: no folders, no leading dot, plain characters."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = _UNSAFE.sub("-", stem).strip("-.") or "report"
    return f"{stem[:120]}{suffix.lower()}"


def check_report_file(path: Path, name: str | None = None) -> str:
    """The kind of a file offered to the library (``pdf`` or ``text``), judged by content;
    raises :class:`ReportError` naming the file if it is not a report we can read."""
    name = name or path.name
    suffix = Path(name).suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ReportError(name, f"not a PDF, TXT or MD file ({suffix or 'no extension'})", "not added")
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError as exc:
        raise ReportError(name, f"cannot be read ({exc.strerror})", "not added") from exc
    kind = sniff(head)
    if kind == "empty":
        raise ReportError(name, "empty file", "not added")
    if kind in ("html", "binary"):
        raise ReportError(name, f"{'an HTML page' if kind == 'html' else 'binary data'}, not a report", "not added")
    if (suffix == ".pdf") != (kind == "pdf"):
        raise ReportError(name, f"named {suffix} but its content is {'a PDF' if kind == 'pdf' else 'not a PDF'}", "not added; rename it")
    return kind


def add_files(library: Path, files: list[Path], names: list[str] | None = None) -> list[Path]:
    """Copy report files (and ``REPORT.json`` metadata beside them) into ``library`` under safe
    names (a file of the same name is replaced, which the next sync treats as an update). Raises :class:`ReportError` for the first bad file,
    before anything is copied."""
    names = names or [f.name for f in files]
    for f, n in zip(files, names):
        check_report_file(f, n)
    library.mkdir(parents=True, exist_ok=True)
    added = []
    for f, n in zip(files, names):
        target = library / safe_name(n)
        if target.resolve().parent != library.resolve():
            raise ReportError(n, "would land outside the library", "not added")
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(f, tmp)
        sidecar = f.with_suffix(".json")
        if sidecar.is_file():  # metadata travels with its report
            shutil.copyfile(sidecar, target.with_suffix(".json"))
        os.replace(tmp, target)  # a sync never sees half a file
        added.append(target)
    return added


def find_report_files(library: Path, report: str) -> list[Path]:
    """The library file(s) of a report given by id (``name`` or ``folder/name``) or file name."""
    candidate = (library / report).resolve()
    if library.resolve() not in candidate.parents:
        raise ReportError(report, "is outside the library", "not removed")
    if candidate.is_file() and candidate.suffix.lower() in REPORT_SUFFIXES:
        return [candidate]
    return [candidate.with_suffix(s) for s in sorted(REPORT_SUFFIXES) if candidate.with_suffix(s).is_file()]


def remove_reports(library: Path, reports: list[str]) -> list[Path]:
    """Delete reports (and their metadata sidecars) from the library. Raises
    :class:`ReportError` for the first unknown report, before anything is deleted."""
    found = []
    for r in reports:
        files = find_report_files(library, r)
        if not files:
            raise ReportError(r, "no such report in the library", "nothing removed; see `python -m qa reports`")
        found.extend(files)
    for f in found:
        f.unlink()
        sidecar = f.with_suffix(".json")
        if sidecar.is_file() and not any(sidecar.with_suffix(s).exists() for s in REPORT_SUFFIXES):
            sidecar.unlink()
    return found
