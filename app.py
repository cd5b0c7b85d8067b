"""The web chat: ask the reports a question, then check every citation in the report itself.

``python app.py [--host H] [--port P] [--library DIR] [--index DIR] [--model M] [--max-upload-mb N]``
``[--auth USER:PASSWORD] [--auth-file FILE] [--admin USER] [--workers N] [--max-waiting N]`` (see the README)

UI only: :class:`qa.ask.Asker` answers; this module is the page's outline (:func:`build_app`: what
is where, and which handler each event calls), its launch and its command line. The page's parts
live in ``web/page/``: the views (pure functions to HTML), the handlers (``events.py``), the
browser side (``viewer.js``, ``transcript.js``, ``page.css``). Start-up is ``web/startup.py``,
the file routes' guard ``web/files.py``.

Clicking a citation ``[n]`` (in an answer, in the sources panel, or previous/next in the viewer)
opens the source viewer: the report's full text scrolled to the cited paragraph, the answer's
sentences highlighted, page markers for PDFs and a link to the original file; or, for a PDF, the
page view (the page drawn, the passage and the answer boxed on it). The click reaches
Python as the viewer's custom ``cite`` event (``gr.HTML`` ``js_on_load``, see ``viewer.js``), which
renders the report server-side from :meth:`qa.ask.Asker.document`.

Programs get the same answer as JSON from the ``/ask`` endpoint::

    Client("http://127.0.0.1:7860/").predict("How are missing children handled?", api_name="/ask")
    Client(url).predict("question", ["report-id-or-file-name"], api_name="/ask")  # only these reports

A bad question (empty, too long) makes ``/ask`` raise a one-line error (``AppError`` in
``gradio_client``) rather than return an answer, so a caller can tell "bad request" from
"the reports do not cover this" (``abstained``).

Safe by default: listens on 127.0.0.1, never makes a share link, and its file routes serve only
files inside the library and its own private upload folder (:class:`web.files.FileGuard`).
"""
import argparse
import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from web.files import FileGuard, index_own_paths, renders_folder
from web.gate import Gate
from web.page import asset
from web.page.chat import NO_SOURCES, transcript_html
from web.page.markup import one_line
from web.page.reports import LOADING_REPORTS, reports_html
from web.page.viewer import VIEWER_CLOSED
from web.startup import Startup, load_asker, status_html

# Before gradio (and the model) are imported: the app must start and run with no internet.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"

EXAMPLES = [
    "What did the inspectors say about domestic abuse?",
    "How are missing children handled?",
    "What needs to improve?",
]
MAX_UPLOAD_MB = 50
ASK_WORKERS = 2  # questions answered at once: CPU-bound, 2 cores (bench/load.py measures 1 against 2)
ASK_WAITING = 32  # questions waiting for a worker before the next is told "busy" (web/gate.py)
ASK_DEADLINE_S = 30.0  # the longest a question is waited for once let in (web/gate.py says what it stops)
QUEUE_MAX = 64  # Gradio's own queue (the viewer, uploads, removals): past it, Gradio's "busy" error
REPORT_TYPES = [".pdf", ".txt", ".md"]


