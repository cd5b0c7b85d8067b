"""kill -9 a real sync process at random moments: the index must always load and match either
the library before the sync or the library after it."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakes import FakeEmbedder
from index.store import IndexDir, load, passage_key
from index.sync import file_sha256, sync

CHILD = Path(__file__).resolve().parent.parent / "crash_child.py"
KILLS = 60


def write_report(lib: Path, name: str, seed: int, paragraphs: int = 40) -> None:
    rnd = random.Random(seed)
    words = "force officers victims abuse inspection report children safeguarding crime partners".split()
    paras = [" ".join(rnd.choice(words) for _ in range(25)).capitalize() + "." for _ in range(paragraphs)]
    (lib / name).write_text("\n\n".join(paras) + "\n")


def library_state(lib: Path) -> set[tuple[str, str]]:
    return {(p.name, file_sha256(p)) for p in lib.iterdir() if p.suffix == ".txt"}


def index_state(idx: Path) -> set[tuple[str, str]]:
    """What the index holds, after checking it loads whole and is self-consistent."""
    store = IndexDir(idx)
    loaded = load(store, 8)
    manifest = loaded.manifest
    expected = sum(e.report.passages for e in manifest.reports)
    assert len(loaded.vectors) == len(loaded.passages) == expected
    for e in manifest.reports:
        for p in store.read_passages(e):
            assert passage_key(e.segment, p) in loaded.passages
    return {(e.report.source, e.report.sha256) for e in manifest.reports}


def mutate(lib: Path, rnd: random.Random, step: int) -> None:
    """Add, change or remove a report or two."""
    names = sorted(p.name for p in lib.iterdir())
    action = rnd.choice(["add", "change", "remove"] if len(names) > 2 else ["add"])
    if action == "add":
        write_report(lib, f"r{step}.txt", 100 + step)
    elif action == "change":
        write_report(lib, rnd.choice(names), 1000 + step)
    else:
        (lib / rnd.choice(names)).unlink()
    if rnd.random() < 0.5:
        write_report(lib, f"extra{step}.txt", 2000 + step)


def test_kill_9_at_random_moments_leaves_the_old_or_the_new_index(tmp_path):
    lib, idx = tmp_path / "lib", tmp_path / "idx"
    lib.mkdir()
    for i in range(3):
        write_report(lib, f"base{i}.txt", i)
    sync(lib, idx, embedder=FakeEmbedder(), progress=False, out=lambda l: None)
    rnd = random.Random(20261128)
    # How long one whole sync takes on this machine now (start-up included), so the kills land
    # all over it however busy the machine is.
    write_report(lib, "timing.txt", 999)
    started = time.monotonic()
    subprocess.run([sys.executable, str(CHILD), str(lib), str(idx)], check=True, stdout=subprocess.DEVNULL)
    duration = time.monotonic() - started
    outcomes = {"old": 0, "new": 0}
    for step in range(KILLS):
        before = index_state(idx)
        mutate(lib, rnd, step)
        after = library_state(lib)
        child = subprocess.Popen([sys.executable, str(CHILD), str(lib), str(idx)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.3, 2.0) * duration)  # a step may embed twice what the timing sync did
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        state = index_state(idx)
        assert state in (before, after), f"kill {step}: index matches neither the old nor the new library"
        outcomes["old" if state == before and before != after else "new"] += 1
        if state != after:
            # Catch up, as the next sync a user runs would: it must finish what the killed one
            # left half done. Each step then has one step's work, so the kills land all over it
            # (otherwise unfinished work piles up and late kills all fall before the switch).
            sync(lib, idx, embedder=FakeEmbedder(), progress=False, out=lambda l: None)
            assert index_state(idx) == after, f"kill {step}: the next sync did not bring the index to the library"
    # The kills must have landed both before and after the switch, or the test proved little.
    assert outcomes["old"] >= 5 and outcomes["new"] >= 5, outcomes
    # After all that, a complete sync still brings the index to the library, and cleans up.
    sync(lib, idx, embedder=FakeEmbedder(), progress=False, out=lambda l: None)
    assert index_state(idx) == library_state(lib)
    current = IndexDir(idx).read_manifest().segments() | IndexDir(idx).read_manifest(previous=True).segments()
    left = {f.name.split(".")[0] for f in (idx / "segments").iterdir()}
    assert left <= current
