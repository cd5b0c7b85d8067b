"""Shared fixtures: the real model (loaded once), a tmp copy of the seed library and its index,
and a guard that keeps every test off the network (loopback only)."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_REPORT = SEEDS / "essex-police-hmic-inspection-news-summary.txt"
GOLD = ROOT / "tests" / "gold"

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127.") or self.family == socket.AF_UNIX):
        return _real_connect(self, address)
    raise OSError(f"test tried to reach {address!r}: tests stay off the network")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(scope="session")
def embedder():
    """The real default model, loaded once for the whole run."""
    from index.embed import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def seed_library(tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("library")
    for f in SEEDS.iterdir():
        shutil.copy2(f, lib / f.name)
    return lib


@pytest.fixture(scope="session")
def seed_asker(seed_library, embedder, tmp_path_factory):
    """An Asker over the seed library with its index built once (real model, real FAISS)."""
    from qa.ask import Asker

    asker = Asker(seed_library, tmp_path_factory.mktemp("index"), embedder=embedder)
    asker.sync(progress=False, out=lambda line: None)
    return asker


@pytest.fixture(scope="session")
def seed_server_booting(seed_library, tmp_path_factory):
    """A real ``app.py`` on the seed library, started without waiting (see ``seed_server``), so
    that a test session can boot it while other servers boot or other tests run."""
    from helpers_app import start_app

    tmp = tmp_path_factory.mktemp("seed_server")
    running = start_app(seed_library, tmp / "index", tmp / "app.log", wait=False)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def seed_server(seed_server_booting):
    """A real ``app.py`` serving the seed library (read-only: tests must not add or remove
    reports through it), shared by the API tests and the browser tests."""
    from helpers_app import STARTUP_TIMEOUT, wait_until_up

    wait_until_up(seed_server_booting, STARTUP_TIMEOUT)
    return seed_server_booting


LOGIN_PASSWORDS = {"alice": "alice-Pw-7731", "bob": "bob-Pw-2209", "carol": "carol-Pw-5150"}


@pytest.fixture(scope="session")
def login_server(tmp_path_factory):
    """A real ``app.py`` with login on, shared by tests/test_login.py and the browser's login test:
    alice from ``--auth`` and named by ``--admin``, bob from ``REPORTQA_AUTH`` (not an admin),
    carol an admin in a users file; one worker and one question waiting, so that a burst of
    questions meets "busy". Its own copy of seeds/ (tests add and remove a report)."""
    from helpers_app import start_app
    from web.users import add_user

    tmp = tmp_path_factory.mktemp("login_server")
    library = tmp / "library"
    shutil.copytree(SEEDS, library)
    add_user(tmp / "users.txt", "carol", LOGIN_PASSWORDS["carol"], admin=True)
    env = pytest.MonkeyPatch()
    env.setenv("REPORTQA_AUTH", f"bob:{LOGIN_PASSWORDS['bob']}")
    try:
        running = start_app(library, tmp / "index", tmp / "app.log", "--auth", f"alice:{LOGIN_PASSWORDS['alice']}",
                            "--auth-file", str(tmp / "users.txt"), "--admin", "alice",
                            "--workers", "1", "--max-waiting", "1")
    finally:
        env.undo()
    running.library, running.passwords = library, LOGIN_PASSWORDS
    yield running
    running.stop()
