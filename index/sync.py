"""Sync: make the index match the library folder, touching only what changed.

New and changed reports (by sha256 of the file) are read, chunked and embedded; removed
reports' segments leave the manifest; unchanged ones are not touched; a renamed but identical
file keeps its segment. A report that fails to read keeps its previous passages.
"""
from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from index.agreement import check_encoder, encoder_of
from index.chunk import CHUNKER_VERSION, chunk, embedding_text, retrieval_text
from index.errors import ReportError
from index.passage import Passage, Report
from index.positions import Positions
from index.parse import Limits, Parser
from index.read import REPORT_SUFFIXES, file_sha256, first_line_title, read_sidecar
from index.store import IndexDir, IndexUnusable, Manifest, ReportEntry, check_compatible, segment_name

METADATA_KEYS = ("title", "publisher", "date", "kind")


@dataclass(frozen=True)
class LibraryFile:
    """A report file found in the library folder."""

    path: Path
    source: str  # path relative to the library, with "/"
    report_id: str
    sha256: str
    size: int
    mtime_ns: int
    meta: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class SyncPlan:
    """What a sync will do; computed without reading or embedding any report."""

    add: list[LibraryFile] = field(default_factory=list)
    update: list[tuple[LibraryFile, ReportEntry]] = field(default_factory=list)
    rename: list[tuple[LibraryFile, ReportEntry]] = field(default_factory=list)
    remove: list[ReportEntry] = field(default_factory=list)
    unchanged: list[tuple[LibraryFile, ReportEntry]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_read(self) -> list[LibraryFile]:
        return self.add + [f for f, _ in self.update]

    def describe(self) -> str:
        return (
            f"{len(self.add)} to add, {len(self.update)} to update, {len(self.remove)} to remove, "
            f"{len(self.rename)} renamed, {len(self.unchanged)} unchanged"
        )


@dataclass
class SyncResult:
    """What a sync did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    unchanged: int = 0
    passages_added: int = 0
    passages_removed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embedded: int = 0
    committed: bool = False

    def describe(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"renamed {len(self.renamed)}, unchanged {self.unchanged}; passages +{self.passages_added} "
            f"-{self.passages_removed}; {len(self.errors)} not indexed; {self.seconds:.1f} s"
        )


def scan(library: Path, known: dict[str, ReportEntry]) -> tuple[list[LibraryFile], list[str]]:
    """The report files in ``library``, hashed (a file whose size and mtime match the index's
    record keeps its recorded hash, so a no-op sync reads no report)."""
    if not library.is_dir():
        raise IndexUnusable(f"{library}: library folder not found; create it or pass --library DIR")
    files, notes, ids = [], [], {}
    for path in sorted(p for p in library.rglob("*") if p.is_file()):
        rel = path.relative_to(library).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue
        suffix = path.suffix.lower()
        if suffix == ".json" and any(path.with_suffix(s).exists() for s in REPORT_SUFFIXES):
            continue  # a report's metadata sidecar
        if suffix not in REPORT_SUFFIXES:
            notes.append(f"{rel}: not a PDF, TXT or MD file — ignored")
            continue
        report_id = rel[: -len(path.suffix)] if path.suffix else rel
        if report_id in ids:
            notes.append(f"{rel}: same report id as {ids[report_id]} — not indexed; rename one of them")
            continue
        ids[report_id] = rel
        stat = path.stat()
        entry = known.get(rel)
        if entry and entry.size == stat.st_size and entry.mtime_ns == stat.st_mtime_ns:
            sha = entry.report.sha256
        else:
            sha = file_sha256(path)
        try:
            meta = read_sidecar(path)
        except ReportError as exc:
            notes.append(str(exc))
            meta = {}
        files.append(LibraryFile(path, rel, report_id, sha, stat.st_size, stat.st_mtime_ns, meta))
    return files, notes


def plan(files: list[LibraryFile], entries: list[ReportEntry]) -> SyncPlan:
    """Compare the library with the index's reports (pure: no I/O)."""
    result = SyncPlan()
    by_source = {e.report.source: e for e in entries}
    sources = {f.source for f in files}
    # Reports whose file is gone may have been renamed: match them by content.
    vanished = {e.report.sha256: e for e in entries if e.report.source not in sources}
    claimed: dict[str, str] = {}  # sha256 -> source of the file that holds that content
    for f in files:
        entry = by_source.get(f.source)
        if entry and entry.report.sha256 == f.sha256:
            result.unchanged.append((f, entry))
            claimed[f.sha256] = f.source
    for f in files:
        entry = by_source.get(f.source)
        if entry and entry.report.sha256 == f.sha256:
            continue
        if f.sha256 in claimed:
            result.notes.append(f"{f.source}: same content as {claimed[f.sha256]} — not indexed twice")
            continue
        claimed[f.sha256] = f.source
        if entry:
            result.update.append((f, entry))
        elif f.sha256 in vanished:
            result.rename.append((f, vanished.pop(f.sha256)))
        else:
            result.add.append(f)
    renamed = {e.report.source for _, e in result.rename}
    result.remove = [e for e in entries if e.report.source not in sources and e.report.source not in renamed]
    return result


def texts_to_embed(passages: list[Passage]) -> int:
    """How many texts a report's passages are embedded as: each passage on its own and with its
    headings, and each of its sentences."""
    return 2 * len(passages) + sum(len(p.sentences) for p in passages)


def _report(f: LibraryFile, base: Report | None = None, **derived) -> Report:
    """The report's record: sidecar metadata over what was read from the document."""
    fields = {**(derived or {}), **{k: f.meta[k] for k in METADATA_KEYS if f.meta.get(k)}}
    if base is None:
        base = Report(id=f.report_id, source=f.source, sha256=f.sha256, title=f.report_id)
    return replace(base, id=f.report_id, source=f.source, sha256=f.sha256, **fields)


class Progress:
    """A progress bar with ETA on stderr while embedding (tqdm), silent when not wanted. Its
    total is an estimate until the last report is read (see :class:`Estimate`)."""

    def __init__(self, show: bool):
        self._bar = None
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=None, unit="text", desc="embedding passages and sentences", file=sys.stderr)

    def set_total(self, total: int) -> None:
        if self._bar and total != self._bar.total:
            self._bar.total = total
            self._bar.refresh()

    def __call__(self, n: int) -> None:
        if self._bar:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar:
            self._bar.close()


