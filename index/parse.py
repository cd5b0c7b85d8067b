"""Reading PDFs in a child process with limits, so a parser that hangs or eats memory cannot
hang the sync or take the app down: the child gets a time limit per file and an address-space
cap, and sends back each report's text as a JSON line (``python -m index.parse --serve``)."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from index.child import Child, ChildDied, ChildTimeout
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

    def __init__(self, limits: Limits = Limits(), positions: bool = True):
        self.limits, self.positions = limits, positions
        self._child = Child("index.parse", limits.memory, {"REPORTQA_MAX_PAGES": str(limits.max_pages)})

    def __enter__(self) -> "Parser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._child.close()

    def _ask_child(self, path: Path) -> dict:
        try:
            return json.loads(self._child.ask(str(path.resolve()), self.limits.seconds))
        except ChildTimeout:
            raise ReportError(path, f"parsing took over {self.limits.seconds:.0f} s", "not indexed; the PDF may be damaged") from None
        except ChildDied as died:
            if died.killed:
                raise ReportError(path, f"parsing needed over {_mb(self.limits.memory)} of memory", "not indexed") from None
            raise ReportError(path, f"the PDF parser crashed (exit {died.code})", "not indexed") from None

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
        text = ReportText(**result)
        return replace(text, positions=self._place(path, text)) if self.positions else text

    def _place(self, path: Path, text: ReportText) -> dict | None:
        """Where the text sits on the pages, from a second request to the child: PDFium failing,
        crashing or running out of time or memory on a file pypdf read costs its page view only."""
        request = {"place": str(path.resolve()), "text": text.text, "page_starts": text.page_starts,
                   "printed": text.page_labels}
        try:
            answer = json.loads(self._child.ask(json.dumps(request, ensure_ascii=False), self.limits.seconds))
        except (ChildTimeout, ChildDied):
            return None
        return answer.get("positions")


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


def _place_one(request: dict) -> dict:
    from index.pdfium import report_positions

    try:
        return {"positions": report_positions(Path(request["place"]), request["text"], request["page_starts"],
                                              request.get("printed"))}
    except Exception as exc:  # noqa: BLE001 - PDFium refusing a file pypdf read: no page view, one line why
        return {"error": f"{type(exc).__name__}: {str(exc)[:80]}"}


def main(argv: list[str]) -> int:
    """``--serve``: read requests from stdin, one per line, and answer each with one JSON line:
    a file path (read the report), or ``{"place": path, "text", "page_starts", "printed"}``
    (where that text sits on the PDF's pages)."""
    if argv[:1] != ["--serve"]:
        print("usage: python -m index.parse --serve   (used by index.parse.Parser)", file=sys.stderr)
        return 2
    for line in sys.stdin:
        line = line.rstrip("\n")
        answer = _place_one(json.loads(line)) if line.startswith("{") else _parse_one(Path(line))
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
