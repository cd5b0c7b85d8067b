"""Start-up: the page is served at once; the library's sync and the model, the index and its
BM25 load behind it (:class:`Startup`), and a line above the chat says so (:func:`status_html`).
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

from web.page.markup import esc, one_line

STARTED = time.monotonic()  # the process's start, near enough (app.py imports this first): "ready in N s"
LOADING = "Loading the model and the index…"

log = logging.getLogger("reportqa.app")


class StartupProblem(RuntimeError):
    """The app cannot answer yet; ``str()`` is one line for the user."""


class StillLoading(StartupProblem):
    pass


class StartupFailed(StartupProblem):
    pass


class Startup:
    """What the app needs before it answers — the library synced, the model, the index and its
    BM25 loaded — done in a background thread while the page is already served.

    A question asked meanwhile waits for it (:meth:`waiting`, :meth:`wait`). A failure is one
    line (``error``), printed in the terminal and shown in the chat; the next question starts
    loading again, so a problem fixed meanwhile (a model installed, an index rebuilt) needs no
    restart.

    :param library: the folder of reports (its files are served before anything is loaded).
    :param load: makes the asker (qa.ask.Asker) and loads what it needs; called in the thread
        with a function taking a line that says what is being done. It raises
        :class:`StartupFailed` for a problem the user can fix; anything else is a bug.
    """

    def __init__(self, library: Path, load):
        self.library = Path(library)
        self._load = load
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_ready = []
        self.asker = None
        self.error: str | None = None
        self.stage = LOADING

    @classmethod
    def loaded(cls, asker) -> Startup:
        """A start-up already done: ``asker`` answers at once."""
        startup = cls(asker.library, lambda stage: asker)
        startup.asker = asker
        startup._done.set()
        return startup

    @property
    def done(self) -> bool:
        """Loaded, or failed."""
        return self._done.is_set()

    def on_ready(self, callback) -> None:
        """Call ``callback()`` once loaded (in the loading thread)."""
        self._on_ready.append(callback)

    def start(self) -> None:
        """Start loading in a background thread, unless loaded or loading (again after a failure)."""
        with self._lock:
            if self.asker is not None or (self._thread is not None and self._thread.is_alive()):
                return
            self.error, self.stage = None, LOADING
            self._done.clear()
            self._thread = threading.Thread(target=self._run, name="reportqa-startup", daemon=True)
            self._thread.start()

    def _set_stage(self, line: str) -> None:
        self.stage = line

    def _run(self) -> None:
        try:
            asker = self._load(self._set_stage)
        except StartupFailed as exc:
            self.error = str(exc)
        except Exception as exc:  # a bug: one line for the user, the traceback in the log
            log.exception("loading the model and the index failed")
            self.error = one_line(exc)
        else:
            self.asker = asker
            for callback in self._on_ready:
                try:
                    callback()
                except Exception:
                    log.exception("after loading: %r failed", callback)
        finally:
            self._done.set()
        if self.error is not None:
            print(f"error: {self.error}", file=sys.stderr, flush=True)
        else:
            reports = self.asker.reports()
            print(f"Report QA: ready in {time.monotonic() - STARTED:.1f} s ({len(reports)} report"
                  f"{'s' if len(reports) != 1 else ''}, {sum(r.passages for r in reports)} passages)", flush=True)

    def waiting(self, timeout: float, retry: bool = True):
        """While loading, for up to ``timeout`` seconds: what is being done, each time it changes.

        :param retry: after a failure, start loading again first.
        """
        if retry and self.error is not None:
            self.start()
        deadline = time.monotonic() + timeout
        shown = None
        while not self._done.is_set() and time.monotonic() < deadline:
            if self.stage != shown:
                shown = self.stage
                yield shown
            self._done.wait(0.5)

    def result(self):
        """The asker, if loaded.

        :raises StartupFailed: loading failed (the message says what and what to do).
        :raises StillLoading: not loaded yet.
        """
        if self.asker is not None:
            return self.asker
        if self.error is not None:
            raise StartupFailed(f"Report QA could not start: {self.error}")
        raise StillLoading("Still loading the model and the index — try again in a few seconds.")

    def wait(self, timeout: float):
        """The asker, waiting up to ``timeout`` seconds for it (starting again after a failure);
        raises as :meth:`result` does."""
        for _ in self.waiting(timeout):
            pass
        return self.result()


def status_html(startup: Startup) -> str:
    """The line above the chat until the app is ready: what is loading, or why it cannot start."""
    try:
        startup.result()
    except StillLoading:
        return (f'<p class="rq-loading" role="status">{esc(startup.stage)} '
                "A question asked now is answered as soon as it is ready.</p>")
    except StartupFailed as exc:
        return f'<p class="rq-note rq-error" role="alert">{esc(exc)}</p>'
    return ""


def load_asker(library: Path, index: Path, model: str | None, stage):
    """The asker (qa.ask.Asker) of a library, with all a first question would otherwise wait
    for done: the library synced, the model, the index and its BM25 loaded, the reports' titles
    embedded. Runs in the start-up thread.

    :param stage: called with a line saying what is being done.
    :raises StartupFailed: the model, the index, the library or a file cannot be used.
    """
    from index.embed import ModelError
    from index.errors import ReportError
    from index.store import IndexUnusable
    from qa.ask import Asker

    def embedding(done: int, total: int) -> None:
        stage(f"Indexing new reports: {done:,} of {total:,} passages and sentences embedded…")

    try:
        asker = Asker(library, index, model)
        asker.sync(progress=False, on_progress=embedding)
        stage(LOADING)
        loaded = asker.loaded()
        loaded.lexical
        asker.report_matrix(loaded)  # the model's first call (slower than the next) and the reports' matrix are paid here
    except (IndexUnusable, ModelError, ReportError, OSError) as exc:
        raise StartupFailed(one_line(exc)) from None
    return asker
