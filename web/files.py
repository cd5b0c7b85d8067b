"""What the server's file routes may serve: only the library, the upload folder and the pages
drawn for the page view (the index's ``renders/``), never the rest of the index.

:class:`FileGuard` is ASGI middleware in front of Gradio; :func:`file_url` is where a served file is.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

_FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/(file=|file/|proxy=)(.*)$", re.S)
RENDERS = "renders"  # the index's folder of drawn pages (index.render): what the page view shows
_INDEX_OWN = ("manifest.json", "manifest.prev.json", "segments", "combined", "lock")  # index.store's layout


class FileGuard:
    """ASGI middleware in front of Gradio: its file routes (``/gradio_api/file=...``) answer only
    for files inside ``folders`` and not inside ``blocked``; anything else (``/etc/passwd``, a
    path with ``..``, a relative path, a URL for the server to fetch, the ``proxy=`` route) gets
    a bare 404.

    Where folders nest, the innermost decides: with the index blocked and its ``renders/``
    allowed, a drawn page is served and the index's own files are not, even when the index
    lies inside the library.

    Gradio checks ``allowed_paths`` itself; this is the second lock, and the one that also turns
    away URLs (Gradio would fetch public ones on the caller's behalf).
    """

    def __init__(self, app, folders, blocked=()):
        self.app = app
        self.folders = [Path(os.path.realpath(f)) for f in folders]
        self.blocked = [Path(os.path.realpath(f)) for f in blocked]

    def allows(self, path: str) -> bool:
        m = _FILE_ROUTE.match(path)
        if not m:
            return True
        route, target = m.groups()
        if route == "proxy=" or "\x00" in target or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
            return False
        if ".." in re.split(r"[\\/]+", target) or not target.startswith("/"):
            return False
        real = Path(os.path.realpath(target))
        inside = [(len(f.parts), allowed) for allowed, folders in ((True, self.folders), (False, self.blocked))
                  for f in folders if real == f or f in real.parents]
        # the innermost folder decides; at equal depth, blocked wins
        return bool(inside) and min(inside, key=lambda d: (-d[0], d[1]))[1]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self.allows(scope.get("path", "")):
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"9")]})
            await send({"type": "http.response.body", "body": b"Not found"})
            return
        await self.app(scope, receive, send)


def file_url(path: Path) -> str:
    """The URL (relative to the page) at which Gradio serves ``path``."""
    return "gradio_api/file=" + quote(str(path))


def renders_folder(index: Path) -> Path:
    """Where the page view's images are drawn (index.render caches under the index)."""
    return Path(index).resolve() / RENDERS


def index_own_paths(index: Path) -> list[str]:
    """Everything of the index but its drawn pages, for Gradio's ``blocked_paths``: Gradio lets a
    blocked folder win over an allowed folder inside it, so the index as a whole cannot be
    blocked while ``renders/`` is served (:class:`FileGuard` blocks the whole index besides)."""
    index = Path(index).resolve()
    present = {p.name for p in index.iterdir()} if index.is_dir() else set()
    return [str(index / name) for name in sorted(present.union(_INDEX_OWN) - {RENDERS})]
