"""A bounded, seeded fuzz run of the PDF reader: `python bench/fuzz_pdf.py` (hundreds of inputs,
about five minutes), or `--quick` for a few dozen in seconds (`make test` runs it).

Inputs are made from the PDFs of ../shared/corpus/pdf-edge-cases (the quick run: from tests/data)
and from small PDFs built here, by eight kinds of mutation:

- ``flip``: a few bytes anywhere flipped; ``stream-flip``: bytes inside a stream's data flipped
  (compressed data, mostly); ``truncate``: the file cut short;
- ``nested-flate``: a page's text compressed 2 to 300 times over (``/Filter [/FlateDecode ...]``);
- ``bomb``: streams that inflate to hundreds of MB or more: one stream, a stream inside a
  stream, the same big stream drawn 60 times, pages that each draw a 70 MB image (each page
  under pypdf's limit, gigabytes together), 35 MB of operators; and work that grows with the
  square of the text: one sentence 200 pages long (a report to index, in time);
- ``xref-loop``: cross-reference sections whose ``/Prev`` points at themselves or at each other
  (built, and written into the corpus files), ``startxref`` pointing at itself;
- ``cycle``: a page tree that contains itself, kids and parents in a loop, references that
  resolve to each other, a stream whose ``/Length`` is itself, a form that draws itself,
  arrays nested 100,000 deep;
- ``unicode-map``: a font's map to Unicode giving halves of UTF-16 pairs, ranges of 65,536 and
  4 billion codes, random bytes.

Each input goes through a real sync (parsing in the child process of index.parse, within the
limits below; a fake embedder, since this is about reading) into an index that already holds a
good report. Every outcome must be a report indexed or one of the documented one-line errors;
no sync may outlast the time limit (plus the time to stop the child) and no child may use more
memory than the cap; after each refusal the index is unchanged (same manifest file, the good
report's segment files intact) and the bad file is reported, not indexed. An input that breaks
a rule is written to bench/out/fuzz-pdf/ to reproduce it.

It prints a table of inputs by kind and outcome, the errors by cause, the slowest inputs, and
then one JSON line; it exits 1 if any rule was broken. ``--list`` prints each input as it is
tried, ``--records FILE`` writes each as a JSON line.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fakes import FakeEmbedder  # noqa: E402
from index.parse import Limits  # noqa: E402
from index.store import IndexDir  # noqa: E402
from index.sync import sync  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pdf-edge-cases"
DATA = ROOT / "tests" / "data"
GOOD_REPORT = DATA / "80468_essex__ilacs_07-january-2019.pdf"
QUICK_SEEDS = ("crazyones.pdf", "T01_001_header-invalid-major-version.pdf", "r6-empty-password.pdf",
               "imagemagick-lzw.pdf")
OUT = ROOT / "bench" / "out" / "fuzz-pdf"
KINDS = ("flip", "stream-flip", "truncate", "nested-flate", "bomb", "xref-loop", "cycle", "unicode-map")
MAX_SEED_BYTES = 1_000_000  # larger corpus files take seconds each to parse: they add time, not cases
SLACK_SECONDS = 5.0  # beyond the time limit: stopping the child, the sync's own work

# The one-line errors index.read, index.pdf, index.parse and index.sync give, by outcome name.
DOCUMENTED = [
    ("malformed", r"malformed PDF \((?!nesting too deep\)|no pages\)).+\)"),
    ("nesting too deep", r"malformed PDF \(nesting too deep\)"),
    ("no pages", r"malformed PDF \(no pages\)"),
    ("no text layer", r"no text layer \(scanned\?\)"),
    ("encrypted", r"encrypted PDF (needing a password|that cannot be opened here \(.*\))"),
    ("time limit", r"parsing took over \d+ s"),
    ("memory cap", r"parsing needed over \d+ MB of memory|parsing ran out of memory"),
    ("parser crashed", r"the PDF parser crashed \(exit -?\d+\)"),
    ("too many pages", r"\d+ pages, over the \d+-page limit"),
    ("too large", r"file is \d+ MB, over the \d+ MB limit"),
    ("not a PDF", r"named \.pdf but is not a PDF|empty file|binary data, not a PDF or text|an HTML page, not a report"),
    ("no paragraphs", r"no paragraphs of text found"),
]
ERROR_LINE = re.compile(r"^(?P<source>\S+\.pdf): (?P<reason>.+) — (?P<action>not indexed.*)$")


# --- building PDFs ---------------------------------------------------------------------------

TEXT = b"BT /F1 12 Tf 72 720 Td (The inspectors found that children were safe and well supported.) Tj ET"


def stream(data: bytes, filters: int = 0, extra: bytes = b"") -> bytes:
    """A stream object's body: ``data`` (already encoded) with ``filters`` FlateDecode filters."""
    names = b" ".join([b"/FlateDecode"] * filters)
    decode = b" /Filter [" + names + b"]" if filters else b""
    return b"<< /Length %d%s%s >>\nstream\n%s\nendstream" % (len(data), decode, extra, data)


