// The source viewer's behaviour: the body of the viewer gr.HTML's js_on_load (see app.py),
// run by Gradio with `element` (the viewer), `trigger` (sends an event to Python) and `watch`.
//
// One click listener on the document serves the whole page, so citations rendered later (new
// answers, the sources panel, previous/next in the viewer, "Read" in the reports view) need no
// wiring of their own:
//   [data-rq-n]       a citation: trigger('cite', {turn, n, view, zoom}); Python renders the viewer
//   [data-rq-report]  a report:   trigger('cite', {report, view, zoom})
//                     either may carry data-rq-view ("text" | "page": the view switch, kept for
//                     the next citations), data-rq-page (previous / next page) and data-rq-zoom
//   [data-rq-copy]    copy the answer's Markdown to the clipboard
//   [data-rq-close]   close the viewer (so does Escape); focus returns to what opened it
// When Python's new viewer HTML arrives, watch('value') opens the drawer, scrolls the cited
// paragraph, or in the page view the passage's first box (#rq-target), into view and moves focus
// to it. It stays in view when the viewer changes size (the window narrowed, a phone turned),
// unless the user has scrolled away from it.

window.__rqTrigger = trigger; // the latest mount's trigger, if Gradio ever re-mounts the viewer

const body = document.body;

function closeViewer() {
  body.classList.remove("rq-viewer-open", "rq-viewer-loading");
  const opener = window.__rqOpener;
  if (opener && document.contains(opener)) opener.focus();
}

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // http on another host is not a secure context: fall back to a selected textarea
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

if (!window.__rqWired) {
  window.__rqWired = true;
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const cite = target.closest("[data-rq-n],[data-rq-report]");
    if (cite && !cite.disabled) {
      event.preventDefault();
      if (!cite.closest("#rq-viewer")) window.__rqOpener = cite;
      // a page tool or the view switch keeps the focus after the viewer is drawn again
      window.__rqRefocus = [...cite.classList].find((c) => /^rq-(page-prev|page-next|zoom-in|zoom-out|view-text|view-page)$/.test(c)) || null;
      window.__rqClickAt = performance.now();
      body.classList.add("rq-viewer-open", "rq-viewer-loading");
      const d = cite.dataset;
      if (d.rqView) window.__rqView = d.rqView;
      if (d.rqZoom !== undefined) window.__rqZoom = Number(d.rqZoom);
      const asked = d.rqReport !== undefined ? { report: d.rqReport } : { turn: Number(d.rqTurn), n: Number(d.rqN) };
      asked.view = window.__rqView || "text";
      asked.zoom = window.__rqZoom || 0;
      if (d.rqPage !== undefined) asked.page = Number(d.rqPage);
      window.__rqTrigger("cite", asked);
      return;
    }
    const copy = target.closest("[data-rq-copy]");
    if (copy) {
      const status = copy.parentElement.querySelector(".rq-copied");
      copyText(copy.dataset.rqCopy).then(
        () => { if (status) status.textContent = "Copied"; },
        () => { if (status) status.textContent = "Copy failed: select the text instead"; },
      );
      setTimeout(() => { if (status) status.textContent = ""; }, 2500);
      return;
    }
    if (target.closest("[data-rq-close]")) closeViewer();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && body.classList.contains("rq-viewer-open")) {
      event.preventDefault();
      closeViewer();
    }
  });
}

// Scroll the cited passage into view (the viewer's scroller only, never the page): a passage that
// fits sits mid-panel, all of it (over a page break too); a longer one (it may span paragraphs,
// or pages) is placed so that the answer's first highlighted words are mid-panel, else its start
// near the top. Sideways (a zoomed page), the passage's lines then in view are centred, or their
// starts shown.
// Returns the cited element, or null when the view has none.
function place(viewer) {
  const doc = viewer.querySelector(".rq-doc");
  const cited = viewer.querySelector("#rq-target");
  if (!cited || !doc) {
    if (doc) doc.scrollTop = 0;
    return null;
  }
  const marks = [...viewer.querySelectorAll(".rq-cited, .rq-box-passage")];
  const rects = (marks.length ? marks : [cited]).map((m) => m.getBoundingClientRect());
  const top = Math.min(...rects.map((r) => r.top)), bottom = Math.max(...rects.map((r) => r.bottom));
  const d = doc.getBoundingClientRect();
  const words = viewer.querySelector(".rq-cited mark.rq-hl, .rq-box-answer");
  let middle = top + doc.clientHeight / 2 - 16;
  if (bottom - top < doc.clientHeight * 0.9) middle = (top + bottom) / 2;
  else if (words) {
    const w = words.getBoundingClientRect();
    middle = (w.top + w.bottom) / 2;
  }
  doc.scrollTop += middle - (d.top + d.bottom) / 2;
  if (doc.scrollWidth > doc.clientWidth) { // sideways: the lines now in view
    const seen = (marks.length ? marks : [cited]).map((m) => m.getBoundingClientRect()).filter((r) => r.bottom > d.top && r.top < d.bottom);
    const lines = seen.length ? seen : [cited.getBoundingClientRect()];
    const left = Math.min(...lines.map((r) => r.left)), right = Math.max(...lines.map((r) => r.right));
    doc.scrollLeft += right - left < doc.clientWidth ? (left + right) / 2 - (d.left + d.right) / 2 : left - d.left - 12;
  }
  return cited;
}

