"""What each of the page's events does: a question, a click on a citation, a page visit, an upload,
a removal, and the ``/ask`` API. ``app.py`` lays the page out and wires these to its components.

Imported by ``app.build_app`` only (gradio loads with it, so ``python app.py --help`` stays instant).
Nothing of qa or index is imported at the top: the serving thread would wait for the loading
thread's imports (faiss, torch); the handlers import their errors once loaded.
"""
# No ``from __future__ import annotations``: Gradio reads the handlers' type hints as objects
# (gr.Request, gr.EventData, and /ask's parameters).
import atexit
import contextlib
import logging
import threading
from pathlib import Path

import gradio as gr

from web import memory
from web.files import file_url
from web.gate import Busy, Gate, TooSlow
from web.page.chat import NO_SOURCES, Turn, chat_turn, previous_question, sources_html, transcript_html
from web.page.markup import human_size, one_line
from web.page.reports import notice_html, reports_html, sync_message
from web.page.pageview import ZOOMS, zoom_level
from web.page.viewer import VIEWER_CLOSED, document_html, locate, page_view_html, viewer_message_html
from web.startup import Startup, StartupProblem, status_html

log = logging.getLogger("reportqa.app")

NOT_ADMIN = "Only an admin can {verb} reports: ask one to do it, or to make you one."
CHAT_WAIT_S = 600  # how long a question asked while loading waits (its turn shows the progress)
API_WAIT_S = 120  # how long /ask waits for the loading before it answers "still loading"


def fixable_errors() -> tuple:
    """The errors a user can act on from their one line: a bad report file, an unusable index,
    a file that cannot be read or written (imported when needed: see the module's docstring)."""
    from index.errors import ReportError
    from index.store import IndexUnusable

    return ReportError, IndexUnusable, OSError


def change_failed(exc: Exception, not_done: str, doing: str) -> str:
    """What a failed add or remove says (called in its ``except``): the reason in one line after
    ``not_done`` when the user can act on it, else ``Error:`` and one line (the traceback is logged)."""
    if isinstance(exc, StartupProblem):
        return f"{not_done}: {exc}"
    if isinstance(exc, fixable_errors()):
        return f"{not_done}: {one_line(exc)}"
    log.exception("%s failed", doing)
    return f"Error: {one_line(exc)}"


