"""The index on disk: immutable segments plus a manifest that names one complete version.

Layout of an index directory::

    manifest.json        the current version: model, chunker, reports and their segments
    manifest.prev.json   the version before it (kept, and its segments with it)
    segments/S.faiss     one report's passage vectors (FAISS, ids = passage keys)
    segments/S.npy       its sentence vectors, passage by passage, sentence by sentence
    segments/S.ctx.npy   its passage vectors with context (the headings each passage sits under)
    segments/S.jsonl     its passages with their sentence spans (JSON lines; no pickle)
    segments/S.txt       its text, which passage offsets index
    segments/S.pagesV.npz   a PDF's text on its pages (index.positions, version V): line boxes,
                         word edges, printed page numbers; written beside a finished segment
    renders/SHA/P-S.png  page P of the PDF with sha256 SHA drawn at scale S/100 (index.render)
    combined/K/          what is built over a whole version (the BM25 index, an approximate
                         vector index), K named by the version's segments: see IndexDir.artefact
    lock                 held by the one sync allowed at a time

Files a version uses are never rewritten: a sync writes new segments beside them (fsync),
then switches version by atomically replacing ``manifest.json`` (``os.replace``), last.
A crash at any moment therefore leaves the old or the new version, both complete.
"""
from __future__ import annotations

import contextlib
import io
import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np

from index.passage import Passage, Report
from index.vectors import ApproximateIndex, VectorIndex

FORMAT = 1
MANIFEST = "manifest.json"
PREVIOUS = "manifest.prev.json"


class IndexUnusable(RuntimeError):
    """The index cannot be used as asked; the message says why and what to do."""


class IndexBusy(IndexUnusable):
    pass


@dataclass
class ReportEntry:
    """A report as the manifest records it: its metadata, its segment, its file's stat."""

    report: Report
    segment: str
    size: int
    mtime_ns: int

    def to_json(self) -> dict:
        return {**asdict(self.report), "segment": self.segment, "size": self.size, "mtime_ns": self.mtime_ns}

    @classmethod
    def from_json(cls, data: dict) -> "ReportEntry":
        names = {f.name for f in fields(Report)}
        return cls(
            report=Report(**{k: v for k, v in data.items() if k in names}),
            segment=data["segment"], size=data["size"], mtime_ns=data["mtime_ns"],
        )


@dataclass
class Manifest:
    """How the index was built and what it holds; loading checks it before trusting the rest."""

    model: str
    model_sha256: str
    dimension: int
    max_tokens: int
    chunker: str
    reports: list[ReportEntry] = field(default_factory=list)
    # The encoder that embedded the index (index.embed.ENCODERS) and the sha256 of the file it
    # runs ("" for torch: the model's weights say it all). Older manifests have neither: torch.
    encoder: str = "torch"
    encoder_sha256: str = ""
    version: int = 0
    created_at: str = ""
    format: int = FORMAT
    # How the version's vectors are searched: {"kind": "flat"} (exactly) or {"kind": "ivf", ...},
    # as index.approximate.build reports it. Older manifests have none: load decides by size.
    search: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["reports"] = [r.to_json() for r in self.reports]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        if data.get("format") != FORMAT:
            raise IndexUnusable(f"index format {data.get('format')!r} is not {FORMAT}")
        reports = [ReportEntry.from_json(r) for r in data.get("reports", [])]
        return cls(**{**{k: v for k, v in data.items() if k != "reports"}, "reports": reports})

    def segments(self) -> set[str]:
        return {r.segment for r in self.reports}

    def combined_key(self) -> str:
        """Names what is built over this version's passages as a whole: the same segments
        (hence the same passages and vectors) give the same key, whatever the version number."""
        made_of = ":".join([self.model_sha256, self.chunker, *sorted(self.segments())])
        return hashlib.sha256(made_of.encode()).hexdigest()[:24]


