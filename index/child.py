"""A helper process with limits: ``python -m MODULE --serve`` under an address-space cap,
answering each request line with one line within a deadline. The PDF parser (index.parse) and
the page renderer (index.render) run in one each, so a hostile PDF cannot hang or exhaust the
process that asked."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path


class ChildTimeout(Exception):
    """The child did not answer in time (it has been killed)."""


class ChildDied(Exception):
    """The child died before answering; ``killed`` when by a signal that means out of memory."""

    def __init__(self, code: int):
        self.code, self.killed = code, code in (-9, 137, -6)
        super().__init__(f"exit {code}")


class Child:
    """Started on the first request, reused across requests, replaced after it times out or dies.

    :param module: the module whose ``--serve`` loop answers requests.
    :param memory: the child's address space, in bytes.
    :param env: extra environment variables for the child.
    """

    def __init__(self, module: str, memory: int, env: dict | None = None):
        self.module, self.memory, self.env = module, memory, env or {}
        self._process: subprocess.Popen | None = None

    def close(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                stream.close()
            self._process = None

    def _start(self) -> subprocess.Popen:
        memory = self.memory

        def cap_memory():  # runs in the child before exec
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        return subprocess.Popen(
            [sys.executable, "-m", self.module, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, preexec_fn=cap_memory, env={**os.environ, **self.env},
            cwd=Path(__file__).resolve().parent.parent,
        )

    def ask(self, request: str, seconds: float) -> bytes:
        """Send one line, return the child's one-line answer.

        :raises ChildTimeout: no answer within ``seconds``. :raises ChildDied: it died first.
        """
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._process = self._start()
        child = self._process
        child.stdin.write((request + "\n").encode())
        child.stdin.flush()
        deadline = time.monotonic() + seconds
        buffer = b""
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([child.stdout], [], [], remaining)[0]:
                self.close()
                raise ChildTimeout()
            chunk = os.read(child.stdout.fileno(), 1 << 20)
            if not chunk:  # the child died: out of memory (killed) or crashed
                code = child.wait()
                self.close()
                raise ChildDied(code)
            buffer += chunk
        return buffer