def flate(data: bytes, times: int = 1) -> bytes:
    for _ in range(times):
        data = zlib.compress(data, 9)
    return data


def build(objects: dict[int, bytes], trailer: bytes = b"", prev: str | None = None) -> bytes:
    """A PDF of ``objects`` (number -> body) with a correct cross-reference table; object 1 is
    the catalog. ``prev="self"`` points the trailer's ``/Prev`` at its own table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    prev_entry = b" /Prev %d" % xref if prev == "self" else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, prev_entry, trailer, xref)
    return bytes(out)


def one_page(content: bytes, page_extra: bytes = b"", pages_extra: bytes = b"", more: dict | None = None) -> dict:
    """The objects of a one-page PDF whose page draws ``content`` (a stream object's body)."""
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1%s >>" % pages_extra,
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
           b"/Contents 5 0 R%s >>" % page_extra,
        4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        5: content,
        **(more or {}),
    }


_BOMBS: dict = {}


def spaces_inflating_to(size: int) -> bytes:
    """Deflated spaces that inflate to ``size`` bytes (made once per size, then reused)."""
    if size not in _BOMBS:
        compressor, block = zlib.compressobj(9), b" " * (1 << 20)
        parts = [compressor.compress(block) for _ in range(size >> 20)]
        _BOMBS[size] = b"".join(parts) + compressor.flush()
    return _BOMBS[size]


def image_pages(pages: int, mb: int) -> bytes:
    """A PDF of ``pages`` pages, each drawing an inline image of ``mb`` MB (deflated zeros) and
    then a line of text: each page is within pypdf's limits, all of them together are not."""
    if ("image", mb) not in _BOMBS:
        compressor = zlib.compressobj(9)
        parts = [compressor.compress(b"BI /W 1000 /H %d /BPC 8 /CS /G ID " % (mb * 1000))]
        parts += [compressor.compress(bytes(1_000_000)) for _ in range(mb)]
        _BOMBS[("image", mb)] = b"".join(parts) + compressor.compress(b" EI " + TEXT) + compressor.flush()
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for n in range(pages):
        page, content = 10 + 2 * n, 11 + 2 * n
        kids.append(b"%d 0 R" % page)
        objects[page] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
                         b"/Contents %d 0 R >>" % content)
        objects[content] = stream(_BOMBS[("image", mb)], 1)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    return build(objects)


_PROSE = b"and the inspectors found that children in care were safe while leaders knew their services well".split()


