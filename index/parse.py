"""Reading PDFs in a child process with limits, so a parser that hangs or eats memory cannot
hang the sync or take the app down: the child gets a time limit per file and an address-space
cap, and sends back each report's text as a JSON line (``python -m index.parse --serve``)."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from index.errors import ReportError
from index.passage import ReportText
from index.read import read_report, sniff


@dataclass(frozen=True)
class Limits:
    """Per-file limits, with defaults that fit real reports (the largest inspection reports
    run to a few hundred pages and tens of MB).

    :param max_bytes: files larger than this are refused before parsing.
    :param max_pages: PDFs with more pages are refused.
    :param seconds: parse time allowed per file.
    :param memory: address space allowed to the parsing process, in bytes.
    """

    max_bytes: int = 200 * 1024 * 1024
    max_pages: int = 3000
    seconds: float = 120.0
    memory: int = 3 * 1024 * 1024 * 1024

    def __post_init__(self):
        for name in ("max_bytes", "max_pages", "seconds", "memory"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0. Currently, {name} is {getattr(self, name)}")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


class Parser:
    """Reads report files within ``limits``. PDFs are parsed in a child process that is reused
    across files (start-up is paid once per sync, not per file) and replaced when it hangs past
    the time limit, dies, or runs out of memory. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        self._child: subprocess.Popen | None = None

    def __enter__(self) -> "Parser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._child is not None:
            if self._child.poll() is None:
                self._child.kill()
            self._child.wait()
            for stream in (self._child.stdin, self._child.stdout):
                stream.close()
            self._child = None

    def _start(self) -> subprocess.Popen:
        memory = self.limits.memory

        def cap_memory():  # runs in the child before exec
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        env = {**os.environ, "REPORTQA_MAX_PAGES": str(self.limits.max_pages)}
        return subprocess.Popen(
            [sys.executable, "-m", "index.parse", "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, preexec_fn=cap_memory, env=env, cwd=Path(__file__).resolve().parent.parent,
        )

    def _ask_child(self, path: Path) -> dict:
        if self._child is None or self._child.poll() is not None:
            self.close()
            self._child = self._start()
        child = self._child
        child.stdin.write((str(path.resolve()) + "\n").encode())
        child.stdin.flush()
        deadline = time.monotonic() + self.limits.seconds
        buffer = b""
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready = select.select([child.stdout], [], [], max(remaining, 0))[0] if remaining > 0 else []
            if not ready:
                self.close()
                raise ReportError(path, f"parsing took over {self.limits.seconds:.0f} s", "not indexed; the PDF may be damaged")
            chunk = os.read(child.stdout.fileno(), 1 << 20)
            if not chunk:  # the child died: out of memory (killed) or crashed
                code = child.wait()
                self.close()
                if code in (-9, 137, -6):
                    raise ReportError(path, f"parsing needed over {_mb(self.limits.memory)} of memory", "not indexed")
                raise ReportError(path, f"the PDF parser crashed (exit {code})", "not indexed")
            buffer += chunk
        return json.loads(buffer)

    def read(self, path: Path) -> ReportText:
        """Read a report; raises :class:`ReportError` with the reason."""
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ReportError(path, f"cannot be read ({exc.strerror})") from exc
        if size > self.limits.max_bytes:
            raise ReportError(path, f"file is {_mb(size)}, over the {_mb(self.limits.max_bytes)} limit", "not indexed; split it")
        with path.open("rb") as f:
            head = f.read(1024)
        if sniff(head) != "pdf":
            return read_report(path)  # text (or a refusal): no parser to fear
        result = self._ask_child(path)
        if "error" in result:
            raise ReportError(path, result["error"], result.get("action", "not indexed"))
        return ReportText(**result)


def read_limited(path: Path, limits: Limits = Limits()) -> ReportText:
    """Read one report within ``limits`` (see :class:`Parser`)."""
    with Parser(limits) as parser:
        return parser.read(path)


def _parse_one(path: Path) -> dict:
    try:
        return asdict(read_report(path))
    except ReportError as exc:
        return {"error": exc.reason, "action": str(exc).rsplit(" — ", 1)[-1]}
    except MemoryError:
        return {"error": "parsing ran out of memory"}
    except RecursionError:
        return {"error": "malformed PDF (nesting too deep)"}
    except Exception as exc:  # pypdf raises many kinds on damaged files; each is a bad file here
        return {"error": f"malformed PDF ({type(exc).__name__}: {str(exc)[:80]})"}


def main(argv: list[str]) -> int:
    """``--serve``: read file paths from stdin, one per line; answer each with one JSON line."""
    if argv[:1] != ["--serve"]:
        print("usage: python -m index.parse --serve   (used by index.parse.Parser)", file=sys.stderr)
        return 2
    for line in sys.stdin:
        sys.stdout.write(json.dumps(_parse_one(Path(line.rstrip("\n"))), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