class Estimate:
    """How many texts a sync will embed, known exactly for the reports read so far and estimated
    for the rest from their file sizes at the rate (texts per byte) of those read.

    :param size: bytes of all the files to read.
    """

    def __init__(self, size: int):
        self.left, self.known, self._bytes_read, self.total = size, 0, 0, 0

    def read(self, size: int, texts: int) -> int:
        """Count one report read (``size`` bytes, ``texts`` to embed); returns the new total."""
        self.left -= size
        self._bytes_read += size
        self.known += texts
        rate = self.known / self._bytes_read if self._bytes_read else 0.0
        self.total = self.known + round(max(self.left, 0) * rate)
        return self.total


def sync(
    library: Path,
    index_dir: Path,
    embedder=None,
    model: str | None = None,
    encoder: str | None = None,
    rebuild: bool = False,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    limits: Limits = Limits(),
) -> SyncResult:
    """Bring the index at ``index_dir`` up to date with the report files in ``library``.

    :param embedder: an :class:`index.embed.Embedder`, or a callable that makes one; it is only
        called when there is something to embed, so a sync with nothing to do loads no model.
    :param model: the model to use when no embedder is passed (see :func:`index.embed.resolve_model`).
    :param encoder: the encoder to use when no embedder is passed (see :func:`index.embed.resolve_encoder`).
        Reports are added to an index built by another encoder only if the two agree on its
        vectors (:func:`index.agreement.check_encoder`); a rebuild re-embeds everything.
    :param rebuild: re-read and re-embed every report (after changing model or chunker).
    :param dry_run: print the plan and change nothing.
    :param on_progress: called with (texts embedded, texts to embed) — passages and their sentences — e.g. for a UI bar.
    :param limits: size, page, time and memory limits for reading each file.
    """
    from index.embed import resolve_model

    started = time.monotonic()
    store = IndexDir(index_dir)
    result = SyncResult()
    with store.lock(wait=False) if not dry_run else contextlib.nullcontext():
        spec = getattr(embedder, "spec", None) or resolve_model(model)
        manifest = store.read_manifest()
        if manifest is not None and not rebuild:
            if manifest.model_sha256 == spec.sha256 and manifest.chunker != CHUNKER_VERSION:
                # Passages are derived from the library alone: a new chunker re-reads it unasked.
                out(f"The index was chunked by version {manifest.chunker}, this is {CHUNKER_VERSION}: re-reading every report.")
                rebuild = True
            else:
                check_compatible(manifest, spec.name, spec.sha256, CHUNKER_VERSION, store.path)
        entries = manifest.reports if manifest and not rebuild else []
        files, notes = scan(Path(library), {e.report.source: e for e in entries})
        todo = plan(files, entries)
        for note in notes + todo.notes:
            out(note)
        out(f"Plan: {todo.describe()}")
        unplaced = [(f, e) for f, e in todo.unchanged + todo.rename
                    if e.report.page_starts is not None and not store.has_positions(e.segment)]
        if unplaced:
            out(f"{len(unplaced)} PDF(s) indexed without their page positions: reading them again (no re-embedding)")
        if dry_run:
            result.seconds = time.monotonic() - started
            return result

        _add_positions(store, unplaced, limits, out)
        new_entries: list[ReportEntry] = []
        for f, e in todo.unchanged + todo.rename:
            report = _report(f, e.report)
            new_entries.append(ReportEntry(report, e.segment, f.size, f.mtime_ns))
        result.unchanged = len(todo.unchanged)
        result.renamed = [f"{e.report.source} -> {f.source}" for f, e in todo.rename]
        result.removed = [e.report.source for e in todo.remove]
        result.passages_removed = sum(e.report.passages for e in todo.remove)

        to_read = todo.to_read()
        if to_read or manifest is None:
            if not callable(getattr(embedder, "encode", None)):
                embedder = embedder() if callable(embedder) else _default_embedder(spec, encoder)
            if to_read and manifest is not None and not rebuild:
                agreement = check_encoder(store, manifest, embedder)
                if agreement:
                    out(f"The index was built with encoder {agreement.built_with}; {agreement.asked} agrees with it "
                        f"(min cosine {agreement.cosine_min:.3f} over {agreement.passages} passages): adding to it.")
        previous = {f.source: e for f, e in todo.update}
        bar = Progress(progress)
        estimate = Estimate(sum(f.size for f in to_read))
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            bar(n)
            if on_progress:
                on_progress(done, estimate.total)

        read_ok: set[str] = set()
        try:
            for f, passages, text, report, positions in _read_ahead(to_read, embedder, limits, result, out):
                read_ok.add(f.source)
                bar.set_total(estimate.read(f.size, texts_to_embed(passages)))
                segment = segment_name(f.sha256, spec.sha256, CHUNKER_VERSION, *encoder_of(embedder))
                if not store.has_segment(segment):
                    vectors, contexts, sentence_vectors = embed_passages(embedder, passages, advance)
                    store.write_segment(segment, passages, vectors, sentence_vectors, text, contexts)
                    result.embedded += len(passages)
                else:
                    advance(texts_to_embed(passages))
                if report.page_starts is not None and not store.has_positions(segment):
                    store.write_positions(segment, positions)
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                report = replace(report, passages=len(passages), indexed_at=stamp)
                new_entries.append(ReportEntry(report, segment, f.size, f.mtime_ns))
                (result.updated if f.source in previous else result.added).append(f.source)
                result.passages_added += len(passages)
                if f.source in previous:
                    result.passages_removed += previous[f.source].report.passages
        finally:
            bar.close()
        # A report that could not be read keeps its previous passages.
        failed = {f.source for f in to_read} - read_ok
        new_entries += [previous[s] for s in failed if s in previous]

        new_entries.sort(key=lambda e: e.report.source)
        changed = manifest is None or rebuild or [e.to_json() for e in new_entries] != [
            e.to_json() for e in sorted(entries, key=lambda e: e.report.source)
        ]
        if changed:
            dimension = embedder.dimension if embedder is not None and hasattr(embedder, "dimension") else manifest.dimension
            max_tokens = embedder.max_tokens if embedder is not None and hasattr(embedder, "max_tokens") else manifest.max_tokens
            # The index keeps the encoder that built it (reports another one added were checked
            # to agree with it); a new or rebuilt index takes this sync's.
            built_with = (manifest.encoder, manifest.encoder_sha256) if manifest is not None and not rebuild else encoder_of(embedder)
            new = Manifest(
                model=spec.name, model_sha256=spec.sha256, dimension=dimension, max_tokens=max_tokens,
                chunker=CHUNKER_VERSION, reports=new_entries, encoder=built_with[0], encoder_sha256=built_with[1],
            )
            from index.approximate import build  # a large library's approximate search, from the previous version's

            new.search = build(store, new, manifest, out=out)
            store.commit(new)
            result.committed = True
    result.seconds = time.monotonic() - started
    out(f"Done: {result.describe()}")
    return result


