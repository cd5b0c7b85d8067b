"""Approximate search of large libraries (index.approximate, index.vectors.ApproximateIndex):
plumbing with a fake embedder and seeded vectors, the threshold lowered so that tiny libraries
count as large. Whether approximate search is good enough on real text is measured, not tested,
by bench/scale.py (recall@10 against exact search with the gold questions)."""
import json

import numpy as np
import pytest

from fakes import FakeEmbedder
from index import approximate
from index.store import IndexDir, load
from index.sync import sync
from index.vectors import ApproximateIndex, VectorIndex
from qa.retrieve import retrieve, start_lexical

PARAGRAPHS = [
    "The force answers emergency calls quickly.", "Too few detectives investigate serious crime.",
    "Children wait too long for mental health help.", "Leaders know their services well.",
    "Domestic abuse victims get a good first response.", "Records of missing children are incomplete.",
]


def clustered(n: int, dimension: int, clusters: int, seed: int) -> np.ndarray:
    """Seeded unit vectors around a few centres, like embeddings of texts on a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension))
    x = centres[rng.integers(0, clusters, n)] + 0.4 * rng.standard_normal((n, dimension))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def write_reports(lib, names, seed=0):
    rng = np.random.default_rng(seed)
    for name in names:
        picked = rng.choice(len(PARAGRAPHS), size=4, replace=False)
        (lib / f"{name}.txt").write_text(f"{name}\n\n" + "\n\n".join(f"{PARAGRAPHS[i]} In {name}." for i in picked) + "\n")


def run(lib, idx, emb):
    lines = []
    result = sync(lib, idx, embedder=emb, progress=False, out=lines.append)
    return result, lines


@pytest.fixture
def large(monkeypatch, tmp_path):
    """Every library counts as large."""
    monkeypatch.setenv("REPORTQA_APPROXIMATE_ABOVE", "0")
    lib = tmp_path / "lib"
    lib.mkdir()
    return lib, tmp_path / "idx"


def test_approximate_index_finds_the_exact_top_results_on_seeded_vectors():
    vectors = clustered(3000, 16, 12, seed=1)
    ids = np.arange(3000, dtype=np.int64) * 7919 + (1 << 40)  # any int64 ids
    exact = VectorIndex(16)
    exact.add(ids, vectors)
    approx = ApproximateIndex(16, nlist=16, nprobe=6)
    approx.train(vectors)
    approx.add(ids, vectors)
    queries = clustered(50, 16, 12, seed=2)
    overlap = [len(set(approx.search(q, 10)[0]) & set(exact.search(q, 10)[0])) / 10 for q in queries]
    assert np.mean(overlap) >= 0.95
    np.testing.assert_allclose(approx.get(ids[5]), vectors[5], atol=1e-3)  # in half precision
    np.testing.assert_allclose(approx.get_many(ids[[9, 2]]), vectors[[9, 2]], atol=1e-3)
    few = ids[100:130]  # a few allowed ids: compared one by one, exactly
    got, scores = approx.search(queries[0], 5, allowed=few)
    want, want_scores = exact.search(queries[0], 5, allowed=few)
    assert got.tolist() == want.tolist() and np.allclose(scores, want_scores, atol=5e-4)  # 16 dimensions: coarser


def test_approximate_index_removes_saves_and_maps_read_only(tmp_path):
    vectors = clustered(500, 8, 4, seed=3)
    index = ApproximateIndex(8, nlist=4, nprobe=4)
    index.train(vectors)
    index.add(np.arange(500), vectors)
    assert index.remove(np.arange(100)) == 100 and len(index) == 400
    assert not set(index.search(vectors[0], 400)[0].tolist()) & set(range(100))
    index.save(tmp_path / "v.ivf")
    mapped = ApproximateIndex.load(tmp_path / "v.ivf", mmap=True)
    assert len(mapped) == 400 and mapped.nprobe == 4
    np.testing.assert_allclose(mapped.get(250), vectors[250], atol=1e-3)
    with pytest.raises(ValueError, match="mapped read-only"):
        mapped.remove(np.array([250]))
    with pytest.raises(ValueError, match="cannot train 4 lists"):
        ApproximateIndex(8, nlist=4, nprobe=1).train(vectors[:3])


def test_sentence_ids_are_stable_and_map_back_to_rows():
    segments = [("ab" * 16, 3), ("01" * 16, 0), ("ff" * 16, 2)]
    labels = np.concatenate([approximate.sentence_labels(s, n) for s, n in segments])
    assert approximate.SentenceIds.of(segments).rows(labels).tolist() == [0, 1, 2, 3, 4]
    assert approximate.sentence_labels("ab" * 16, 3).tolist() == labels[:3].tolist()  # whatever else is there
    with pytest.raises(ValueError, match="share their first 40 bits"):
        approximate.SentenceIds.of([("ab" * 16, 1), ("ab" * 5 + "00" * 11, 1)])


def test_a_large_library_is_searched_approximately_with_the_same_results(large):
    lib, idx = large
    write_reports(lib, [f"r{i}" for i in range(8)])
    emb = FakeEmbedder()
    run(lib, idx, emb)
    manifest = IndexDir(idx).read_manifest()
    assert manifest.search["kind"] == "ivf" and manifest.search["retrained"]
    assert set(manifest.search["indexes"]) == {"passages", "contexts", "sentences"}
    approx, exact = load(IndexDir(idx), 8), load(IndexDir(idx), 8, approximate=False)
    assert isinstance(approx.vectors, ApproximateIndex) and approx.sentence_matrix is None
    assert isinstance(exact.vectors, VectorIndex) and exact.search == {"kind": "flat"}
    # Tiny lists, every one probed: the same passages, the same scores (to half precision).
    for text in PARAGRAPHS:
        q = emb.encode([text + " In r3."])[0]
        for retriever in ("dense", "hybrid"):
            a = retrieve(approx, text, q, 5, retriever)
            e = retrieve(exact, text, q, 5, retriever)
            assert [h.key for h in a] == [h.key for h in e]
            assert [h.score for h in a] == pytest.approx([h.score for h in e], abs=5e-4)  # 8 dimensions: coarser
        only = retrieve(approx, text, q, 3, "dense", reports={"r5"})
        assert {h.passage.report for h in only} == {"r5"}
        assert [h.key for h in only] == [h.key for h in retrieve(exact, text, q, 3, "dense", reports={"r5"})]


def test_a_large_library_starts_bm25_on_another_thread_with_the_same_results(large):
    lib, idx = large
    write_reports(lib, [f"r{i}" for i in range(8)])
    emb = FakeEmbedder()
    run(lib, idx, emb)
    approx, exact = load(IndexDir(idx), 8), load(IndexDir(idx), 8, approximate=False)
    assert start_lexical(exact, "detectives", 5) is None  # a small library searches on the caller's thread
    for text in PARAGRAPHS:
        q = emb.encode([text])[0]
        for retriever, reports in (("hybrid", None), ("bm25", None), ("hybrid", {"r2", "r6"})):
            started = start_lexical(approx, text, 5, reports)
            assert started is not None
            with_thread = retrieve(approx, text, q, 5, retriever, reports, lexical=started)
            assert [(h.key, h.rank_score) for h in with_thread] == [
                (h.key, h.rank_score) for h in retrieve(approx, text, q, 5, retriever, reports)]
            assert not reports or {h.passage.report for h in with_thread} <= reports


def test_a_sync_that_removes_a_report_takes_its_vectors_out_of_the_copied_index(large):
    lib, idx = large
    write_reports(lib, [f"r{i}" for i in range(8)])
    emb = FakeEmbedder()
    run(lib, idx, emb)
    gone = {k for k, p in load(IndexDir(idx), 8).passages.items() if p.report == "r2"}
    (lib / "r2.txt").unlink()
    result, lines = run(lib, idx, emb)
    manifest = IndexDir(idx).read_manifest()
    assert result.removed == ["r2.txt"] and not manifest.search["retrained"]  # copied, not retrained
    assert any("copied from version 1, -1 +0 reports" in line for line in lines)
    loaded = load(IndexDir(idx), 8)
    assert len(loaded.vectors) == len(loaded.contexts) == len(loaded.passages) == 28
    assert len(loaded.sentences) == len(loaded.sentence_owner)
    for vectors in (loaded.vectors, loaded.contexts):
        assert not gone & set(vectors.search(emb.encode(["r2"])[0], 100)[0].tolist())
    assert not gone & set(loaded.sentence_owner[loaded.nearest_sentences(emb.encode(["r2"])[0], 200)[0]].tolist())
    assert not gone & set(loaded.passages)


def test_retraining_waits_until_enough_was_added():
    trained = {"kind": "ivf", "trained_on": 1000, "added_since_training": 300}
    assert not approximate.needs_training(trained, passages=1200, added=200)  # 500 of 1000: not more than half
    assert approximate.needs_training(trained, passages=1201, added=201)
    assert approximate.needs_training(trained, passages=499, added=0)  # shrank by more than half
    assert approximate.needs_training(None, 1000, 0) and approximate.needs_training({"kind": "flat"}, 1000, 0)


def test_a_sync_that_adds_more_than_half_retrains(large):
    lib, idx = large
    write_reports(lib, ["r0", "r1", "r2", "r3"])
    emb = FakeEmbedder()
    run(lib, idx, emb)
    write_reports(lib, ["r4", "r5"], seed=1)  # +8 passages on 16 trained: copied
    run(lib, idx, emb)
    search = IndexDir(idx).read_manifest().search
    assert not search["retrained"] and search["added_since_training"] == 8 and search["trained_on"] == 16
    write_reports(lib, ["r6"], seed=2)  # 12 added since training on 16: more than half, retrained
    run(lib, idx, emb)
    search = IndexDir(idx).read_manifest().search
    assert search["retrained"] and search["trained_on"] == 28 and search["added_since_training"] == 0


def test_small_libraries_stay_exact_and_old_manifests_load(monkeypatch, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    write_reports(lib, ["r0", "r1"])
    emb = FakeEmbedder()
    run(lib, tmp_path / "idx", emb)
    store = IndexDir(tmp_path / "idx")
    assert store.read_manifest().search == {"kind": "flat"}
    assert not (tmp_path / "idx" / "combined").exists()
    data = json.loads(store.manifest_path().read_text())
    del data["search"]  # a manifest written before approximate search
    store.manifest_path().write_text(json.dumps(data))
    assert store.read_manifest().search == {}
    loaded = load(store, 8)
    assert isinstance(loaded.vectors, VectorIndex)
    np.testing.assert_array_equal(loaded.sentence_matrix, np.vstack([store.read_sentence_vectors(e) for e in store.read_manifest().reports]))
    # The library grew past the threshold without a sync: built at load, kept for the next.
    monkeypatch.setenv("REPORTQA_APPROXIMATE_ABOVE", "1")
    loaded = load(store, 8)
    assert isinstance(loaded.vectors, ApproximateIndex) and loaded.search["kind"] == "ivf"
    assert store.artefact(store.read_manifest(), "sentences.ivf").is_file()


def test_a_no_op_sync_reads_no_vectors_and_builds_nothing(large, monkeypatch):
    lib, idx = large
    write_reports(lib, ["r0", "r1", "r2"])
    emb = FakeEmbedder()
    run(lib, idx, emb)

    def refuse(*args, **kwargs):
        raise AssertionError("a no-op sync read vectors")

    for name in ("read_vectors", "read_sentence_vectors", "read_context_vectors"):
        monkeypatch.setattr(IndexDir, name, refuse)
    monkeypatch.setattr(approximate, "build", refuse)
    result, _ = run(lib, idx, emb)
    assert not result.committed and result.unchanged == 3


def test_a_bad_threshold_is_named(monkeypatch):
    monkeypatch.setenv("REPORTQA_APPROXIMATE_ABOVE", "lots")
    with pytest.raises(ValueError, match="REPORTQA_APPROXIMATE_ABOVE must be a whole number of passages. Currently, it is 'lots'"):
        approximate.approximate_above()