def run_on_pages(pages: int, lines: int = 40) -> bytes:
    """A PDF of ``pages`` full pages of one sentence that never ends: no full stop, no gap, each
    page carrying on the last, so the reader makes one paragraph of it all."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for n in range(pages):
        page, content = 10 + 2 * n, 11 + 2 * n
        kids.append(b"%d 0 R" % page)
        text = b" 0 -14 Td ".join(b"(%s) Tj" % b" ".join(_PROSE[(7 * n + 3 * i + j) % len(_PROSE)] for j in range(10))
                                  for i in range(lines))
        objects[page] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
                         b"/Contents %d 0 R >>" % content)
        objects[content] = stream(flate(b"BT /F1 10 Tf 72 760 Td " + text + b" ET"), 1)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    return build(objects)


# --- mutations -------------------------------------------------------------------------------
# Each takes the random generator, the seed file's bytes, the run's scale (1 quick, 4 full) and
# how many of its kind came before (the built ones take their variants in turn, so a short run
# still tries each), and returns (what was done, the bytes, whether they were made from the seed).

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)


def flip(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    out = bytearray(data)
    n = rnd.randint(1, 16)
    for _ in range(n):
        out[rnd.randrange(len(out))] ^= 1 << rnd.randrange(8)
    return f"{n} bytes flipped", bytes(out), True


def stream_flip(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    spans = [m.span(1) for m in _STREAM.finditer(data) if m.end(1) > m.start(1)]
    if not spans:
        return flip(rnd, data, scale, turn)
    start, end = rnd.choice(spans)
    out = bytearray(data)
    n = rnd.randint(1, 8)
    for _ in range(n):
        out[rnd.randrange(start, end)] = rnd.randrange(256)
    return f"{n} bytes of a {end - start}-byte stream changed", bytes(out), True


def truncate(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    cut = rnd.choice([rnd.randrange(len(data)), len(data) - rnd.randint(1, min(len(data), 64))])
    return f"cut at {cut} of {len(data)} bytes", data[:cut], True


def nested_flate(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    times = (2, 3, 8, 40, 300)[turn % 5]
    return f"text deflated {times} times", build(one_page(stream(flate(TEXT, times), times))), False


def bomb(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    variant = ("one", "nested", "drawn 60 times", "pages of images", "operators", "endless sentence")[turn % 6]
    if variant == "one":
        size = (256 if scale > 1 else 128) << 20
        return f"a stream inflating to {size >> 20} MB", build(one_page(stream(spaces_inflating_to(size), 1))), False
    if variant == "nested":
        size = (1024 if scale > 1 else 128) << 20
        inner = spaces_inflating_to(size)
        return f"a stream inside a stream, {size >> 20} MB", build(one_page(stream(flate(inner), 2))), False
    if variant == "drawn 60 times":  # each under pypdf's 75 MB per stream, 4 GB together
        refs = b" ".join([b"6 0 R"] * 60)
        objects = one_page(b"", more={6: stream(spaces_inflating_to(70 << 20), 1)})
        objects[3] = objects[3].replace(b"/Contents 5 0 R", b"/Contents [%s]" % refs)
        del objects[5]
        return "a 70 MB stream drawn 60 times", build(objects), False
    if variant == "pages of images":
        pages = 60 if scale > 1 else 30
        return f"{pages} pages, each a 70 MB image", image_pages(pages, 70), False
    if variant == "endless sentence":
        pages = 200 if scale > 1 else 40
        return f"one sentence {pages} pages long", run_on_pages(pages), False
    ops = b"q Q " * (35_000_000 // 4)
    return "35 MB of q/Q operators", build(one_page(stream(flate(ops), 1))), False


def xref_loop(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    variant = ("prev self in the seed", "prev self", "prev each other", "startxref self")[turn % 4]
    if variant == "prev self":
        return "/Prev of the only xref points at itself", build(one_page(stream(TEXT)), prev="self"), False
    if variant == "prev each other":
        first = build(one_page(stream(TEXT)), trailer=b"/Prev 0000000000")
        xref1 = int(re.findall(rb"startxref\n(\d+)", first)[-1])
        update = b"6 0 obj\n<< /Note (an update) >>\nendobj\n"
        xref2 = len(first) + len(update)
        section = b"xref\n6 1\n%010d 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(first), xref1, xref2)
        first = first.replace(b"/Prev 0000000000", b"/Prev %010d" % xref2)
        return "two xref sections whose /Prev point at each other", first + update + section, False
    if variant == "startxref self":
        pdf = build(one_page(stream(TEXT)))
        at = pdf.rindex(b"startxref")
        return "startxref points at itself", pdf[:at] + b"startxref\n%d\n%%%%EOF\n" % at, False
    found = re.findall(rb"startxref\s+(\d+)", data)
    xref = int(found[-1]) if found else len(data)
    dict_at = data.find(b"<<", xref) if xref < len(data) else -1
    if dict_at < 0:  # the seed has no trailer to write into: a built file instead
        return xref_loop(rnd, data, scale, 1)
    return f"/Prev {xref} written into its last trailer", data[:dict_at + 2] + b" /Prev %d " % xref + data[dict_at + 2:], True


def cycle(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    variant = ("pages contain themselves", "kids loop", "parents loop", "references loop", "length is itself",
               "form draws itself", "nested 100,000 deep")[turn % 7]
    page = one_page(stream(TEXT))
    if variant == "pages contain themselves":
        page[2] = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"
    elif variant == "kids loop":
        page[2] = b"<< /Type /Pages /Kids [6 0 R 3 0 R] /Count 2 >>"
        page[6] = b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"
    elif variant == "parents loop":  # no /Resources on the page: they are looked up its parents
        page[3] = page[3].replace(b"/Resources << /Font << /F1 4 0 R >> >> ", b"").replace(b"/Parent 2 0 R", b"/Parent 6 0 R")
        page[6] = b"<< /Type /Pages /Parent 7 0 R /Kids [3 0 R] /Count 1 >>"
        page[7] = b"<< /Type /Pages /Parent 6 0 R /Kids [6 0 R] /Count 1 >>"
    elif variant == "references loop":
        page[3] = page[3].replace(b"/Contents 5 0 R", b"/Contents 6 0 R")
        page[6], page[7] = b"7 0 R", b"6 0 R"
    elif variant == "length is itself":
        page[5] = page[5].replace(b"/Length %d" % len(TEXT), b"/Length 5 0 R")
    elif variant == "form draws itself":
        page[3] = page[3].replace(b"/Font << /F1 4 0 R >>", b"/Font << /F1 4 0 R >> /XObject << /X0 6 0 R >>")
        page[5] = stream(TEXT + b" /X0 Do")
        draw = TEXT + b" /X0 Do"
        page[6] = stream(draw, extra=b" /Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                                     b"/Resources << /Font << /F1 4 0 R >> /XObject << /X0 6 0 R >> >>")
    else:
        depth = 100_000
        page[3] = page[3].replace(b"/Contents 5 0 R", b"/Contents 5 0 R /Deep " + b"[" * depth + b"]" * depth)
    return variant, build(page), False


_CMAP = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Fuzz def 1 begincodespacerange "
         b"<00> <FF> endcodespacerange %s endcmap CMapName currentdict /CMap defineresource pop end end")


def unicode_map(rnd: random.Random, data: bytes, scale: int, turn: int) -> tuple[str, bytes, bool]:
    variant = ("half a UTF-16 pair", "4 billion codes", "65,536 codes", "random bytes")[turn % 4]
    entries = {
        "half a UTF-16 pair": b"2 beginbfchar <41> <D800> <42> <DC00> endbfchar",
        "4 billion codes": b"1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange",
        "65,536 codes": b"1 beginbfrange <0000> <FFFF> <0041> endbfrange",
    }.get(variant) or bytes(rnd.randrange(256) for _ in range(2000))
    page = one_page(stream(b"BT /F1 12 Tf 72 720 Td (The inspectors found AB children were safe and well supported) Tj ET"))
    page[4] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    page[6] = stream(_CMAP % entries)
    return f"a font's map to Unicode: {variant}", build(page), False


MUTATIONS = {"flip": flip, "stream-flip": stream_flip, "truncate": truncate, "nested-flate": nested_flate,
             "bomb": bomb, "xref-loop": xref_loop, "cycle": cycle, "unicode-map": unicode_map}


@dataclass(frozen=True)
class Mutant:
    """One input: what it was made from and how."""

    number: int
    kind: str
    seed: str  # the corpus file it was made from, or "built"
    detail: str
    data: bytes = field(repr=False)

    @property
    def name(self) -> str:
        return f"mutant-{self.number:04d}-{self.kind}.pdf"


def mutants(seeds: list[Path], count: int, rnd: random.Random, scale: int):
    """``count`` inputs, the kinds taken in turn, seed files at random."""
    cache: dict[Path, bytes] = {}
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        seed = rnd.choice(seeds)
        data = cache.setdefault(seed, seed.read_bytes())
        detail, mutated, from_seed = MUTATIONS[kind](rnd, data, scale, number // len(KINDS))
        yield Mutant(number, kind, seed.name if from_seed else "built", detail, mutated)


# --- running and judging ---------------------------------------------------------------------


class ChildMemory:
    """The peak resident memory (VmHWM) of this process's parser children, sampled while a sync
    runs (index.parse starts its child from the sync's reader thread)."""

    def __init__(self, every: float = 0.005):
        self.every, self.peak = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "ChildMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for children in Path("/proc/self/task").glob("*/children"):
                try:
                    pids = children.read_text().split()
                except OSError:
                    continue
                for pid in pids:
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue
                    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
                    if m:
                        self.peak = max(self.peak, int(m.group(1)) * 1024)
            self._stop.wait(self.every)


def classify(reason: str) -> str | None:
    for name, pattern in DOCUMENTED:
        if re.fullmatch(pattern, reason):
            return name
    return None


def cause(reason: str) -> str:
    """The exception type inside "malformed PDF (Type: ...)", for the table of causes."""
    m = re.match(r"malformed PDF \((\w+)", reason)
    return m.group(1) if m else reason


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Library:
    """A library holding one good report and its index; each mutant is added to it, synced, and
    taken out again."""

    def __init__(self, work: Path, limits: Limits):
        self.lib, self.idx, self.limits = work / "library", work / "index", limits
        self.lib.mkdir()
        shutil.copy(GOOD_REPORT, self.lib / GOOD_REPORT.name)
        result = self.sync()
        if result.added != [GOOD_REPORT.name]:
            raise SystemExit(f"{GOOD_REPORT}: the good report did not index ({result.errors}); nothing to fuzz against")
        self.store = IndexDir(self.idx)
        self.good = self.store.read_manifest().reports[0]
        self.good_segment = self.segment_files()

    def sync(self):
        return sync(self.lib, self.idx, embedder=FakeEmbedder(), progress=False, out=lambda line: None,
                    limits=self.limits)

    def segment_files(self) -> dict[str, str]:
        return {p.name: digest(p) for p in sorted(self.store.segments_dir.glob(self.good.segment + ".*"))}

    def manifest_bytes(self) -> bytes:
        return self.store.manifest_path().read_bytes()


@dataclass
class Outcome:
    mutant: Mutant
    outcome: str  # "indexed", a DOCUMENTED name, or "undocumented"
    message: str
    seconds: float
    peak_rss: int
    problems: list[str] = field(default_factory=list)

    def record(self) -> dict:
        m = self.mutant
        return {"input": m.name, "kind": m.kind, "seed": m.seed, "detail": m.detail, "outcome": self.outcome,
                "message": self.message, "seconds": round(self.seconds, 2), "peak_rss_mb": self.peak_rss >> 20,
                "problems": self.problems}


def try_one(library: Library, mutant: Mutant) -> Outcome:
    """Add the mutant to the library, sync, judge what happened, and take it out again."""
    path = library.lib / mutant.name
    path.write_bytes(mutant.data)
    before = library.manifest_bytes()
    problems: list[str] = []
    started = time.monotonic()
    with ChildMemory() as memory:
        try:
            result = library.sync()
        except Exception as exc:  # noqa: BLE001 - a sync that raises is what this run looks for
            result, problems = None, [f"sync raised {type(exc).__name__}: {str(exc)[:200]}"]
    seconds = time.monotonic() - started
    outcome, message = "undocumented", ""
    if result is not None:
        if result.added == [mutant.name] and not result.errors:
            outcome, message = "indexed", f"{result.passages_added} passages"
        elif len(result.errors) == 1 and not result.added:
            message = result.errors[0]
            line = ERROR_LINE.match(message)
            if "\n" in message or not line or line.group("source") != mutant.name:
                problems.append(f"not a one-line error naming the file: {message[:300]!r}")
            else:
                outcome = classify(line.group("reason")) or "undocumented"
                if outcome == "undocumented":
                    problems.append(f"undocumented error: {message[:300]!r}")
            if library.manifest_bytes() != before:
                problems.append("the index changed after a refusal")
            manifest = library.store.read_manifest()
            if any(e.report.source == mutant.name for e in manifest.reports):
                problems.append("refused but indexed")
        else:
            problems.append(f"unexpected sync result: added {result.added}, errors {result.errors}")
    if seconds > library.limits.seconds + SLACK_SECONDS:
        problems.append(f"took {seconds:.1f} s, over the {library.limits.seconds:.0f} s limit")
    if memory.peak > library.limits.memory:
        problems.append(f"parser used {memory.peak >> 20} MB, over the {library.limits.memory >> 20} MB cap")
    path.unlink()
    if outcome == "indexed":
        library.sync()  # take it out again
    manifest = library.store.read_manifest()
    good = [e for e in manifest.reports if e.report.source == GOOD_REPORT.name]
    if [e.to_json() for e in good] != [library.good.to_json()] or library.segment_files() != library.good_segment:
        problems.append("the good report's entry or segment changed")
    if len(manifest.reports) != 1:
        problems.append(f"the index holds {len(manifest.reports)} reports after the mutant was taken out")
    return Outcome(mutant, outcome, message, seconds, memory.peak, problems)


# --- the report --------------------------------------------------------------------------------


def table(head: list[str], rows: list[list]) -> str:
    lines = [head] + [[str(c) for c in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def report(outcomes: list[Outcome], limits: Limits, seconds: float, seed: int, quick: bool, seeds: int) -> dict:
    kinds = [k for k in KINDS if any(o.mutant.kind == k for o in outcomes)]
    names = ["indexed"] + [n for n, _ in DOCUMENTED] + ["undocumented"]
    names = [n for n in names if any(o.outcome == n for o in outcomes)]
    by_kind = {k: Counter(o.outcome for o in outcomes if o.mutant.kind == k) for k in kinds}
    rows = [[k, sum(by_kind[k].values()), *[by_kind[k][n] or "" for n in names]] for k in kinds]
    totals = Counter(o.outcome for o in outcomes)
    rows.append(["all", len(outcomes), *[totals[n] for n in names]])
    print(table(["mutation", "inputs", *names], rows))
    causes = Counter(cause(ERROR_LINE.match(o.message).group("reason")) for o in outcomes
                     if o.outcome == "malformed" and ERROR_LINE.match(o.message))
    if causes:
        print()
        print(table(["malformed PDF: pypdf's exception", "inputs"], [[c, n] for c, n in causes.most_common()]))
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:5]
    print()
    print(table(["slowest inputs", "seconds", "outcome", "peak MB"],
                [[f"{o.mutant.kind}: {o.mutant.detail} ({o.mutant.seed})", f"{o.seconds:.1f}", o.outcome,
                  o.peak_rss >> 20] for o in slowest]))
    peaks = [o.peak_rss for o in outcomes if o.peak_rss]
    violations = [o.record() for o in outcomes if o.problems]
    print()
    for v in violations:
        print(f"VIOLATION {v['input']} ({v['detail']}, from {v['seed']}): {'; '.join(v['problems'])}")
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    figures = {
        "quick": quick, "seed": seed, "inputs": len(outcomes), "seed_files": seeds, "seconds": round(seconds, 1),
        "limit_seconds": limits.seconds, "limit_memory_mb": limits.memory >> 20,
        "outcomes": dict(totals), "by_kind": {k: dict(v) for k, v in by_kind.items()},
        "malformed_causes": dict(causes),
        "slowest_s": round(slowest[0].seconds, 2) if slowest else 0.0,
        "slowest": f"{slowest[0].mutant.kind}: {slowest[0].mutant.detail}" if slowest else "",
        "median_s": round(statistics.median(o.seconds for o in outcomes), 2) if outcomes else 0.0,
        "peak_rss_mb": max(peaks, default=0) >> 20, "median_peak_rss_mb": int(statistics.median(peaks)) >> 20 if peaks else 0,
        "children_peak_rss_mb": children_peak >> 20,
        "violations": violations,
    }
    print(f"{len(outcomes)} inputs from {seeds} seed files in {seconds:.0f} s; {len(violations)} broke a rule; "
          f"slowest {figures['slowest_s']} s; parser peak {figures['peak_rss_mb']} MB sampled, "
          f"{figures['children_peak_rss_mb']} MB by rusage (cap {limits.memory >> 20} MB)")
    print(json.dumps(figures))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few dozen inputs from tests/data, in seconds")
    parser.add_argument("--seed", type=int, default=20261202, help="the random seed (same seed, same inputs)")
    parser.add_argument("--count", type=int, help="inputs to try (default 48 quick, 600 full)")
    parser.add_argument("--budget", type=float, help="stop making inputs after this many seconds (default 300; quick 120)")
    parser.add_argument("--seconds", type=float, help="parse time allowed per file (default 10; quick 3)")
    parser.add_argument("--memory-mb", type=int, help="address space allowed to the parser (default 1024; quick 512)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of seed PDFs (full run)")
    parser.add_argument("--list", action="store_true", help="print each input's outcome as it is tried")
    parser.add_argument("--records", type=Path, help="write each input's outcome to this file, one JSON line each")
    args = parser.parse_args(argv)
    count = args.count or (48 if args.quick else 600)
    budget = args.budget or (120.0 if args.quick else 300.0)
    limits = Limits(seconds=args.seconds or (3.0 if args.quick else 10.0),
                    memory=(args.memory_mb or (512 if args.quick else 1024)) << 20)
    if args.quick:
        seeds = [DATA / name for name in QUICK_SEEDS]
    else:
        if not args.corpus.is_dir():
            print(f"{args.corpus}: corpus folder not found; pass --corpus DIR or --quick", file=sys.stderr)
            return 2
        seeds = sorted(p for p in args.corpus.rglob("*.pdf") if 0 < p.stat().st_size <= MAX_SEED_BYTES)
    rnd = random.Random(args.seed)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-pdf-") as work:
        library = Library(Path(work), limits)
        for mutant in mutants(seeds, count, rnd, 1 if args.quick else 4):
            if time.monotonic() - started > budget:
                break
            outcome = try_one(library, mutant)
            outcomes.append(outcome)
            if args.list:
                print(f"{mutant.name} {mutant.detail} ({mutant.seed}): {outcome.outcome} in {outcome.seconds:.1f} s, "
                      f"{outcome.peak_rss >> 20} MB; {outcome.message}", flush=True)
            if args.records:
                with args.records.open("a") as f:
                    f.write(json.dumps(outcome.record()) + "\n")
            if outcome.problems:
                OUT.mkdir(parents=True, exist_ok=True)
                (OUT / mutant.name).write_bytes(mutant.data)
    figures = report(outcomes, limits, time.monotonic() - started, args.seed, args.quick, len(seeds))
    return 1 if figures["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
