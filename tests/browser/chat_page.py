"""The Report QA page as the browser tests drive it: ask, open a citation, read the viewer."""
from __future__ import annotations

import time
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
ANSWER_TIMEOUT_MS = 60_000

# Every element that is drawn but sticks out of the viewport sideways, or whose text is clipped by
# its own box; an element inside a sideways scroller is reachable, so not cut off.
CUT_OFF_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} "${(el.textContent || '').trim().slice(0, 40)}"`;
  const inScroller = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (['auto', 'scroll'].includes(s.overflowX) && a.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  if (document.documentElement.scrollWidth > width) found.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  for (const el of document.querySelectorAll('body *')) {
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden' || el.closest('[aria-hidden="true"]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;  // screen-reader-only text and the like
    if ((r.right > width + 1 || r.left < -1) && !inScroller(el)) found.push(`outside: ${describe(el)} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    const clips = s.overflowX === 'hidden' || s.textOverflow === 'ellipsis';
    if (clips && el.scrollWidth > el.clientWidth + 2 && el.children.length === 0 && el.textContent.trim()) found.push(`clipped: ${describe(el)}`);
  }
  return found.slice(0, 25);
}
"""


class ChatPage:
    """One browser tab on the app. Records uncaught script errors and any request that leaves
    127.0.0.1 (blocked): a test ends with :meth:`check_clean`."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.script_errors: list[str] = []
        self.outside_requests: list[str] = []
        page.on("pageerror", lambda exc: self.script_errors.append(str(exc)))
        page.route("**/*", self._local_only)

    def _local_only(self, route):
        if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            self.outside_requests.append(route.request.url)
            route.abort()

    # -- basics --

    def goto(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector("#rq-question textarea")

    def close(self) -> None:
        self.page.context.close()

    def check_clean(self) -> None:
        assert not self.script_errors, self.script_errors
        assert not self.outside_requests, f"the page reached outside 127.0.0.1: {self.outside_requests}"

    def shot(self, name: str, full_page: bool = False) -> Path:
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def cut_off(self) -> list[str]:
        return self.page.evaluate(CUT_OFF_JS)

    # -- chat --

    @property
    def question(self):
        return self.page.locator("#rq-question textarea")

    def answers(self):
        return self.page.locator("#rq-transcript .rq-bot")

    def ask(self, question: str, submit: str = "Enter"):
        """Ask and wait for the reply; returns the reply's locator."""
        before = self.answers().count()
        self.question.fill(question)
        if submit == "Enter":
            self.question.press("Enter")
        else:
            self.page.locator("#rq-ask").click()
        return self.wait_for_reply(before)

    def wait_for_reply(self, before: int):
        self.page.wait_for_function(
            "n => document.querySelectorAll('#rq-transcript .rq-bot').length > n"
            " && !document.querySelector('#rq-transcript .rq-pending')",
            arg=before, timeout=ANSWER_TIMEOUT_MS,
        )
        return self.answers().nth(before)

    def in_chat_view(self, reply) -> bool:
        """Whether the top of ``reply`` is visible in the scrolling conversation."""
        return self.page.evaluate(
            """el => { const box = document.querySelector('#rq-transcript').getBoundingClientRect();
                       const r = el.getBoundingClientRect(); return r.top >= box.top - 1 && r.top < box.bottom; }""",
            reply.element_handle(),
        )

    def clear(self) -> None:
        self.page.locator("#rq-clear").click()
        self.page.wait_for_selector("#rq-transcript .rq-welcome")

    def choose(self, dropdown: str, option) -> None:
        """Pick ``option`` (its label, or a pattern) in the multiselect dropdown with element id ``dropdown``."""
        self.page.locator(f"#{dropdown} input[role=combobox]").click()
        self.page.get_by_role("option", name=option).click()
        self.page.keyboard.press("Escape")

    def unchoose_all(self, dropdown: str) -> None:
        box = self.page.locator(f"#{dropdown}")
        while box.locator(".token .token-remove, .token-remove, [aria-label^='Remove']").count():
            box.locator(".token .token-remove, .token-remove, [aria-label^='Remove']").first.click()

    # -- the source viewer --

    @property
    def viewer(self):
        return self.page.locator("#rq-viewer .rq-viewer")

    @property
    def target(self):
        return self.page.locator("#rq-viewer #rq-target")

    def open_source(self, button) -> float:
        """Click a citation (or a report's Read button) and wait until the viewer shows it;
        returns the seconds from the click to the cited paragraph in view."""
        shown = self.page.evaluate("window.__rqShown || null")
        started = time.monotonic()
        button.click()
        self.page.wait_for_function("prev => window.__rqShown && window.__rqShown !== prev", arg=shown, timeout=10_000)
        seconds = time.monotonic() - started
        assert self.viewer.is_visible()
        return seconds

    def browser_seconds(self) -> float:
        """The same click-to-shown time measured inside the page (performance.now)."""
        return self.page.evaluate("(window.__rqShownAt - window.__rqClickAt) / 1000")

    def in_view(self, locator) -> bool:
        """Whether ``locator`` is (at least partly) visible inside the viewer's scrolling text."""
        return self.page.evaluate(
            """el => { const doc = el.closest('.rq-doc'); const r = el.getBoundingClientRect(), d = doc.getBoundingClientRect();
                       return r.bottom > d.top + 10 && r.top < d.bottom - 10 && r.top >= 0 && r.top < window.innerHeight; }""",
            locator.element_handle(),
        )

    def close_viewer(self) -> None:
        self.page.keyboard.press("Escape")
        self.viewer.wait_for(state="hidden")


def record_timing(name: str, wall: float, in_page: float, shown: str = "paragraph") -> None:
    """Keep click-to-viewer seconds in tests/artifacts/timings.json (one entry per scenario).

    :param shown: what the click brought into view: "paragraph" (the text view) or "page"
        (the page view: its pages decoded, the passage boxed).
    """
    import json

    path = ARTIFACTS / "timings.json"
    timings = json.loads(path.read_text()) if path.exists() else {}
    timings[name] = {f"click_to_{shown}_seconds": round(wall, 3), "measured_in_page_seconds": round(in_page, 3)}
    path.write_text(json.dumps(timings, indent=2) + "\n")
    print(f"{name}: click -> cited {shown} in view {wall:.3f} s (in page {in_page:.3f} s)")