def _add_positions(store: IndexDir, pairs: list[tuple[LibraryFile, ReportEntry]], limits: Limits, out) -> None:
    """Give PDFs indexed before positions were kept (or with another version of them) their
    positions, beside their segments: the file is read again (in the parser's child, no model),
    and its passages and vectors stay as they are. A file whose text no longer reads as the
    index has it gets none (its page view shows the pages without boxes)."""
    if not pairs:
        return
    with Parser(limits) as parser:
        for f, entry in pairs:
            try:
                text = parser.read(f.path)
            except ReportError as exc:
                out(f"{f.source}: page positions not added ({exc.reason})")
                text = None
            same = text is not None and text.positions and text.text == store.read_text(entry)
            store.write_positions(entry.segment, Positions.from_json(text.positions) if same else None)


READ_AHEAD = 2  # reports parsed and waiting while one is embedded: parsing never starves the encoder


def _read_ahead(files: list[LibraryFile], embedder, limits: Limits, result: SyncResult, out) -> Iterator[tuple]:
    """Read and chunk each file, yielding ``(file, passages, text, report, positions)``; a file that fails
    is reported (one line) and skipped.

    PDFs are parsed in the parser's child process, driven from a thread that keeps up to
    :data:`READ_AHEAD` reports parsed ahead, so parsing runs on one core while the caller embeds
    the report before on both: a sync costs about its embedding time, not parsing plus embedding.
    Chunking stays in the caller's thread: it counts word pieces with the model's tokenizer,
    which must not be used from two threads at once.
    """
    parsed: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def offer(item) -> bool:
        """Queue an item for the caller unless it has stopped reading; False if it has."""
        while not stop.is_set():
            try:
                parsed.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def parse_all() -> None:
        with Parser(limits) as parser:
            for f in files:
                if stop.is_set():
                    return
                try:
                    item = parser.read(f.path)
                except ReportError as exc:
                    item = exc
                except BaseException as exc:  # anything else ends the sync, in the caller's thread
                    offer((f, exc))
                    return
                if not offer((f, item)):
                    return
        offer(None)

    reader = threading.Thread(target=parse_all, name="report-reader", daemon=True)
    reader.start()
    try:
        while (item := parsed.get()) is not None:
            f, text = item
            try:
                if isinstance(text, BaseException):
                    raise text
                passages = chunk(f.report_id, text, embedder.max_tokens, embedder.count_tokens)
                if not passages:
                    raise ReportError(f.path, "no paragraphs of text found")
            except ReportError as exc:
                result.errors.append(str(exc).replace(str(f.path), f.source, 1))
                out(result.errors[-1])
                continue
            derived = {
                "title": text.title or first_line_title(text.text, f.report_id),
                "pages": len(text.page_starts) if text.page_starts else None,
                "page_starts": text.page_starts,
            }
            if text.date:
                derived["date"] = text.date
            positions = Positions.from_json(text.positions) if text.positions else None
            yield f, passages, text.text, _report(f, **derived), positions
    finally:
        stop.set()  # the caller stopped early (an error, or it was abandoned): let the reader go
        reader.join()


def embed_passages(embedder, passages: list[Passage], progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A report's passage vectors (alone, and with their headings) and sentence vectors.

    Each distinct text is embedded once: a passage under no heading reads the same with and
    without it, and a one-sentence passage is its own sentence, so those vectors are shared.
    """
    alone = [embedding_text(p) for p in passages]
    context = [retrieval_text(p) for p in passages]
    sentences = [p.text[s:e] for p in passages for s, e in p.sentences]
    texts = alone + context + sentences
    distinct = list(dict.fromkeys(texts))
    progress(len(texts) - len(distinct))
    vectors = embedder.encode(distinct, progress=progress)
    rows = {text: i for i, text in enumerate(distinct)}
    every = vectors[[rows[t] for t in texts]] if texts else vectors
    n = len(passages)
    return every[:n], every[n:2 * n], every[2 * n:]


def _default_embedder(spec, encoder: str | None = None):
    from index.embed import Embedder

    return Embedder(spec, encoder)
