"""Sync plumbing with a fake embedder (this proves bookkeeping, not retrieval)."""
import shutil
import threading

import numpy as np

import pytest

from fakes import FakeEmbedder
from index.store import IndexBusy, IndexDir, IndexUnusable, load
from index.sync import sync


REPORT_A = "Report A\n\nThe force is poor at answering calls.\n\nIt has too few detectives.\n"
REPORT_B = "Report B\n\nChildren wait too long for help.\n"


def run(lib, idx, emb, **kw):
    lines = []
    result = sync(lib, idx, embedder=emb, progress=False, out=lines.append, **kw)
    return result, lines


@pytest.fixture
def lib(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    (d / "a.txt").write_text(REPORT_A)
    (d / "b.md").write_text(REPORT_B)
    return d


def reports(idx):
    return sorted(e.report.source for e in IndexDir(idx).read_manifest().reports)


def test_first_sync_adds_everything_and_second_embeds_nothing(lib, tmp_path):
    emb, idx = FakeEmbedder(), tmp_path / "idx"
    result, lines = run(lib, idx, emb)
    assert sorted(result.added) == ["a.txt", "b.md"] and result.passages_added == 3 == result.embedded
    assert lines[0].startswith("Plan: 2 to add")
    loaded = load(IndexDir(idx), 8)
    assert len(loaded.vectors) == 3 and {p.report for p in loaded.passages.values()} == {"a", "b"}

    class Factory:  # makes the embedder only when called; a no-op sync must not call it
        spec, calls = emb.spec, 0

        def __call__(self):
            self.calls += 1
            return emb

    factory = Factory()
    result, _ = run(lib, idx, factory)
    assert factory.calls == 0 and result.unchanged == 2 and not result.committed


def test_change_rename_and_remove_touch_only_what_changed(lib, tmp_path):
    emb, idx = FakeEmbedder(), tmp_path / "idx"
    run(lib, idx, emb)
    (lib / "a.txt").write_text(REPORT_A + "\nA new finding about custody.\n")
    (lib / "b.md").rename(lib / "b-renamed.md")
    emb.embedded = 0
    result, _ = run(lib, idx, emb)
    assert result.updated == ["a.txt"] and result.renamed == ["b.md -> b-renamed.md"]
    assert result.embedded == 3  # only the changed report
    loaded = load(IndexDir(idx), 8)
    assert {p.report for p in loaded.passages.values()} == {"a", "b-renamed"}
    assert len(loaded.vectors) == 4
    (lib / "a.txt").unlink()
    result, _ = run(lib, idx, emb)
    assert result.removed == ["a.txt"] and result.passages_removed == 3
    loaded = load(IndexDir(idx), 8)
    assert {p.report for p in loaded.passages.values()} == {"b-renamed"} and len(loaded.vectors) == 1


def test_bad_file_is_reported_and_keeps_previous_passages(lib, tmp_path):
    emb, idx = FakeEmbedder(), tmp_path / "idx"
    run(lib, idx, emb)
    (lib / "a.txt").write_bytes(b"")
    (lib / "c.pdf").write_text("<!DOCTYPE html><html><body>Page Not Found</body></html>")
    result, lines = run(lib, idx, emb)
    assert "a.txt: empty file — not indexed; add the report's content" in lines
    assert any(l.startswith("c.pdf: an HTML page, not a report — not indexed") for l in lines)
    assert reports(idx) == ["a.txt", "b.md"]  # a.txt keeps its previous passages
    assert len(load(IndexDir(idx), 8).vectors) == 3


def test_identical_copy_is_not_indexed_twice(lib, tmp_path):
    shutil.copy(lib / "a.txt", lib / "copy-of-a.txt")
    result, lines = run(lib, tmp_path / "idx", FakeEmbedder())
    assert reports(tmp_path / "idx") == ["a.txt", "b.md"]
    assert any("copy-of-a.txt: same content as a.txt" in l for l in lines)


def test_index_built_with_another_model_is_refused_with_how_to_rebuild(lib, tmp_path):
    idx = tmp_path / "idx"
    run(lib, idx, FakeEmbedder("1" * 64))
    with pytest.raises(IndexUnusable, match="--rebuild"):
        run(lib, idx, FakeEmbedder("2" * 64))
    result, _ = run(lib, idx, FakeEmbedder("2" * 64), rebuild=True)
    assert sorted(result.added) == ["a.txt", "b.md"]
    assert IndexDir(idx).read_manifest().model_sha256 == "2" * 64


def test_an_index_from_an_older_chunker_is_rebuilt_by_the_next_sync(lib, tmp_path, monkeypatch):
    idx = tmp_path / "idx"
    monkeypatch.setattr("index.sync.CHUNKER_VERSION", "old")
    run(lib, idx, FakeEmbedder())
    monkeypatch.undo()
    result, lines = run(lib, idx, FakeEmbedder())
    assert any("chunked by version old" in line and "re-reading every report" in line for line in lines)
    assert sorted(result.added) == ["a.txt", "b.md"]
    manifest = IndexDir(idx).read_manifest()
    assert manifest.chunker != "old" and len(load(IndexDir(idx), 8).passages) == 3


def test_dry_run_changes_nothing(lib, tmp_path):
    emb = FakeEmbedder()
    result, lines = run(lib, tmp_path / "idx", emb, dry_run=True)
    assert lines == ["Plan: 2 to add, 0 to update, 0 to remove, 0 renamed, 0 unchanged"]
    assert emb.embedded == 0 and IndexDir(tmp_path / "idx").read_manifest() is None


def test_second_sync_at_once_is_refused(lib, tmp_path):
    store = IndexDir(tmp_path / "idx")
    with store.lock():
        with pytest.raises(IndexBusy, match="another sync is running"):
            run(lib, tmp_path / "idx", FakeEmbedder())


def test_previous_version_and_its_segments_are_kept(lib, tmp_path):
    emb, idx = FakeEmbedder(), tmp_path / "idx"
    run(lib, idx, emb)
    first = IndexDir(idx).read_manifest()
    (lib / "a.txt").write_text(REPORT_A + "\nMore.\n")
    run(lib, idx, emb)
    store = IndexDir(idx)
    assert store.read_manifest(previous=True).version == first.version
    assert all(store.has_segment(e.segment) for e in first.reports)


def test_full_disk_mid_sync_leaves_the_old_index_serving(lib, tmp_path, monkeypatch):
    import errno

    import index.store as store_module

    emb, idx = FakeEmbedder(), tmp_path / "idx"
    run(lib, idx, emb)
    before = IndexDir(idx).read_manifest()
    (lib / "c.txt").write_text("A new report arrives.\n\nWith a second paragraph.\n")
    real_write = store_module._fsync_write

    def disk_full(path, data):
        if path.suffix == ".npy":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(store_module, "_fsync_write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run(lib, idx, emb)
    monkeypatch.undo()
    after = IndexDir(idx).read_manifest()
    assert after.version == before.version and reports(idx) == ["a.txt", "b.md"]
    assert len(load(IndexDir(idx), 8).vectors) == 3
    result, _ = run(lib, idx, emb)  # with space again, the next sync completes
    assert result.added == ["c.txt"]


def test_version_artefacts_are_shared_by_equal_versions_and_collected_with_them(lib, tmp_path):
    emb, idx = FakeEmbedder(), tmp_path / "idx"
    run(lib, idx, emb)
    store = IndexDir(idx)
    first = store.read_manifest()
    built = store.save_artefact(first, "words", lambda tmp: tmp.write_text("one"))
    assert built == store.artefact(first, "words") and built.read_text() == "one"
    # Built again (another process racing): the first copy stays, no temporary file is left.
    store.save_artefact(first, "words", lambda tmp: tmp.write_text("two"))
    assert built.read_text() == "one" and [p.name for p in built.parent.iterdir()] == ["words"]
    (lib / "b.md").unlink()
    run(lib, idx, emb)
    second = store.read_manifest()
    assert second.combined_key() != first.combined_key() and built.exists()  # previous version kept
    (lib / "a.txt").write_text(REPORT_A + "\nMore.\n")
    run(lib, idx, emb)
    assert not built.exists()  # neither current nor previous: collected


def test_each_distinct_text_is_embedded_once_and_every_vector_lands_in_its_place():
    from index.passage import Passage
    from index.sync import embed_passages

    text = "One fact only."
    lone = Passage(report="r", paragraph=1, part=0, number=None, start=0, end=len(text), text=text, sentences=((0, len(text)),))
    two = "First point. Second point."
    headed = Passage(report="r", paragraph=2, part=0, number=None, start=0, end=len(two), text=two, heading="Findings",
                     sentences=((0, 12), (13, len(two))))
    emb, seen = FakeEmbedder(), []
    vectors, contexts, sentences = embed_passages(emb, [lone, headed], seen.append)
    assert emb.embedded == 5 and sum(seen) == 7  # 7 texts, 2 of them repeats of the lone passage
    expected = emb.encode(["One fact only.", "First point. Second point.", "Findings\nFirst point. Second point.",
                           "First point.", "Second point."])
    assert np.allclose(vectors, expected[[0, 1]]) and np.allclose(contexts, expected[[0, 2]])
    assert np.allclose(sentences, expected[[0, 3, 4]])


def test_the_progress_total_is_exact_once_every_report_is_read():
    from index.sync import Estimate

    estimate = Estimate(300)
    assert estimate.read(100, 50) == 50 + 100  # 200 bytes left at half a text per byte
    assert estimate.read(200, 40) == 90


def test_a_sync_that_fails_while_embedding_stops_reading_and_leaves_the_index(lib, tmp_path):
    emb, idx = FakeEmbedder(), tmp_path / "idx"
    run(lib, idx, emb)
    for i in range(6):
        (lib / f"new{i}.txt").write_text(f"Report {i}\n\nA finding numbered {i}.\n")

    class Failing(FakeEmbedder):
        def encode(self, texts, progress=None):
            raise OSError("disk gone")

    before = IndexDir(idx).read_manifest()
    with pytest.raises(OSError, match="disk gone"):
        run(lib, idx, Failing())
    assert IndexDir(idx).read_manifest() == before
    assert not [t for t in threading.enumerate() if t.name == "report-reader"]  # the reader was let go
