"""Reading a PDF in a child process with limits, so a parser that hangs or eats memory cannot
hang the sync or take the app down: the child gets a time limit and an address-space cap, and
sends back the text as JSON. ``python -m index.parse FILE`` is the child's entry point."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from index.passage import ReportText
from index.read import ReportError, read_report, sniff


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


def read_limited(path: Path, limits: Limits = Limits()) -> ReportText:
    """Read a report within ``limits``; raises :class:`ReportError` with the reason.

    Text files are read here; PDFs in a child process that is killed when over its limits.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReportError(path, f"cannot be read ({exc.strerror})") from exc
    if size > limits.max_bytes:
        raise ReportError(path, f"file is {_mb(size)}, over the {_mb(limits.max_bytes)} limit", "not indexed; split it")
    with path.open("rb") as f:
        head = f.read(1024)
    if sniff(head) != "pdf":
        return read_report(path)  # text (or a refusal): no parser to fear
    env = {**os.environ, "REPORTQA_MAX_PAGES": str(limits.max_pages)}

    def cap_memory():  # runs in the child before exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))

    try:
        run = subprocess.run(
            [sys.executable, "-m", "index.parse", str(path)],
            capture_output=True, timeout=limits.seconds, preexec_fn=cap_memory, env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
    except subprocess.TimeoutExpired as exc:
        raise ReportError(path, f"parsing took over {limits.seconds:.0f} s", "not indexed; the PDF may be damaged") from exc
    try:
        result = json.loads(run.stdout)
    except ValueError:
        if b"MemoryError" in run.stderr or run.returncode in (-9, 137):
            raise ReportError(path, f"parsing needed over {_mb(limits.memory)} of memory", "not indexed") from None
        last = (run.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1][:120]
        raise ReportError(path, f"parser failed ({last})", "not indexed") from None
    if "error" in result:
        raise ReportError(path, result["error"], result.get("action", "not indexed"))
    return ReportText(**result)


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    try:
        text = read_report(path)
    except ReportError as exc:
        out = {"error": exc.reason, "action": str(exc).rsplit(" — ", 1)[-1]}
    except MemoryError:
        out = {"error": "parsing ran out of memory"}
    except RecursionError:
        out = {"error": "malformed PDF (nesting too deep)"}
    except Exception as exc:  # pypdf raises many kinds on damaged files; each is a bad file here
        out = {"error": f"malformed PDF ({type(exc).__name__}: {str(exc)[:80]})"}
    else:
        out = asdict(text)
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
