// The source viewer's behaviour: the body of the viewer gr.HTML's js_on_load (see app.py),
// run by Gradio with `element` (the viewer), `trigger` (sends an event to Python) and `watch`.
//
// One click listener on the document serves the whole page, so citations rendered later (new
// answers, the sources panel, previous/next in the viewer, "Read" in the reports view) need no
// wiring of their own:
//   [data-rq-n]       a citation: trigger('cite', {turn, n}); Python renders the viewer
//   [data-rq-report]  a report:   trigger('cite', {report})
//   [data-rq-copy]    copy the answer's Markdown to the clipboard
//   [data-rq-close]   close the viewer (so does Escape); focus returns to what opened it
// When Python's new viewer HTML arrives, watch('value') opens the drawer, scrolls the cited
// paragraph (#rq-target) into view and moves focus to it.

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
      window.__rqClickAt = performance.now();
      body.classList.add("rq-viewer-open", "rq-viewer-loading");
      const d = cite.dataset;
      window.__rqTrigger("cite", d.rqReport !== undefined ? { report: d.rqReport } : { turn: Number(d.rqTurn), n: Number(d.rqN) });
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

watch("value", () => {
  body.classList.remove("rq-viewer-loading");
  const viewer = element.querySelector(".rq-viewer");
  if (!viewer) {
    body.classList.remove("rq-viewer-open");
    return;
  }
  body.classList.add("rq-viewer-open");
  const doc = viewer.querySelector(".rq-doc");
  const cited = viewer.querySelector("#rq-target");
  if (cited && doc) {
    // A passage that fits sits mid-panel; a longer one (it may span paragraphs) is placed so
    // that the answer's first highlighted words show, else its start.
    const marks = viewer.querySelectorAll(".rq-cited");
    const last = marks[marks.length - 1];
    const height = last.getBoundingClientRect().bottom - cited.getBoundingClientRect().top;
    const words = viewer.querySelector(".rq-cited mark.rq-hl");
    if (height < doc.clientHeight * 0.7) cited.scrollIntoView({ block: "center" });
    else if (words) words.scrollIntoView({ block: "center" });
    else cited.scrollIntoView({ block: "start" });
    cited.focus({ preventScroll: true });
  } else {
    if (doc) doc.scrollTop = 0;
    const title = viewer.querySelector("#rq-viewer-title");
    if (title) title.focus({ preventScroll: true });
  }
  window.__rqShownAt = performance.now();
  window.__rqShown = viewer.dataset.rqNonce; // tests wait on this
});
