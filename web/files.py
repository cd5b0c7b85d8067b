"""What the server's file routes may serve: only the library and the upload folder.

:class:`FileGuard` is ASGI middleware in front of Gradio; :func:`file_url` is where a served file is.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

_FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/(file=|file/|proxy=)(.*)$", re.S)


class FileGuard:
    """ASGI middleware in front of Gradio: its file routes (``/gradio_api/file=...``) answer only
    for files inside ``folders``; anything else (``/etc/passwd``, a path with ``..``, a relative
    path, a URL for the server to fetch, the ``proxy=`` route) gets a bare 404.

    Gradio checks ``allowed_paths`` itself; this is the second lock, and the one that also turns
    away URLs (Gradio would fetch public ones on the caller's behalf).
    """

    def __init__(self, app, folders):
        self.app = app
        self.folders = [Path(os.path.realpath(f)) for f in folders]

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
        return any(real == f or f in real.parents for f in self.folders)

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
