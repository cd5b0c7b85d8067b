"""Asking questions of a library of reports: the one entry point the CLI and the app use."""
from __future__ import annotations

import os
import threading
import unicodedata
from pathlib import Path

import numpy as np

from index.agreement import check_encoder
from index.chunk import CHUNKER_VERSION
from index.store import IndexDir, IndexUnusable, LoadedIndex, check_compatible, load
from index.sync import SyncResult, sync
from qa import answer as assembly
from qa import followup
from qa.retrieve import RETRIEVERS, Hit, retrieve, sentence_similarities, start_lexical
from qa.types import Answer

MAX_QUESTION_CHARS = 1000


class QuestionError(ValueError):
    """A question that cannot be asked; ``str()`` is a one-line message for the user."""


def default_library() -> Path:
    return Path(os.environ.get("REPORTQA_LIBRARY") or "seeds")


def default_index() -> Path:
    return Path(os.environ.get("REPORTQA_INDEX") or ".index")


def _searchable(char: str) -> str:
    kind = unicodedata.category(char)
    return " " if kind == "Cc" else "" if kind in ("Cf", "Cs") else char


def clean_question(text: str) -> str:
    """A question as it is searched: whitespace runs made one space; control characters (NUL,
    escape sequences) spaces; invisible format characters (zero-width, bidi overrides) and lone
    surrogates (not text: the tokenizer refuses them) dropped."""
    return " ".join("".join(map(_searchable, text)).split())


def check_question(question: str) -> str:
    """The question cleaned (:func:`clean_question`) and checked.

    :raises QuestionError: not text, nothing is left, or more than ``MAX_QUESTION_CHARS`` characters.
    """
    empty = QuestionError("Empty question: type a question about the reports.")
    if question is None:
        raise empty
    if not isinstance(question, str):
        raise QuestionError(f"Question must be text, not {type(question).__name__}: type a question about the reports.")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:  # before the per-character pass below: it is bounded
        raise QuestionError(
            f"Question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}: shorten it."
        )
    question = clean_question(question)
    if not question:
        raise empty
    return question


