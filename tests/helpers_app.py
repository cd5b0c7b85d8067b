"""Run ``app.py`` as a real server for tests (API tests now, browser tests later).

Loopback only: the server listens on 127.0.0.1 (app.py's default) and the tests talk to nothing else.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 120.0  # the first sync embeds the library and loads the model
READY = "Report QA: ready"  # what app.py prints once the model and the index are loaded


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running ``app.py``: its URL, its process, and the file its output goes to."""

    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the server (terminate, then kill if it lingers)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_app(library: Path, index: Path, log: Path, *args: str, timeout: float = STARTUP_TIMEOUT,
              wait: bool = True, host: str | None = None) -> AppServer:
    """Start ``python app.py`` on a free port and return once it is ready to answer (see
    :func:`wait_until_up`).

    :param log: file that receives the server's stdout and stderr (a pipe could fill and block it).
    :param args: further command-line options for ``app.py``.
    :param host: ``--host`` for the server; by default none is given, so the server binds where
        app.py binds by default (127.0.0.1), which the tests then rely on.
    :param wait: False returns at once, so that a server can boot while other tests run; call
        :func:`wait_until_up` before using it.
    :raises RuntimeError: the server exited or did not come up within ``timeout`` seconds; the
        message ends with its output.
    """
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               NO_PROXY="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
    command = [sys.executable, str(ROOT / "app.py"), *(["--host", host] if host else []), "--port", str(port),
               "--library", str(library), "--index", str(index), *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = AppServer(f"http://127.0.0.1:{port}/", process, log)
    if not wait:
        return server
    try:
        wait_until_up(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_served(server: AppServer, timeout: float, poll: float = 0.5) -> None:
    """Wait until the server serves its page (HTTP 200 on "/"): the model and the index may
    still be loading behind it."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:  # one client: a new one per poll costs CPU the server needs
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {server.process.returncode}:\n{server.output()[-3000:]}")
            try:
                if http.get(server.url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(poll)
    raise RuntimeError(f"app.py did not answer at {server.url} within {timeout:.0f} s:\n{server.output()[-3000:]}")


def wait_until_up(server: AppServer, timeout: float) -> None:
    """Wait until the server serves its page and has loaded the model and the index (its
    "ready" line); fail at once if the loading failed (an ``error:`` line) or the server exited."""
    deadline = time.monotonic() + timeout
    wait_until_served(server, timeout)
    while time.monotonic() < deadline:
        lines = server.output().splitlines()
        if any(line.startswith(READY) for line in lines):
            return
        if any(line.startswith("error: ") for line in lines):
            raise RuntimeError(f"app.py could not load the model and the index:\n{server.output()[-3000:]}")
        if server.process.poll() is not None:
            raise RuntimeError(f"app.py exited with {server.process.returncode}:\n{server.output()[-3000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"app.py was not ready within {timeout:.0f} s:\n{server.output()[-3000:]}")