// Whether the cited passage is (partly) inside the viewer's scrolling area.
function citedInView(viewer) {
  const doc = viewer.querySelector(".rq-doc");
  const cited = viewer.querySelector("#rq-target");
  if (!doc || !cited) return false;
  const d = doc.getBoundingClientRect();
  const marks = [...viewer.querySelectorAll(".rq-cited, .rq-box-passage")];
  return (marks.length ? marks : [cited]).some((m) => {
    const r = m.getBoundingClientRect();
    return r.bottom > d.top && r.top < d.bottom && r.right > d.left && r.left < d.right;
  });
}

// Keeping the place. A scroll counts as the user's within a second of their wheel, touch, key or
// pointer in the viewer; a resize's own scrolling (the text reflowing) does not. While the cited
// passage is in view by the user's doing (or untouched since shown), a change of the viewer's
// size scrolls it back into view.
if (!window.__rqKeepPlace) {
  window.__rqKeepPlace = new ResizeObserver(() => {
    const viewer = document.querySelector("#rq-viewer .rq-viewer");
    if (viewer && window.__rqFollow && body.classList.contains("rq-viewer-open") && viewer.querySelector(".rq-doc").clientHeight > 0) {
      place(viewer);
    }
  });
  const byUser = () => { window.__rqUserAt = performance.now(); };
  for (const kind of ["wheel", "touchmove", "keydown", "pointerdown"]) {
    document.addEventListener(kind, (event) => { if (event.target instanceof Element && event.target.closest("#rq-viewer .rq-doc")) byUser(); },
      { passive: true, capture: true });
  }
  document.addEventListener("scroll", (event) => {
    const doc = event.target instanceof Element ? event.target.closest(".rq-doc") : null;
    if (doc && doc.closest("#rq-viewer") && performance.now() - (window.__rqUserAt || -1e9) < 1000) {
      window.__rqFollow = citedInView(doc.closest(".rq-viewer"));
    }
  }, { passive: true, capture: true });
}

watch("value", () => {
  body.classList.remove("rq-viewer-loading");
  const viewer = element.querySelector(".rq-viewer");
  if (!viewer) {
    body.classList.remove("rq-viewer-open");
    return;
  }
  body.classList.add("rq-viewer-open");
  const doc = viewer.querySelector(".rq-doc");
  const cited = place(viewer);
  const again = window.__rqRefocus && viewer.querySelector("." + window.__rqRefocus);
  window.__rqRefocus = null;
  if (again && !again.disabled) again.focus({ preventScroll: true });
  else if (cited) cited.focus({ preventScroll: true });
  else {
    const title = viewer.querySelector("#rq-viewer-title");
    if (title) title.focus({ preventScroll: true });
  }
  window.__rqFollow = true;
  window.__rqKeepPlace.disconnect();
  if (doc) window.__rqKeepPlace.observe(doc);
  // The page view counts as shown once its pages are decoded (their boxes are placed before:
  // each page's frame has the image's aspect ratio).
  const shown = () => {
    if (element.querySelector(".rq-viewer") !== viewer) return; // a newer view came meanwhile
    window.__rqShownAt = performance.now();
    window.__rqShown = viewer.dataset.rqNonce; // tests wait on this
  };
  const images = [...viewer.querySelectorAll("img.rq-sheet-img")];
  if (images.length) Promise.all(images.map((img) => img.decode().catch(() => null))).then(shown);
  else shown();
});