class Asker:
    """Answers questions from the index of a library, reloading it when a sync changes it.

    :param library: the folder of reports (default ``REPORTQA_LIBRARY`` or ``seeds/``).
    :param index: the index directory (default ``REPORTQA_INDEX`` or ``.index/``).
    :param model: the embedding model (see :func:`index.embed.resolve_model`).
    :param embedder: an already loaded embedder (tests share one); loaded lazily otherwise.
    :param encoder: ``torch`` or ``onnx-int8`` (see :func:`index.embed.resolve_encoder`); an index
        built by the other is used only if the two agree on its vectors (index.agreement).
    :param retriever: ``hybrid`` (dense + BM25; default: it measures best on MRR on every gold set), ``dense`` or ``bm25``.
    """

    def __init__(
        self, library: Path | None = None, index: Path | None = None, model: str | None = None, embedder=None,
        retriever: str = "hybrid", encoder: str | None = None,
    ):
        self.library = Path(library) if library else default_library()
        self.index_dir = IndexDir(Path(index) if index else default_index())
        if retriever not in RETRIEVERS:
            raise ValueError(f"retriever must be one of {', '.join(RETRIEVERS)}. Currently, retriever is {retriever!r}")
        self.model = model
        self.encoder = encoder
        self.retriever = retriever
        self._embedder = embedder
        self._loaded: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._report_vectors: dict[str, np.ndarray] = {}  # "title. kind" -> its vector
        # The loaded version's report ids and their vectors as one matrix: a question's
        # similarity to every report is then one product, not a Python loop per report.
        self._report_matrix: tuple[LoadedIndex, list[str], np.ndarray] | None = None

    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                from index.embed import Embedder, resolve_model

                self._embedder = Embedder(resolve_model(self.model), self.encoder)
            return self._embedder

    def sync(self, **options) -> SyncResult:
        """Bring the index up to date with the library (see :func:`index.sync.sync`)."""
        # A loaded model is passed as is (its spec is known); otherwise it is made only if needed.
        embedder = self._embedder if self._embedder is not None else (lambda: self.embedder)
        return sync(self.library, self.index_dir.path, embedder=embedder, model=self.model, encoder=self.encoder, **options)

    def add(self, files: list[Path], names: list[str] | None = None, **options) -> tuple[list[Path], SyncResult]:
        """Copy report files into the library and sync; raises ReportError for a bad file
        (before anything is copied)."""
        from index.library import add_files

        added = add_files(self.library, [Path(f) for f in files], names)
        return added, self.sync(**options)

    def remove(self, reports: list[str], **options) -> tuple[list[Path], SyncResult]:
        """Delete reports (by id or file name) from the library and sync."""
        from index.library import remove_reports

        removed = remove_reports(self.library, reports)
        return removed, self.sync(**options)

    def document(self, report_id: str) -> tuple:
        """A report's metadata (index.passage.Report) and the text its citations' offsets index."""
        index = self.loaded()
        if report_id not in index.entries:
            raise QuestionError(f"No report {report_id!r} in the index.")
        return index.entries[report_id].report, index.text(report_id)

    def reports(self) -> list:
        """The indexed reports (index.passage.Report), in library order."""
        manifest = self.index_dir.read_manifest()
        return [e.report for e in manifest.reports] if manifest else []

    def loaded(self) -> LoadedIndex:
        """The current version of the index, reloaded if a sync has committed a new one."""
        stamp = self.index_dir.stamp()
        if self._loaded is None or self._loaded.stamp != stamp:
            if stamp == 0:
                self.sync(progress=False)
            embedder = self.embedder
            for attempt in range(3):
                try:
                    loaded = load(self.index_dir, embedder.dimension)
                    break
                except FileNotFoundError:  # a sync switched versions twice while we read; read again
                    if attempt == 2:
                        raise
            if loaded is None:
                raise IndexUnusable(f"{self.index_dir.path}: no index; build it with `python -m qa index`")
            check_compatible(loaded.manifest, embedder.spec.name, embedder.spec.sha256, CHUNKER_VERSION, self.index_dir.path)
            check_encoder(self.index_dir, loaded.manifest, embedder)
            self._loaded = loaded
        return self._loaded

    def report_ids(self, names: list[str]) -> set[str]:
        """Report ids for names given as ids or file names; unknown names are refused."""
        entries = self.loaded().entries
        by_file = {}
        for rid, e in entries.items():
            by_file[e.report.source] = rid
            by_file[Path(e.report.source).name] = rid
        ids = set()
        for name in names:
            rid = name if name in entries else by_file.get(name)
            if rid is None:
                raise QuestionError(f"No report {name!r} in the index; list them with `python -m qa reports`.")
            ids.add(rid)
        return ids

    def retrieve(
        self, question: str, k: int = 5, reports: list[str] | None = None, retriever: str | None = None
    ) -> tuple[list[Hit], np.ndarray]:
        """The ``k`` best passages for a question, and the question's vector."""
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}")
        index = self.loaded()
        only = self.report_ids(reports) if reports else None
        retriever = retriever or self.retriever
        # BM25 needs no vector: it searches on another core while the model encodes the question.
        lexical = start_lexical(index, question, k, only) if retriever != "dense" else None
        vector = self.embedder.encode_question(question)
        ids, matrix = self.report_matrix(index)
        prior = dict(zip(ids, (matrix @ vector).tolist()))
        return retrieve(index, question, vector, k, retriever, only, prior, lexical=lexical), vector

    def report_vectors(self, index: LoadedIndex) -> dict[str, np.ndarray]:
        """Each report's vector: its title and kind embedded (cached by that text, so a new
        version of the index embeds only new or renamed reports)."""
        texts = {rid: f"{e.report.title}. {e.report.kind or ''}".strip() for rid, e in index.entries.items()}
        new = sorted({t for t in texts.values() if t not in self._report_vectors})
        if new:
            self._report_vectors.update(zip(new, self.embedder.encode(new)))
        return {rid: self._report_vectors[t] for rid, t in texts.items()}

    def report_matrix(self, index: LoadedIndex) -> tuple[list[str], np.ndarray]:
        """:meth:`report_vectors` as report ids and one matrix (a row each), made once per
        loaded version of the index."""
        cached = self._report_matrix
        if cached is None or cached[0] is not index:
            vectors = self.report_vectors(index)
            ids = list(vectors)
            matrix = np.stack([vectors[rid] for rid in ids]) if ids else np.zeros((0, self.embedder.dimension), np.float32)
            cached = self._report_matrix = (index, ids, matrix)
        return cached[1], cached[2]

    def ask(
        self, question: str, top_k: int = 5, reports: list[str] | None = None, retriever: str | None = None,
        previous: str | None = None,
    ) -> Answer:
        """Answer a question from the reports, with citations best first.

        :param top_k: how many passages to cite.
        :param reports: only search these reports (ids or file names).
        :param retriever: ``dense``, ``bm25`` or ``hybrid`` (default: the Asker's).
        :param previous: the previous question in a chat; a short follow-up ("and what about
            domestic abuse?", "what did the 2019 report say?") is searched with it in mind.
        """
        question = check_question(question)
        # the previous question as it was typed (the chat keeps it so): cleaned the same way
        query = followup.retrieval_query(question, clean_question(previous) if isinstance(previous, str) else None)
        if not reports:
            reports = sorted(followup.mentioned_reports(question, [e.report for e in self.loaded().entries.values()])) or None
        index = self.loaded()
        found, vector = self.retrieve(query, top_k * 2, reports, retriever)
        # Only the found passages' reports: a large library has thousands of reports.
        kinds = {h.passage.report: index.entries[h.passage.report].report.kind for h in found}
        merged = assembly.merge_duplicates(found, kinds)[:top_k]
        hits = [lead for lead, _ in merged]
        also_in = {i: others for i, (_, others) in enumerate(merged) if others}
        sentences = assembly.candidate_sentences(hits)
        # The margin is in the reranked score's units: only the hybrid retriever has them.
        disagreeing = (retriever or self.retriever) == "hybrid" and assembly.disagree(hits)
        chosen = []
        if sentences:
            # Sentence vectors were stored at indexing: no model call here beyond the question.
            sims = {i: sentence_similarities(index, hits[i].key, vector) for i in {s.hit for s in sentences}}
            weights = index.lexical.term_weights(query)
            ranks = assembly.passage_ranks(hits)
            scores = [
                assembly.sentence_score(float(sims[s.hit][s.number]), ranks[s.hit],
                                        index.lexical.share(weights, index.lexical.terms(s.text)))
                for s in sentences
            ]
            chosen = assembly.choose_sentences(sentences, scores, both=disagreeing)
        titles = {rid: (index.entries[rid].report.title, str(self.library / index.entries[rid].report.source))
                  for rid in {h.passage.report for h in found}}
        return assembly.assemble(question, hits, chosen, titles, also_in=also_in, disagreeing=disagreeing)
