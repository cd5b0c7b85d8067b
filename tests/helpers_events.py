"""Call a Gradio event of the running app the way its page does, over raw HTTP: join the queue
(``/gradio_api/queue/join``) and read the event's messages (``/gradio_api/queue/data``).

For the page's private events (upload, remove, page load), which ``gradio_client`` cannot call:
tests use it to show that the server refuses what the page hides, and bench/load.py to upload a
report through the same path the page uses.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx


def login(http: httpx.Client, url: str, user: str, password: str) -> httpx.Response:
    """Log ``http`` in (Gradio keeps the session in a cookie, which ``http`` then sends)."""
    return http.post(url + "login", data={"username": user, "password": password})


def find_event(config: dict, elem_id: str | None, trigger: str) -> tuple[int, int | None]:
    """``(fn_index, component id)`` of the event ``trigger`` (``upload``, ``click``, ``load``) of
    the component with ``elem_id`` (None: the page itself), from the page's ``/config``."""
    target = None
    if elem_id is not None:
        target = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    for dep in config["dependencies"]:
        for component, name in dep["targets"]:
            if name == trigger and (target is None or component == target):
                return dep["id"], target
    raise LookupError(f"no {trigger} event on {elem_id or 'the page'}")


def upload(http: httpx.Client, url: str, path: Path) -> dict:
    """Upload ``path`` as the page's file component does; the file data an event then takes."""
    with open(path, "rb") as f:
        r = http.post(url + "gradio_api/upload", files={"files": (path.name, f, "application/octet-stream")})
    r.raise_for_status()
    return {"path": r.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def call_event(http: httpx.Client, url: str, fn_index: int, data: list, trigger_id: int | None = None,
               timeout: float = 300.0, session: str | None = None) -> list[dict]:
    """Run event ``fn_index`` with ``data`` and return every message it sent, the last being
    ``process_completed`` (its ``output["data"]`` are the event's outputs). An HTTP refusal
    (401 without a login, 503 with Gradio's queue full) raises ``httpx.HTTPStatusError``.

    :param session: the page session (Gradio's ``session_hash``) to run it in, as a page that
        made earlier calls would (a dropdown accepts the choices its session was last given);
        a new one by default.
    """
    session = session or uuid.uuid4().hex
    joined = http.post(url + "gradio_api/queue/join", json={
        "data": data, "fn_index": fn_index, "trigger_id": trigger_id, "session_hash": session, "event_data": None})
    joined.raise_for_status()
    messages = []
    with http.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            messages.append(message)
            if message.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                break
    return messages
