"""Login, admins and the busy message on a real app.py: raw HTTP (httpx) and gradio_client, with
and without credentials. Writes the table of refused requests to tests/artifacts/login-refusals.md.

One server (``login_server`` in conftest.py): users from all three sources (``--auth``,
``REPORTQA_AUTH``, a users file), ``--admin alice`` plus carol's ``:admin`` in the file, and one
worker with one question waiting, so that a burst of questions meets "busy".
"""
import contextlib
import os
import re
import subprocess
import sys
import threading

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from conftest import LOGIN_PASSWORDS
from helpers_app import ROOT, free_port
from helpers_events import call_event, find_event, login, upload
from web.gate import BUSY

ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORDS = LOGIN_PASSWORDS
QUESTION = "How does the force deal with domestic abuse?"
NOT_ADMIN = "Only an admin can {verb} reports"


@pytest.fixture(scope="module")
def table():
    """Rows of the refusals table (route, credentials, result), written once the module is done."""
    rows: list[tuple[str, str, str]] = []
    yield rows
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = ["| route | credentials | result |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    (ARTIFACTS / "login-refusals.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def server(login_server):
    return login_server


def text(status: str) -> str:
    """A library status line without its markup."""
    return re.sub(r"<[^>]+>", "", status).strip()


@contextlib.contextmanager
def session(server, user: str | None):
    """An HTTP client, logged in as ``user`` (None: anonymous)."""
    with httpx.Client(timeout=60) as http:
        if user:
            assert login(http, server.url, user, PASSWORDS[user]).status_code == 200
        yield http


@pytest.mark.slow
def test_without_a_login_every_route_that_shows_or_does_anything_is_refused(server, table):
    report = next(server.library.glob("*.txt"))
    file_route = f"gradio_api/file={report.resolve()}"
    with session(server, None) as anonymous, session(server, "bob") as bob:
        ask_fn = next(d["id"] for d in bob.get(server.url + "config").json()["dependencies"] if d.get("api_name") == "ask")
        requests = [
            ("GET", "config", {}), ("GET", "gradio_api/info", {}), ("GET", file_route, {}),
            ("GET", "gradio_api/queue/status", {}),
            ("POST", "gradio_api/upload", {"files": {"files": ("x.txt", b"text")}}),
            ("POST", "gradio_api/queue/join", {"json": {"data": [QUESTION, None], "fn_index": ask_fn,
                                                        "session_hash": "anon", "event_data": None}}),
            ("POST", "gradio_api/call/ask", {"json": {"data": [QUESTION, None]}}),
        ]
        for method, path, kwargs in requests:
            refused = anonymous.request(method, server.url + path, **kwargs)
            assert refused.status_code == 401, (path, refused.status_code)
            assert "Not authenticated" in refused.text and "essex" not in refused.text.lower()
            table.append((f"{method} /{path.split('=')[0] + ('=<library file>' if '=' in path else '')}",
                          "none", f"{refused.status_code} Not authenticated"))
        # The page itself is Gradio's login form: none of the app, none of the library.
        page = anonymous.get(server.url)
        assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")
        assert "rq-question" not in page.text and "Essex" not in page.text
        table.append(("GET /", "none", "200, the login form only (no app, no reports)"))
        wrong = anonymous.post(server.url + "login", data={"username": "bob", "password": PASSWORDS["alice"]})
        assert wrong.status_code == 400 and PASSWORDS["alice"] not in wrong.text
        table.append(("POST /login", "bob with alice's password", "400 Incorrect credentials"))
        assert anonymous.get(server.url + "config").status_code == 401  # a failed login gave no cookie
        # Logged in, the same routes answer.
        assert "rq-question" in bob.get(server.url).text and bob.get(server.url + "config").status_code == 200
        served = bob.get(server.url + file_route)
        assert served.status_code == 200 and served.content == report.read_bytes()
        table.append(("GET / , /config, /gradio_api/file=<library file>", "bob (logged in)", "200"))

    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(server.url, verbose=False)
    table.append(("gradio_client Client(url)", "none", "AuthenticationError: credentials were not provided"))
    with pytest.raises(ValueError, match="Could not login"):
        Client(server.url, auth=("alice", PASSWORDS["bob"]), verbose=False)
    table.append(("gradio_client Client(url, auth=...)", "alice with bob's password", "ValueError: Could not login"))
    for user in PASSWORDS:  # every source of users logs in: --auth, REPORTQA_AUTH, the users file
        answer = Client(server.url, auth=(user, PASSWORDS[user]), verbose=False).predict(QUESTION, api_name="/ask")
        assert "domestic abuse" in answer["citations"][0]["text"]
    table.append(("gradio_client predict /ask", "alice, bob, carol", "answered"))


@pytest.mark.slow
def test_no_password_is_printed_and_the_start_line_says_login_is_on(server):
    out = server.output()
    assert "login required: 3 users, admins alice, carol)" in out
    assert not any(password in out for password in PASSWORDS.values())


@pytest.mark.slow
def test_only_admins_see_and_can_use_the_library_controls(server, table):
    note = ROOT / "tests" / "artifacts" / "admin-note.txt"
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text("A short note about lighthouse maintenance.\n\nThe keepers painted the tower in May.\n")
    for user, admin in (("bob", False), ("alice", True), ("carol", True)):
        with session(server, user) as http:
            config = http.get(server.url + "config").json()
            load_fn, _ = find_event(config, None, "load")
            shown = call_event(http, server.url, load_fn, [])[-1]["output"]["data"][-2:]
            assert [shown[0]["visible"], shown[1]["visible"]] == [admin, not admin], user

    # bob is not an admin: the server refuses what his page hides, whatever the request says
    with session(server, "bob") as bob:
        config = bob.get(server.url + "config").json()
        upload_fn, upload_target = find_event(config, "rq-upload", "upload")
        remove_fn, remove_target = find_event(config, "rq-remove", "click")
        file = upload(bob, server.url, note)
        status = call_event(bob, server.url, upload_fn, [[file], []], upload_target)[-1]["output"]["data"][0]
        assert NOT_ADMIN.format(verb="add") in status and not (server.library / note.name).exists()
        assert not os.path.exists(file["path"])  # his upload is not kept either
        table.append(("upload event (page's add reports)", "bob (not an admin)", text(status)))
        seed = next(server.library.glob("*.txt")).stem
        status = call_event(bob, server.url, remove_fn, [[seed], []], remove_target)[-1]["output"]["data"][0]
        assert NOT_ADMIN.format(verb="remove") in status and (server.library / f"{seed}.txt").exists()
        table.append(("remove event (page's remove button)", "bob (not an admin)", text(status)))
    with session(server, "carol") as carol:  # an admin from the users file adds ...
        status = call_event(carol, server.url, upload_fn, [[upload(carol, server.url, note)], []], upload_target)
        assert "Added admin-note.txt: 1 report added" in status[-1]["output"]["data"][0]
    with session(server, "alice") as alice:  # ... and one named by --admin removes
        page = "alice-page"  # the page's load lists the reports that can be removed; then the click
        call_event(alice, server.url, load_fn, [], session=page)
        status = call_event(alice, server.url, remove_fn, [["admin-note"], []], remove_target, session=page)
        assert "Removed admin-note.txt" in status[-1]["output"]["data"][0]
    table.append(("upload / remove events", "carol (admin in the file), alice (--admin)", "added / removed"))


@pytest.mark.slow
def test_a_burst_of_questions_past_the_waiting_room_is_told_the_server_is_busy(server, table):
    client = Client(server.url, auth=("bob", PASSWORDS["bob"]), verbose=False)
    jobs = [client.submit(QUESTION, api_name="/ask") for _ in range(24)]  # 1 worker, 1 waiting
    answered, busy, other = 0, 0, []
    for job in jobs:
        try:
            answered += bool(job.result(timeout=120)["citations"])
        except AppError as exc:
            busy += str(exc) == BUSY
            other += [] if str(exc) == BUSY else [str(exc)]
    assert answered >= 2 and busy >= 1 and not other, (answered, busy, other)
    table.append(("gradio_client predict /ask, 24 at once (--workers 1 --max-waiting 1)", "bob",
                  f"{answered} answered, {busy} AppError: {BUSY}"))
    # Nothing is left waiting once the burst is over: Gradio's queue is empty, the next is answered.
    with session(server, "bob") as http:
        assert http.get(server.url + "gradio_api/queue/status").json()["queue_size"] == 0
    assert client.predict(QUESTION, api_name="/ask")["citations"]


@pytest.mark.slow
def test_a_public_address_without_login_is_warned_about_and_a_bind_failure_is_one_line(tmp_path):
    # 192.0.2.1 (TEST-NET-1) is nobody's address: the warning, then a one-line error, no traceback.
    run = subprocess.run([sys.executable, "app.py", "--host", "192.0.2.1", "--port", str(free_port()),
                          "--library", str(tmp_path), "--index", str(tmp_path / "index")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False"))
    lines = [line for line in run.stderr.splitlines() if line.startswith(("warning:", "error:", "Traceback"))]
    assert run.returncode == 2 and len(lines) == 2, run.stderr[-2000:]
    assert lines[0].startswith("warning: --host 192.0.2.1 without login: anyone who can reach it can read, add")
    assert lines[1].startswith("error: cannot listen on 192.0.2.1:")


def test_bad_login_options_are_one_line_and_never_show_the_password(tmp_path):
    # in-process: main() stops before gradio is launched
    import app

    for argv, fault in (
        (["--auth", "alice-Pw-7731"], "--auth: item 1 is not USER:PASSWORD (the value is not shown)"),
        (["--auth", "alice:pw", "--admin", "bob"], "--admin bob: no such user"),
        (["--admin", "bob"], "--admin needs login"),
        (["--auth-file", str(tmp_path / "none.txt")], "cannot read the users file"),
    ):
        err = _main_stderr(app, argv)
        assert fault in err and "alice-Pw-7731" not in err and len(err.strip().splitlines()) == 1, err


def _main_stderr(app, argv) -> str:
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert app.main(argv) == 2
    return err.getvalue()


def test_add_user_reads_the_password_from_stdin_and_never_prints_it(tmp_path):
    users = tmp_path / "users.txt"
    run = subprocess.run([sys.executable, "app.py", "--add-user", str(users), "dana", "--admin", "dana"], cwd=ROOT,
                         input="dana-Pw-4242\n", capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == f"{users}: added admin dana"
    assert "dana-Pw-4242" not in run.stdout + run.stderr + users.read_text()
    from web.users import read_users_file, verify_password

    (user,) = read_users_file(users)
    assert user.admin and verify_password("dana-Pw-4242", user.hashed)


def test_passwords_are_checked_one_at_a_time_off_the_event_loop():
    import asyncio
    import time

    import app

    class Users:
        running, most, threads = 0, 0, set()

        def check(self, name, password):
            Users.running += 1
            Users.most = max(Users.most, Users.running)
            Users.threads.add(threading.get_ident())
            time.sleep(0.02)
            Users.running -= 1
            return password == "right"

    check = app.gradio_auth(Users())

    loop_threads = set()

    async def flood():
        loop_threads.add(threading.get_ident())
        return await asyncio.gather(*(check("bob", "right" if i % 2 else "wrong") for i in range(6)))

    # A fresh thread: an earlier test (Playwright's sync API) may leave an event loop
    # running on this one, and asyncio.run refuses to nest.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, flood()).result() == [False, True] * 3
    assert Users.most == 1 and loop_threads and not loop_threads & Users.threads