class PageEvents:
    """The page's event handlers, over what they share.

    :param startup: the loading (or loaded) asker; questions wait for it.
    :param gate: how many questions are answered at once and waited for (web.gate.Gate).
    :param users: who may log in (web.users.Users), or None (no login). When it names admins,
        only they may add and remove reports: the handlers refuse anyone else.
    :param max_upload_mb: the largest report file accepted.
    """

    def __init__(self, startup: Startup, gate: Gate, users=None, max_upload_mb: int = 50):
        self.startup = startup
        self.library = startup.library.resolve()
        self.gate = gate
        self.users = users
        self.max_upload_mb = max_upload_mb
        self.admins_only = bool(users and users.admins)
        self._views = None  # the page view's pages (qa.pages.PageViews), once a PDF is shown as pages
        self._views_lock = threading.Lock()

    # -- who may change the library, and the library's files --

    def may_change_library(self, request) -> bool:
        return self.users is None or self.users.may_change_library(getattr(request, "username", None))

    def library_tools(self, request):
        """The upload and remove controls shown to those who may use them, a note to the rest."""
        if not self.admins_only:
            return gr.skip(), gr.skip()
        allowed = self.may_change_library(request)
        return gr.update(visible=allowed), gr.update(visible=not allowed)

    def library_file(self, report) -> Path | None:
        path = (self.library / report.source).resolve()
        return path if self.library in path.parents and path.is_file() else None

    def download_url(self, report) -> str | None:
        path = self.library_file(report)
        return file_url(path) if path else None

    def download(self, report) -> tuple[str, str] | None:
        path = self.library_file(report)
        if path is None:
            return None
        kind = path.suffix.lstrip(".").upper() or "file"
        return file_url(path), f"Download original ({kind}, {human_size(path.stat().st_size)})"

    @staticmethod
    def report_choices(asker):
        return [(f"{r.title} ({r.id})", r.id) for r in asker.reports()] if asker is not None else []

    def library_views(self, message: str, keep=(), asker=None):
        """Status line, reports table, chat filter and remove list after the library changed
        (the last three left as they are without an ``asker``)."""
        if asker is None:
            return notice_html(message), gr.skip(), gr.skip(), gr.skip()
        choices = self.report_choices(asker)
        ids = {v for _, v in choices}
        return (
            notice_html(message),
            reports_html(asker.reports(), self.download_url),
            gr.update(choices=choices, value=[v for v in keep if v in ids]),
            gr.update(choices=choices, value=[]),
        )

    def page_load(self, request: gr.Request):
        """Each visit: the library controls if this user may use them, the loading line while
        loading (or why it cannot start), then the reports as they are now."""
        startup = self.startup
        tools = self.library_tools(request)
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), *tools
        for _ in startup.waiting(CHAT_WAIT_S, retry=False):
            yield gr.update(value=status_html(startup), visible=True), gr.skip(), gr.skip(), gr.skip(), *tools
        if startup.asker is None:
            yield gr.update(value=status_html(startup), visible=True), gr.skip(), gr.skip(), gr.skip(), *tools
            return
        yield gr.update(value="", visible=False), *self.library_views("", asker=startup.asker)[1:], *tools

    # -- chat --

    def respond(self, message: str, turns: list, only: list):
        turns = list(turns or [])
        asking = bool(message and message.strip())
        if asking:
            yield "", transcript_html(turns + [Turn(message, pending=True)]), turns, gr.skip(), gr.update(visible=False)
        # Asked while loading, a question waits for it, saying so: no need to ask it again.
        for stage in self.startup.waiting(CHAT_WAIT_S):
            if asking:
                waiting = Turn(message, pending=True, status=f"{stage} Your question will be answered as soon as it is ready.")
                yield "", transcript_html(turns + [waiting]), turns, gr.skip(), gr.update(visible=False)
        try:
            turn = self.gate.run(chat_turn, self.startup.result(), message, previous_question(turns), only)
        except (StartupProblem, Busy, TooSlow) as exc:
            turn = Turn(message or "", error=str(exc))
        turns.append(turn)
        # an error is not an answer: the sources of the last answer stay
        sources = sources_html(turn.answer, len(turns) - 1) if turn.answered else gr.skip()
        yield "", transcript_html(turns), turns, sources, gr.update(visible=False)

    def clear(self):
        return "", transcript_html([]), [], NO_SOURCES, gr.update(visible=True), VIEWER_CLOSED

    # -- source viewer --

    def open_source(self, turns: list, evt: gr.EventData):
        """The viewer for the clicked citation (``turn``, ``n``) or report (``report``), in the
        ``view`` asked for ("text", or "page" for a PDF: at ``page`` if given, at ``zoom``)."""
        report_id = getattr(evt, "report", None)
        how = dict(view=getattr(evt, "view", None), page=getattr(evt, "page", None), zoom=getattr(evt, "zoom", 0))
        try:
            asker = self.startup.wait(API_WAIT_S)
        except StartupProblem as exc:
            return viewer_message_html(str(exc)), gr.skip()
        from qa.ask import QuestionError

        try:
            if report_id is not None:
                report, text = asker.document(str(report_id))
                return self.viewer(asker, report, text, **how), gr.skip()
            i, n = int(getattr(evt, "turn", -1)), int(getattr(evt, "n", 0))
            if not (0 <= i < len(turns) and turns[i].answered and 1 <= n <= len(turns[i].answer.citations)):
                return viewer_message_html("That citation is no longer in this chat; ask the question again."), gr.skip()
            answer = turns[i].answer
            citation = answer.citations[n - 1]
            report, text = asker.document(citation.report)
            viewer = self.viewer(asker, report, text, citation, i, len(answer.citations), **how)
            return viewer, sources_html(answer, i, current=n)
        except QuestionError:
            return viewer_message_html(
                f"The report {report_id or citation.report!r} is no longer in the library; it may have been removed."
            ), gr.skip()
        except Exception as exc:
            log.exception("opening a source failed")
            return viewer_message_html(f"Error: {one_line(exc)}"), gr.skip()

    def viewer(self, asker, report, text: str, citation=None, turn: int | None = None, total: int = 0,
               view=None, page=None, zoom=0) -> str:
        """The viewer's HTML: the page view when asked for and the report is a PDF, else the text
        view (with the page view's one-line error above it when it could not be shown)."""
        from index.errors import ReportError

        download, note = self.download(report), None
        if view == "page" and report.page_starts:
            page = page if isinstance(page, int) and not isinstance(page, bool) else None
            try:
                images = self.page_images(asker, report, text, citation, page, zoom_level(zoom))
            except ReportError as exc:
                note = f"No page view: {one_line(exc)}"
            else:
                if images:
                    return page_view_html(report, images, citation, turn, total, download, zoom_level(zoom), page)
        return document_html(report, text, citation, turn, total, download, note)

    def page_images(self, asker, report, text: str, citation, page: int | None, zoom: int):
        """The pages to show (qa.pages.PageImage): the citation's own (both, over a page break),
        or ``page`` with the passage boxed where it falls on it; None when the cited words are no
        longer in the report (the text view says so)."""
        scale = ZOOMS[zoom][1]
        views = self.page_views(asker)
        if citation is None:
            return [views.page(report.id, page or 1, scale)]
        cited = locate(citation, text)
        if cited is None:
            return None
        if page is None:
            return views.passage(report.id, *cited, citation.highlights, scale)
        return [views.page(report.id, page, scale, *cited, spans=citation.highlights)]

    def page_views(self, asker):
        """The page views of the asker's index (qa.pages.PageViews), made once; its renderer
        child stops at exit."""
        with self._views_lock:
            if self._views is None:
                from qa.pages import PageViews

                self._views = PageViews(asker)
                atexit.register(self._views.close)
            return self._views

    # -- library --

    def add_reports(self, files, only: list, request: gr.Request, progress=gr.Progress()):
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        asker = None
        max_mb = self.max_upload_mb
        if not paths:
            return *self.library_views("Choose one or more PDF, TXT or MD files first.", only), None
        try:
            if not self.may_change_library(request):  # not the hidden controls alone: a request can be forged
                return *self.library_views(NOT_ADMIN.format(verb="add"), only), None
            too_big = [p.name for p in paths if p.stat().st_size > max_mb * 1024 * 1024]
            if too_big:
                return *self.library_views(f"Not added: {', '.join(too_big)} is over {max_mb} MB.", only), None
            asker = self.startup.wait(API_WAIT_S)
            progress(None, desc="Reading the reports")
            added, result = asker.add(
                paths, [p.name for p in paths], progress=False, out=lambda line: None,
                on_progress=lambda done, total: progress((done, total), desc="Embedding passages and sentences", unit="texts"),
            )
            # An upload that could not be indexed (a scan, a broken PDF) is not kept: it would sit
            # in the library unseen, failing again at every sync, with no way to remove it here.
            indexed = {Path(r.source).name for r in asker.reports()}
            unread = [p for p in added if p.name not in indexed]
            if unread:
                asker.remove([p.name for p in unread], progress=False, out=lambda line: None)
            message = sync_message("Added", [p for p in added if p not in unread], result, failed="Not added")
        except Exception as exc:
            message = change_failed(exc, "Not added", f"adding {paths}")
        finally:
            for p in paths:  # the library keeps its own copy; the upload goes
                p.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    p.parent.rmdir()  # Gradio's per-upload folder, when empty
            memory.give_back()  # what the sync freed (web/memory.py)
        return *self.library_views(message, only, asker), None

    def remove_reports(self, report_ids, only: list, request: gr.Request):
        if not self.may_change_library(request):
            return self.library_views(NOT_ADMIN.format(verb="remove"), only)
        if not report_ids:
            return self.library_views("Choose the reports to remove first.", only)
        asker = None
        try:
            asker = self.startup.wait(API_WAIT_S)
            removed, result = asker.remove(list(report_ids), progress=False, out=lambda line: None)
            message = sync_message("Removed", removed, result)
            memory.give_back()
        except Exception as exc:
            message = change_failed(exc, "Not removed", f"removing {report_ids}")
        return self.library_views(message, only, asker)

    # -- API --

    def ask(self, question: str, reports: list[str] | None = None) -> dict:
        """Answer a question from the indexed reports.

        ``reports``: search only these reports (ids or file names); leave out to search all.
        Returns the answer object (question, answer with [n] markers, abstained,
        low_confidence, citations best first). A bad question or an unknown report raises a
        one-line error; so does a question asked while the app is still loading (it waits for
        the loading first, up to two minutes) or could not start.
        """
        try:
            asker = self.startup.wait(API_WAIT_S)
        except StartupProblem as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        from qa.ask import QuestionError

        try:
            if isinstance(reports, str):  # one report named without a list
                reports = [reports]
            return self.gate.run(asker.ask, question, reports=list(reports) if reports else None).to_dict()
        except (QuestionError, Busy, TooSlow) as exc:
            raise gr.Error(one_line(exc), print_exception=False) from None
        except Exception as exc:
            log.exception("asking %r failed", question)
            raise gr.Error(f"Error: {one_line(exc)}", print_exception=False) from None