def build_app(asker, max_upload_mb: int = MAX_UPLOAD_MB, users=None, gate: Gate | None = None) -> "gr.Blocks":
    """The chat page and the ``/ask`` API endpoint.

    :param asker: a :class:`Startup` (the page is served while it loads; questions wait for
        it), or an asker (qa.ask.Asker) that answers at once.
    :param users: who may log in (web.users.Users), or None (no login). When it names admins,
        only they see the upload and remove controls, and the handlers refuse anyone else.
    :param gate: how many questions are answered at once and waited for (web.gate.Gate).
    """
    import gradio as gr  # here, not at the top: `python app.py --help` stays instant

    from web.page.events import NOT_ADMIN, PageEvents

    startup = asker if isinstance(asker, Startup) else Startup.loaded(asker)
    on = PageEvents(startup, gate or Gate(ASK_WORKERS, ASK_WAITING, ASK_DEADLINE_S), users, max_upload_mb)
    with gr.Blocks(title="Report QA") as demo:
        turns = gr.State([])
        gr.Markdown("# Report QA", elem_id="rq-title")
        status = gr.HTML(status_html(startup), elem_id="rq-status", visible=not startup.done, padding=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        transcript = gr.HTML(transcript_html([]), elem_id="rq-transcript", js_on_load=asset("transcript.js"),
                                             max_height="60vh", padding=False)
                        with gr.Column(elem_id="rq-examples") as examples:
                            gr.Markdown("**Example questions:**", elem_classes="rq-examples-label")
                            example_buttons = [gr.Button(q, size="sm", elem_classes="rq-example") for q in EXAMPLES]
                        with gr.Row(elem_id="rq-ask-row"):
                            question = gr.Textbox(
                                show_label=False, label="Question", elem_id="rq-question", scale=5, min_width=160,
                                placeholder="Type a question about the reports and press Enter", autofocus=True,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="rq-ask")
                        with gr.Row(elem_id="rq-chat-tools"):
                            only = gr.Dropdown(
                                choices=on.report_choices(startup.asker), value=[], multiselect=True, scale=4, min_width=200,
                                label="Search only these reports", info="Leave empty to search them all.",
                                elem_id="rq-filter",
                            )
                            clear_button = gr.Button("Clear chat", variant="secondary", scale=1, min_width=100,
                                                     elem_id="rq-clear")
                    with gr.Column(scale=2, min_width=300):
                        sources = gr.HTML(NO_SOURCES, elem_id="rq-sources", js_on_load=None, padding=False)
            with gr.Tab("Reports", id="reports"):
                reports_view = gr.HTML(
                    reports_html(startup.asker.reports(), on.download_url) if startup.asker else LOADING_REPORTS,
                    elem_id="rq-reports", js_on_load=None, padding=False,
                )
                # With admins named, hidden until the page load says this user is one.
                with gr.Row(equal_height=False, visible=not on.admins_only, elem_id="rq-library-tools") as tools_row:
                    new_files = gr.File(
                        label=f"Add reports: PDF, TXT or MD, up to {max_upload_mb} MB each",
                        file_count="multiple", file_types=REPORT_TYPES, type="filepath", elem_id="rq-upload",
                        scale=3, min_width=280,
                    )
                    with gr.Column(scale=2, min_width=280):
                        chosen = gr.Dropdown(choices=on.report_choices(startup.asker), value=[], multiselect=True,
                                             label="Reports to remove", elem_id="rq-remove-choice")
                        remove_button = gr.Button("Remove from library", variant="stop", elem_id="rq-remove")
                tools_note = gr.Markdown(NOT_ADMIN.format(verb="add or remove"), visible=False, elem_id="rq-admins-only")
                library_status = gr.HTML(elem_id="rq-library-status", padding=False)
        viewer = gr.HTML(VIEWER_CLOSED, elem_id="rq-viewer", js_on_load=asset("viewer.js"), padding=False)

        # Every UI event stays off the API (api_visibility="private"); programs use /ask.
        library_outputs = [library_status, reports_view, only, chosen]
        # Not limited to one at a time: each visit's event mostly waits for the loading.
        demo.load(on.page_load, None, [status, *library_outputs[1:], tools_row, tools_note], api_visibility="private",
                  show_progress="hidden", concurrency_limit=None)
        chat_outputs = [question, transcript, turns, sources, examples]
        # Questions are not limited by Gradio's queue but by the gate (web/gate.py), which can
        # say "busy" in the chat and in /ask's error; Gradio's queue would refuse with its own words.
        for trigger in (question.submit, send.click):
            trigger(on.respond, [question, turns, only], chat_outputs, api_visibility="private", show_progress="hidden",
                    concurrency_limit=None)
        for button in example_buttons:
            button.click(on.respond, [button, turns, only], chat_outputs, api_visibility="private", show_progress="hidden",
                         concurrency_limit=None)
        clear_button.click(on.clear, None, [*chat_outputs, viewer], api_visibility="private", show_progress="hidden")
        viewer.cite(on.open_source, [turns], [viewer, sources], api_visibility="private", show_progress="hidden")
        # One change to the library at a time (each is a sync, and syncs take a lock).
        new_files.upload(on.add_reports, [new_files, only], [*library_outputs, new_files], api_visibility="private",
                         show_progress_on=[reports_view], concurrency_id="library", concurrency_limit=1)
        remove_button.click(on.remove_reports, [chosen, only], library_outputs, api_visibility="private",
                            show_progress_on=[reports_view], concurrency_id="library", concurrency_limit=1)
        gr.api(on.ask, api_name="ask", concurrency_limit=None)
    # The rest (the viewer: 2 at once; uploads and removals: one sync at a time) waits in
    # Gradio's queue, which holds at most QUEUE_MAX events.
    demo.queue(max_size=QUEUE_MAX, default_concurrency_limit=ASK_WORKERS)

    def settled():
        """Once loaded, the page is served as it now is: a later visitor never sees the loading
        line, not even until their page-load event hides it."""
        status.value, status.visible = "", False
        reports_view.value = reports_html(startup.asker.reports(), on.download_url)
        only.choices = chosen.choices = on.report_choices(startup.asker)
        demo.config = demo.get_config_file()

    startup.on_ready(settled)
    return demo


def gradio_auth(users):
    """Gradio's ``auth`` for ``users`` (web.users.Users): a password is checked (scrypt, ~0.1 s
    and 16 MiB) on a thread, so a login never stalls the server's event loop, and one at a time,
    so a flood of login attempts takes one core at most and questions keep the other."""
    import asyncio

    one_at_a_time = asyncio.Semaphore(1)

    async def check(name: str, password: str) -> bool:
        async with one_at_a_time:
            return await asyncio.to_thread(users.check, name, password)

    return check


def launch_options(args, library: Path, index: Path, uploads: Path, users=None) -> dict:
    """How the server is launched: loopback unless ``--host``, no share link, file routes limited
    to the library, the upload folder and the pages drawn for the page view, uploads capped at
    ``--max-upload-mb``; with ``users`` (web.users.Users), the page, its config, the file routes
    and the API need a login."""
    import gradio as gr
    from starlette.middleware import Middleware

    # System fonts: Gradio's bundled Source Sans Pro draws a small-capital "A" in this build.
    theme = gr.themes.Default(font=["system-ui", "ui-sans-serif", "Segoe UI", "Roboto", "Arial", "sans-serif"],
                              font_mono=["ui-monospace", "Consolas", "DejaVu Sans Mono", "monospace"])
    return dict(
        server_name=args.host,
        server_port=args.port,
        share=False,
        theme=theme,
        css=asset("page.css"),
        footer_links=["api"],  # the API docs (only /ask), no "built with"/settings links
        quiet=True,
        prevent_thread_lock=True,
        allowed_paths=[str(library.resolve()), str(renders_folder(index))],
        blocked_paths=index_own_paths(index),
        max_file_size=args.max_upload_mb * 1024 * 1024,
        app_kwargs={"middleware": [Middleware(FileGuard, folders=[library, uploads, renders_folder(index)],
                                              blocked=[index])]},
        auth=gradio_auth(users) if users else None,
        auth_message="Report QA: log in with the user name and password you were given." if users else None,
        # Each question waiting for a worker holds a thread (web/gate.py): room for all of them
        # beside page loads and the viewer (Gradio's default is 40).
        max_threads=max(40, args.workers + args.max_waiting + 16),
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description="Serve the Report QA web chat and its /ask API.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--library", type=Path, default=Path(os.environ.get("REPORTQA_LIBRARY") or "seeds"),
                   help="folder of reports (default: $REPORTQA_LIBRARY or seeds/)")
    p.add_argument("--index", type=Path, default=Path(os.environ.get("REPORTQA_INDEX") or ".index"),
                   help="index directory (default: $REPORTQA_INDEX or .index/)")
    p.add_argument("--model", default=os.environ.get("REPORTQA_MODEL") or None,
                   help="sentence-transformers model (default: $REPORTQA_MODEL or all-MiniLM-L6-v2)")
    p.add_argument("--max-upload-mb", type=int, default=MAX_UPLOAD_MB,
                   help=f"largest report file accepted for upload, in MB (default {MAX_UPLOAD_MB})")
    login = p.add_argument_group("login (off unless users are given; see web/users.py)")
    # No type= on --auth: argparse would echo a value it cannot convert, password and all.
    login.add_argument("--auth", action="append", default=[], metavar="USER:PASSWORD",
                       help="a user who may log in (repeatable; also $REPORTQA_AUTH, comma- or newline-separated); "
                            "visible to other local users in the process list: prefer --auth-file")
    login.add_argument("--auth-file", type=Path, metavar="FILE", help="a file of users with hashed passwords")
    login.add_argument("--admin", action="append", default=[], metavar="USER",
                       help="only admins may add and remove reports (repeatable; or `:admin` in the users file)")
    login.add_argument("--add-user", nargs=2, metavar=("FILE", "NAME"),
                       help="add NAME to the users file FILE, or change their password (read without echo; "
                            "with --admin NAME, as an admin), then exit")
    load = p.add_argument_group("load")
    load.add_argument("--workers", type=int, default=ASK_WORKERS,
                      help=f"questions answered at once (default {ASK_WORKERS}: the work is CPU-bound, about one a core)")
    load.add_argument("--max-waiting", type=int, default=ASK_WAITING,
                      help=f"questions that may wait for a worker; the next is told the server is busy (default {ASK_WAITING})")
    return p


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_new_password(name: str) -> str:
    """A password for ``name``: typed twice without echo on a terminal, else stdin's first line."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def add_user_command(args) -> int:
    """``--add-user FILE NAME``: add a user to a users file or change their password."""
    from web.users import UsersError, add_user

    path, name = Path(args.add_user[0]), args.add_user[1]
    try:
        new = add_user(path, name, read_new_password(name), admin=name in args.admin)
    except (UsersError, ValueError, OSError) as exc:
        print(f"error: {path}: {name!r} not saved: {one_line(exc)}" if not isinstance(exc, UsersError)
              else f"error: {exc}", file=sys.stderr)
        return 2
    role = "admin" if name in args.admin else "user"
    print(f"{path}: {'added' if new else 'changed the password of'} {role} {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.add_user:
        return add_user_command(args)
    if not 0 < args.port < 65536:
        print(f"error: --port must be between 1 and 65535. Currently, it is {args.port}", file=sys.stderr)
        return 2
    if args.max_upload_mb <= 0:
        print(f"error: --max-upload-mb must be greater than 0. Currently, it is {args.max_upload_mb}", file=sys.stderr)
        return 2
    if args.workers < 1 or args.max_waiting < 0:
        print(f"error: --workers must be at least 1 and --max-waiting 0 or more. Currently, they are {args.workers} "
              f"and {args.max_waiting}", file=sys.stderr)
        return 2
    from web.users import UsersError, load_users

    try:
        users = load_users(args.auth, os.environ.get("REPORTQA_AUTH"), args.auth_file, args.admin)
    except UsersError as exc:  # never shows a password (web/users.py)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if users is None and not is_loopback(args.host):
        print(f"warning: --host {args.host} without login: anyone who can reach it can read, add and remove reports; "
              "give users with --auth-file, --auth or REPORTQA_AUTH", file=sys.stderr, flush=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Uploads land in a private folder of this process (not the machine-wide /tmp/gradio), which
    # is the only place besides the library that the file routes serve from; gone at exit.
    uploads = Path(tempfile.mkdtemp(prefix="reportqa-uploads-"))
    atexit.register(shutil.rmtree, uploads, ignore_errors=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    # The page is served first; the library's sync and the model, index and BM25 load in the
    # background, after the launch: both are mostly Python holding the GIL, so loading while
    # gradio imports would only delay the page (and not make the first answer sooner).
    startup = Startup(args.library, lambda stage: load_asker(args.library, args.index, args.model, stage))
    demo = build_app(startup, args.max_upload_mb, users, Gate(args.workers, args.max_waiting, ASK_DEADLINE_S))
    try:
        demo.launch(**launch_options(args, args.library, args.index, uploads, users))
    except OSError as exc:  # the address is not this machine's, or the port is taken
        print(f"error: cannot listen on {args.host}:{args.port}: {one_line(exc)}", file=sys.stderr)
        return 2
    login = ""
    if users:
        login = f"; login required: {len(users)} user{'s' if len(users) != 1 else ''}"
        login += f", admins {', '.join(sorted(users.admins))}" if users.admins else ""
    print(f"Report QA: serving {demo.local_url} (loading the model and the index{login})", flush=True)
    startup.start()
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