def passage_key(segment: str, passage: Passage) -> int:
    """The FAISS id of a passage: from its segment and place, so it is stable across loads."""
    digest = hashlib.blake2b(f"{segment}:{passage.paragraph}.{passage.part}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def segment_name(file_sha256: str, model_sha256: str, chunker: str, encoder: str = "torch", encoder_sha256: str = "") -> str:
    """Segments are named by what they are made of, so a rebuild never overwrites one in use.

    The encoder is part of it: vectors of the int8 encoder are close to torch's but not equal, so
    a rebuild with torch must not take up a segment that int8 embedded (nor the reverse). A torch
    segment keeps the name it had before encoders were chosen, so older indexes stay valid.
    """
    made_of = f"{file_sha256}:{model_sha256}:{chunker}"
    if encoder != "torch":
        made_of += f":{encoder}:{encoder_sha256}"
    return hashlib.sha256(made_of.encode()).hexdigest()[:32]


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _passage_json(p: Passage) -> dict:
    data = asdict(p)
    del data["report"]  # the manifest says which report a segment belongs to (renames are free)
    return data


class IndexDir:
    """An index directory: read the manifest, write segments, switch versions, load."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.segments_dir = self.path / "segments"

    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def stamp(self) -> int:
        """Changes whenever a new version is committed (cheap: one stat)."""
        try:
            return self.manifest_path().stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def read_manifest(self, previous: bool = False) -> Manifest | None:
        path = self.path / (PREVIOUS if previous else MANIFEST)
        try:
            return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexUnusable(
                f"{path}: unreadable manifest ({exc}); rebuild with `python -m qa index --rebuild`"
            ) from exc

    @contextlib.contextmanager
    def lock(self, wait: bool = False):
        """Hold the index for one sync. Another sync waits (``wait``) or gets :class:`IndexBusy`."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "lock", "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise IndexBusy(f"{self.path}: another sync is running; wait for it to finish and try again") from exc
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def write_segment(
        self, segment: str, passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray, text: str,
        context_vectors: np.ndarray,
    ) -> None:
        """Write one report's segment files; the .faiss file, written last, marks it complete.

        :param vectors: each passage's text embedded on its own.
        :param context_vectors: each passage embedded with the headings it sits under.
        """
        if len(sentence_vectors) != sum(len(p.sentences) for p in passages):
            raise ValueError(f"{len(sentence_vectors)} sentence vectors for {sum(len(p.sentences) for p in passages)} sentences")
        if context_vectors.shape != vectors.shape:
            raise ValueError(f"context vectors of shape {context_vectors.shape} for passage vectors of shape {vectors.shape}")
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        base = self.segments_dir / segment
        index = VectorIndex(vectors.shape[1])
        index.add(np.array([passage_key(segment, p) for p in passages], dtype=np.int64), vectors)
        tmp = base.with_name(f".{segment}.{os.getpid()}.faiss.tmp")
        index.save(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _fsync_write(base.with_suffix(".txt"), text.encode("utf-8"))
        for suffix, matrix in ((".npy", sentence_vectors), (".ctx.npy", context_vectors)):
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
            _fsync_write(base.with_suffix(suffix), buffer.getvalue())
        lines = "".join(json.dumps(_passage_json(p), ensure_ascii=False) + "\n" for p in passages)
        _fsync_write(base.with_suffix(".jsonl"), lines.encode("utf-8"))
        os.replace(tmp, base.with_suffix(".faiss"))  # last: a .faiss file means a complete segment
        _fsync_dir(self.segments_dir)

    def positions_path(self, segment: str) -> Path:
        from index.positions import POSITIONS_VERSION

        return self.segments_dir / f"{segment}.pages{POSITIONS_VERSION}.npz"

    def has_positions(self, segment: str) -> bool:
        """Whether a PDF's segment has its positions of this version (one stat)."""
        return self.positions_path(segment).is_file()

    def write_positions(self, segment: str, positions) -> None:
        """Keep a PDF's positions (:class:`index.positions.Positions`, or None for a PDF whose
        characters could not be placed: an empty file, so no sync tries again) beside its
        segment. A new file, not a change to the segment: an older index gains it in place."""
        from index.positions import Positions

        self.segments_dir.mkdir(parents=True, exist_ok=True)
        _fsync_write(self.positions_path(segment), (positions or Positions.empty()).to_bytes())

    def read_positions(self, entry: "ReportEntry"):
        """A PDF's positions, or None when its segment has none (a text report, an older index
        not synced since, or a PDF whose characters could not be placed)."""
        from index.positions import Positions

        try:
            positions = Positions.from_file(self.positions_path(entry.segment))
        except (OSError, ValueError, KeyError):
            return None
        return positions if len(positions.pages) else None

    def has_segment(self, segment: str) -> bool:
        base = self.segments_dir / segment
        return all(base.with_suffix(s).is_file() for s in (".faiss", ".jsonl", ".txt", ".npy", ".ctx.npy"))

    def commit(self, manifest: Manifest) -> Manifest:
        """Make ``manifest`` the current version; the current one becomes the previous."""
        current = self.manifest_path()
        manifest.version = (self.read_manifest().version if current.exists() else 0) + 1
        manifest.created_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if current.exists():
            _fsync_write(self.path / PREVIOUS, current.read_bytes())
        _fsync_write(current, json.dumps(manifest.to_json(), indent=1, ensure_ascii=False).encode("utf-8"))
        _fsync_dir(self.path)
        self.collect_garbage()
        return manifest

    def artefact(self, manifest: Manifest, name: str) -> Path:
        """Where something built over a whole version is kept (``combined/K/name``); it may not
        exist yet. See :meth:`save_artefact`."""
        return self.path / "combined" / manifest.combined_key() / name

    def save_artefact(self, manifest: Manifest, name: str, write: Callable[[Path], None]) -> Path:
        """Build an artefact of a version once: ``write(tmp)`` fills a temporary file or folder
        beside it, which then takes its name atomically. If another process got there first its
        copy is kept (both were built from the same segments)."""
        target = self.artefact(manifest, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        try:
            write(tmp)
            if target.exists():
                return target
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
        return target

    def _kept_manifests(self) -> list[Manifest]:
        kept = []
        for previous in (False, True):
            try:
                m = self.read_manifest(previous)
            except IndexUnusable:
                m = None
            if m:
                kept.append(m)
        return kept

    def collect_garbage(self) -> int:
        """Delete segment files, artefacts and leftovers that neither the current nor the
        previous version uses."""
        manifests = self._kept_manifests()
        keep = set().union(*(m.segments() for m in manifests))
        removed = 0
        combined = self.path / "combined"
        if combined.is_dir():
            keys = {m.combined_key() for m in manifests}
            for d in combined.iterdir():
                if d.name not in keys:
                    shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)
                    removed += 1
        if self.segments_dir.is_dir():
            for f in self.segments_dir.iterdir():
                name = f.name.split(".")[0] if not f.name.startswith(".") else ""
                if name not in keep:
                    f.unlink(missing_ok=True)
                    removed += 1
        renders = self.path / "renders"
        if renders.is_dir():  # pages of reports that left the library
            files = {e.report.sha256 for m in manifests for e in m.reports}
            for d in renders.iterdir():
                if d.name not in files:
                    shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)
                    removed += 1
        return removed

    def read_passages(self, entry: ReportEntry) -> list[Passage]:
        path = (self.segments_dir / entry.segment).with_suffix(".jsonl")
        with open(path, encoding="utf-8") as f:
            passages = []
            for line in f:
                data = json.loads(line)
                data["sentences"] = tuple(tuple(s) for s in data.get("sentences", ()))
                passages.append(Passage(report=entry.report.id, **data))
            return passages

    def read_text(self, entry: ReportEntry) -> str:
        return (self.segments_dir / entry.segment).with_suffix(".txt").read_text(encoding="utf-8")

    def read_vectors(self, entry: ReportEntry) -> VectorIndex:
        return VectorIndex.load((self.segments_dir / entry.segment).with_suffix(".faiss"))

    def read_sentence_vectors(self, entry: ReportEntry) -> np.ndarray:
        return np.load((self.segments_dir / entry.segment).with_suffix(".npy"), allow_pickle=False)

    def read_context_vectors(self, entry: ReportEntry) -> np.ndarray:
        return np.load((self.segments_dir / entry.segment).with_suffix(".ctx.npy"), allow_pickle=False)


def check_compatible(manifest: Manifest, model: str, model_sha256: str, chunker: str, path: Path) -> None:
    """Refuse an index built another way, saying how to rebuild it."""
    if manifest.model_sha256 != model_sha256:
        raise IndexUnusable(
            f"{path}: index was built with model {manifest.model!r} (weights {manifest.model_sha256[:12]}), "
            f"not {model!r} (weights {model_sha256[:12]}); rebuild it with "
            f"`python -m qa --index {path} index --rebuild` or use --model {manifest.model}"
        )
    if manifest.chunker != chunker:
        raise IndexUnusable(
            f"{path}: index was built with chunker version {manifest.chunker}, this is {chunker}; "
            f"rebuild it with `python -m qa --index {path} index --rebuild`"
        )


@dataclass
class LoadedIndex:
    """One version of the index in memory: the reports, their passages, their vectors.

    The three sets of vectors are searched exactly (:class:`index.vectors.VectorIndex`) or, in a
    large library, approximately (:class:`index.vectors.ApproximateIndex`, see
    index.approximate); either way they hold the only copy of the vectors in memory.

    :param vectors: passage vectors under passage keys.
    :param contexts: passage vectors with their headings (see index.chunk.retrieval_text), under
        passage keys.
    :param sentences: sentence vectors under sentence ids (``sentence_ids``).
    :param sentence_matrix: the sentence vectors row by row when searched exactly (a view of
        ``sentences``' storage, not a copy); None when approximate (see ``sentence_vectors``).
    :param sentence_owner: for each sentence row, the key of its passage.
    :param sentence_rows: for each passage key, its sentences' rows ``(start, end)``.
    :param sentence_ids: for each sentence row, its id in ``sentences``.
    :param search: how the vectors are searched (index.approximate.build's record).
    """

    manifest: Manifest
    vectors: VectorIndex | ApproximateIndex
    passages: dict[int, Passage]
    entries: dict[str, ReportEntry]
    stamp: int
    directory: IndexDir
    sentences: VectorIndex | ApproximateIndex
    sentence_matrix: np.ndarray | None
    sentence_owner: np.ndarray
    sentence_rows: dict[int, tuple[int, int]]
    contexts: VectorIndex | ApproximateIndex
    sentence_ids: np.ndarray | None = None
    search: dict = field(default_factory=lambda: {"kind": "flat"})
    _sentence_lookup: object = None

    _lexical: object = None
    _report_keys: dict = field(default_factory=dict)

    @property
    def lexical(self):
        """The BM25 index of this version's passages, each with its report's title and its
        headings (index.chunk.retrieval_text), on first use: the version's saved copy
        (``combined/K/bm25``), else built and saved there for the next start."""
        if self._lexical is None:
            self._lexical = self._load_lexical()
        return self._lexical

    def _lexical_source(self) -> str:
        """Names what the BM25 texts hold beyond the segments (which name the artefact's folder):
        each report's title, which a sidecar can change without making a new segment."""
        titles = sorted((e.segment, e.report.title) for e in self.entries.values())
        return hashlib.sha256(json.dumps(titles, ensure_ascii=False).encode()).hexdigest()[:24]

    def _load_lexical(self):
        from index.chunk import retrieval_text
        from index.lexical import LexicalIndex

        made_from = self._lexical_source()
        saved = self.directory.artefact(self.manifest, "bm25")
        if saved.is_dir():
            try:
                return LexicalIndex.load(saved, made_from)
            except (OSError, ValueError):  # other titles, another tokeniser, or damaged: rebuilt
                shutil.rmtree(saved, ignore_errors=True)  # so that the new copy can take its place
        keys = list(self.passages)
        titles = {rid: e.report.title for rid, e in self.entries.items()}
        texts = [retrieval_text(self.passages[k], titles.get(self.passages[k].report, "")) for k in keys]
        lexical = LexicalIndex(keys, texts, made_from)
        with contextlib.suppress(OSError):  # a read-only index, a full disk: kept in memory only
            self.directory.save_artefact(self.manifest, "bm25", lexical.save)
        return lexical

    def text(self, report_id: str) -> str:
        return self.directory.read_text(self.entries[report_id])

    def report_keys(self, report_ids: set[str]) -> np.ndarray:
        """The keys of these reports' passages (a pass over every passage: remembered for the
        last few sets asked, since one ask may need them twice and a chat asks one report again)."""
        wanted = frozenset(report_ids)
        keys = self._report_keys.get(wanted)
        if keys is None:
            keys = np.array([k for k, p in self.passages.items() if p.report in wanted], dtype=np.int64)
            if len(self._report_keys) >= 16:
                self._report_keys.clear()
            self._report_keys[wanted] = keys
        return keys

    def sentence_vectors(self, rows: np.ndarray | slice) -> np.ndarray:
        """The vectors of these sentence rows (``sentence_rows`` gives a passage's)."""
        if self.sentence_matrix is not None:
            return self.sentence_matrix[rows]
        return self.sentences.get_many(self.sentence_ids[rows])

    def nearest_sentences(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the ``k`` sentences nearest ``query``, best first.

        :param allowed: if given, passage keys: only their sentences are considered.
        """
        ids = None
        if allowed is not None:
            spans = [self.sentence_rows[int(key)] for key in allowed]
            rows = np.concatenate([np.arange(a, b) for a, b in spans]) if spans else np.zeros(0, np.int64)
            ids = self.sentence_ids[rows]
        labels, scores = self.sentences.search(query, k, allowed=ids)
        return (labels if self._sentence_lookup is None else self._sentence_lookup.rows(labels)), scores


def load(index_dir: IndexDir, dimension: int | None = None, approximate: bool | None = None) -> LoadedIndex | None:
    """Load the current version (None if there is none).

    A library up to ``index.approximate.approximate_above()`` passages is searched exactly: its
    segments are merged into in-memory vector indexes (a copy, cheap next to embedding, done once
    per version). A larger one is searched approximately: the version's approximate indexes are
    mapped read-only from their files (built first if missing), and no segment's vectors are read.

    :param approximate: None decides by size; True or False forces approximate or exact search.
    """
    from index import approximate as ann  # it builds on this module

    stamp = index_dir.stamp()
    manifest = index_dir.read_manifest()
    if manifest is None:
        return None
    if dimension is not None and manifest.dimension != dimension:
        raise IndexUnusable(
            f"{index_dir.path}: index vectors have dimension {manifest.dimension}, the model gives {dimension}; "
            f"rebuild it with `python -m qa index --rebuild`"
        )
    opened = ann.open_version(index_dir, manifest, approximate)
    exact = opened is None
    if exact:
        vectors, contexts, sentences = (VectorIndex(manifest.dimension) for _ in range(3))
    passages: dict[int, Passage] = {}
    owners, labels, segments, rows = [], [], [], {}
    row = 0
    for entry in manifest.reports:
        keys, counts = [], []
        for p in index_dir.read_passages(entry):
            key = passage_key(entry.segment, p)
            keys.append(key)
            counts.append(len(p.sentences))
            passages[key] = p
            rows[key] = (row, row + len(p.sentences))
            row += len(p.sentences)
        keys, count = np.array(keys, dtype=np.int64), sum(counts)
        owners.append(np.repeat(keys, counts))
        segments.append((entry.segment, count))
        if exact:
            vectors.merge(index_dir.read_vectors(entry))
            contexts.add(keys, index_dir.read_context_vectors(entry))
            matrix = index_dir.read_sentence_vectors(entry)
            if len(matrix) != count:
                raise IndexUnusable(f"{index_dir.path}: sentence vectors do not match passages; rebuild with `python -m qa index --rebuild`")
            sentences.add(np.arange(row - count, row, dtype=np.int64), matrix)  # ids = rows
        else:
            labels.append(ann.sentence_labels(entry.segment, count))
    if exact:
        search, lookup, ids, matrix = {"kind": "flat"}, None, np.arange(row, dtype=np.int64), sentences.matrix()
    else:
        search, found = opened
        vectors, contexts, sentences = found["passages"], found["contexts"], found["sentences"]
        if (len(vectors), len(sentences)) != (len(passages), row):
            raise IndexUnusable(f"{index_dir.path}: approximate indexes do not match the passages; rebuild with `python -m qa index --rebuild`")
        lookup, matrix = ann.SentenceIds.of(segments), None
        ids = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    return LoadedIndex(
        manifest, vectors, passages, {e.report.id: e for e in manifest.reports}, stamp, index_dir,
        sentences, matrix, owner, rows, contexts, ids, search, lookup,
    )
