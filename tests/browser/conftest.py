"""Browser tests: Playwright for Python driving Debian's Chromium against a real ``app.py``.

Chromium is the Debian package (/usr/bin/chromium, or $REPORTQA_CHROMIUM); Playwright's own
browser download is not used. Screenshots go to tests/artifacts/ (ignored by git).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .chat_page import ARTIFACTS, ChatPage
from helpers_app import ROOT, start_app, wait_until_up, STARTUP_TIMEOUT

CHROMIUM = Path(os.environ.get("REPORTQA_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def _library_server_booting(tmp_path_factory):
    """The library scenario's own server (it adds and removes reports), started without waiting
    so that it boots while the first tests run; ``library_server`` waits for it."""
    tmp = tmp_path_factory.mktemp("library_server")
    library = tmp / "library"
    shutil.copytree(ROOT / "seeds", library)
    # --max-upload-mb 1: the Essex PDF (254 KB) fits, and the limit can be tested cheaply.
    server = start_app(library, tmp / "index", tmp / "app.log", "--max-upload-mb", "1", wait=False)
    server.library = library
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _pdf_server_booting(tmp_path_factory):
    """The page view's server: the seed report and the 2019 Essex Ofsted PDF (11 pages), indexed
    at start-up; started without waiting, like the library's."""
    tmp = tmp_path_factory.mktemp("pdf_server")
    library = tmp / "library"
    shutil.copytree(ROOT / "seeds", library)
    shutil.copy2(ROOT / "tests" / "data" / "80468_essex__ilacs_07-january-2019.pdf", library)
    server = start_app(library, tmp / "index", tmp / "app.log", wait=False)
    server.library = library
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _boot_early(request):
    """Start the servers the selected tests need, all at once: they boot side by side."""
    needed = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    for server, booting in (("seed_server", "seed_server_booting"), ("library_server", "_library_server_booting"),
                            ("pdf_server", "_pdf_server_booting")):
        if server in needed:
            request.getfixturevalue(booting)


def _up(server):
    """``server`` once it is up (stopped if it does not come up)."""
    try:
        wait_until_up(server, STARTUP_TIMEOUT)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def library_server(_library_server_booting):
    return _up(_library_server_booting)


@pytest.fixture(scope="session")
def pdf_server(_pdf_server_booting):
    return _up(_pdf_server_booting)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM}: no Chromium for the browser tests; install it with `apt-get install -y chromium` "
            "(.ci/run does) or point REPORTQA_CHROMIUM at one",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _chat_page(browser, server, viewport) -> ChatPage:
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
    return ChatPage(context.new_page(), server.url)


def _opened(browser, server, viewport):
    """A page of the app opened in a new browser context, closed after (a fixture's body)."""
    chat = _chat_page(browser, server, viewport)
    chat.goto()
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def desktop(browser, seed_server):
    """One desktop-sized page on the seed server, shared by a module's tests (in order)."""
    yield from _opened(browser, seed_server, DESKTOP)


@pytest.fixture(scope="module")
def phone(browser, seed_server):
    yield from _opened(browser, seed_server, PHONE)


@pytest.fixture(scope="module")
def library_page(browser, library_server):
    yield from _opened(browser, library_server, DESKTOP)


@pytest.fixture(scope="module")
def pdf_page(browser, pdf_server):
    """One desktop-sized page on the page view's server (the seed report and a PDF)."""
    yield from _opened(browser, pdf_server, DESKTOP)
