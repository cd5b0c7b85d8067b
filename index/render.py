"""Pages of PDF reports drawn as images, cached under the index directory.

A page is drawn by PDFium (:mod:`index.pdfium`) in a child process with a time limit and an
address-space cap, like the parser's (:mod:`index.parse`): a hostile PDF can hang or exhaust
the renderer, never the app. Each drawing is kept as ``renders/SHA/P-S.png`` (SHA the file's
sha256, P the page, S the scale in hundredths), so a page is drawn once per scale; a sync's
garbage collection removes the pages of reports that left the library.
"""
from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from index.child import Child, ChildDied, ChildTimeout
from index.errors import ReportError

MIN_SCALE, MAX_SCALE = 0.25, 4.0


@dataclass(frozen=True)
class RenderLimits:
    """:param seconds: time allowed to draw one page. :param memory: the child's address space, in bytes."""

    seconds: float = 15.0
    memory: int = 2 * 1024 * 1024 * 1024

    def __post_init__(self):
        for name in ("seconds", "memory"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0. Currently, {name} is {getattr(self, name)}")


@dataclass(frozen=True)
class Rendered:
    """A page drawn: the PNG file and its size in pixels. ``cached``: it was drawn before."""

    path: Path
    width: int
    height: int
    cached: bool


def check_scale(scale: float) -> float:
    """The scale rounded to hundredths; raises ValueError naming it when out of range."""
    if not isinstance(scale, (int, float)) or not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}. Currently, scale is {scale!r}")
    return round(float(scale), 2)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG file's header."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    return struct.unpack(">II", head[16:24])


class Renderer:
    """Draws pages of PDFs into the cache folder ``renders`` (the index directory's
    ``renders/``). Thread-safe: one child draws one page at a time; a cached page needs none.
    Call :meth:`close` (or use as a context manager) to stop the child.

    :param max_bytes: the cache's size: past it, the pages shown longest ago are deleted (every
        zoom level of every page read would otherwise pile up until the report left the library).
    """

    def __init__(self, renders: Path, limits: RenderLimits = RenderLimits(), max_bytes: int = 1 << 30):
        self.renders = Path(renders)
        self.limits = limits
        self.max_bytes = max_bytes
        self._child = Child("index.render", limits.memory)
        self._lock = threading.Lock()
        self.drawn = 0  # pages drawn (not taken from the cache) by this renderer
        self._added = max_bytes  # bytes drawn since the cache was last measured: measure it at the first drawing

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cached(self, sha256: str, page: int, scale: float) -> Path:
        return self.renders / sha256 / f"{page}-{round(check_scale(scale) * 100)}.png"

    def render(self, pdf: Path, sha256: str, page: int, scale: float) -> Rendered:
        """Page ``page`` (1-based) of ``pdf``, whose bytes hash to ``sha256``, at ``scale``
        pixels per point; raises :class:`ReportError` (one line) when it cannot be drawn."""
        out = self.cached(sha256, page, scale)
        if out.is_file():
            with contextlib.suppress(OSError):
                os.utime(out)  # shown now: the last to go when the cache is trimmed
            return Rendered(out, *png_size(out), cached=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if out.is_file():  # drawn by another thread meanwhile
                return Rendered(out, *png_size(out), cached=True)
            answer = self._ask({"path": str(Path(pdf).resolve()), "page": page, "scale": check_scale(scale),
                                     "out": str(out.resolve())})
            self.drawn += 1
            if "error" not in answer:
                self._added += out.stat().st_size
                if self._added > self.max_bytes // 10:
                    self._trim(keep=out)
        if "error" in answer:
            raise ReportError(pdf, f"page {page} cannot be drawn ({answer['error']})", "use the text view")
        return Rendered(out, answer["width"], answer["height"], cached=False)

    def _trim(self, keep: Path) -> None:
        """Delete the pages shown longest ago until the cache is within ``max_bytes``."""
        self._added = 0
        files = []
        for path in self.renders.glob("*/*.png"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                files.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size

    def close(self) -> None:
        with self._lock:
            self._child.close()

    def _ask(self, request: dict) -> dict:
        try:
            return json.loads(self._child.ask(json.dumps(request), self.limits.seconds))
        except ChildTimeout:
            return {"error": f"drawing took over {self.limits.seconds:.0f} s"}
        except ChildDied as died:
            return {"error": "out of memory" if died.killed else f"the renderer crashed (exit {died.code})"}


def _draw(request: dict) -> dict:
    from index.pdfium import render_page

    try:
        width, height = render_page(Path(request["path"]), int(request["page"]), float(request["scale"]), Path(request["out"]))
        return {"width": width, "height": height}
    except MemoryError:
        return {"error": "out of memory"}
    except Exception as exc:  # noqa: BLE001 - PDFium raises many kinds on damaged files; each is one line
        return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())[:120]}


def main(argv: list[str]) -> int:
    """``--serve``: read JSON requests from stdin, one per line; answer each with one JSON line."""
    if argv[:1] != ["--serve"]:
        print("usage: python -m index.render --serve   (used by index.render.Renderer)", file=sys.stderr)
        return 2
    for line in sys.stdin:
        sys.stdout.write(json.dumps(_draw(json.loads(line))) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
