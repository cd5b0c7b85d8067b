"""The two encoders (torch, onnx-int8): choosing one, batching, the int8 export's cache, the
manifest's record, and the rule that lets an index built by one be used with the other.

Fakes prove the bookkeeping; the tests that claim the vectors agree use the real model."""
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder
from index import agreement, onnx_int8
from index.embed import BATCH_SIZE, ENCODERS, Embedder, ModelError, ModelSpec, resolve_encoder
from index.read import file_sha256
from index.store import IndexDir, IndexUnusable, Manifest, passage_key, segment_name
from index.sync import sync

ROOT = Path(__file__).resolve().parents[2]
REPORT_A = "Report A\n\nThe force is poor at answering calls.\n\nIt has too few detectives.\n"
REPORT_B = "Report B\n\nChildren wait too long for help.\n"


class EncoderFake(FakeEmbedder):
    """A fake embedder that says which encoder it is; ``salt`` makes its vectors disagree."""

    def __init__(self, encoder="onnx-int8", salt="", **kw):
        super().__init__(**kw)
        self.encoder, self.salt = encoder, salt
        self.encoder_sha256 = "" if encoder == "torch" else "e" * 64

    def encode(self, texts, progress=None):
        return super().encode([self.salt + t for t in texts], progress)


def run(lib, idx, emb, **kw):
    lines = []
    result = sync(lib, idx, embedder=emb, progress=False, out=lines.append, **kw)
    return result, lines


@pytest.fixture
def lib(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    (d / "a.txt").write_text(REPORT_A)
    return d


# --- choosing an encoder ----------------------------------------------------------------------


def test_encoder_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.setenv("REPORTQA_ENCODER", "torch")
    assert resolve_encoder() == "torch" and resolve_encoder("onnx-int8") == "onnx-int8"
    monkeypatch.delenv("REPORTQA_ENCODER")
    assert resolve_encoder() in ENCODERS
    monkeypatch.setenv("REPORTQA_ENCODER", "int4")
    with pytest.raises(ModelError, match=r"encoder 'int4' \(from REPORTQA_ENCODER\): must be one of torch, onnx-int8"):
        resolve_encoder()


class RecordingBackend:
    """Embeds a text as (its length, its number in the call) and records each batch."""

    dimension, max_tokens, sha256 = 2, 256, ""

    def __init__(self):
        self.batches = []

    def count_tokens(self, text):
        return len(text.split())

    def embed(self, texts):
        self.batches.append(list(texts))
        return np.array([[len(t), 0] for t in texts], dtype=np.float32)


def test_encode_embeds_longest_first_and_returns_rows_in_the_order_given():
    embedder = Embedder.__new__(Embedder)  # the front alone, over a recording backend
    embedder._backend = backend = RecordingBackend()
    embedder.dimension = 2
    texts = ["bb", "a", "dddd", "ccc", "eeeee"]
    done = []
    vectors = embedder.encode(texts, batch_size=2, progress=done.append)
    assert vectors[:, 0].tolist() == [2, 1, 4, 3, 5]
    assert backend.batches == [["eeeee", "dddd"], ["ccc", "bb"], ["a"]] and done == [2, 2, 1]
    assert embedder.encode([]).shape == (0, 2)
    with pytest.raises(ValueError, match="batch_size must be greater than 0. Currently, batch_size is 0"):
        embedder.encode(texts, batch_size=0)
    assert BATCH_SIZE in (16, 32, 64, 128)


# --- the manifest and segments ----------------------------------------------------------------


def test_manifest_without_encoder_fields_is_torch_and_segment_names_keep_torch_as_before():
    old = {"model": "m", "model_sha256": "s", "dimension": 8, "max_tokens": 256, "chunker": "5", "format": 1}
    manifest = Manifest.from_json(old)
    assert (manifest.encoder, manifest.encoder_sha256) == ("torch", "")
    import hashlib

    before = hashlib.sha256(b"f:m:5").hexdigest()[:32]  # the name segments had before encoders
    assert segment_name("f", "m", "5") == segment_name("f", "m", "5", "torch", "") == before
    assert segment_name("f", "m", "5", "onnx-int8", "a" * 64) not in (before, segment_name("f", "m", "5", "onnx-int8", "b" * 64))


def test_sync_records_the_encoder_and_a_rebuild_with_another_re_embeds(lib, tmp_path):
    idx = tmp_path / "idx"
    run(lib, idx, EncoderFake("onnx-int8"))
    manifest = IndexDir(idx).read_manifest()
    assert (manifest.encoder, manifest.encoder_sha256) == ("onnx-int8", "e" * 64)
    torch = EncoderFake("torch")
    result, _ = run(lib, idx, torch, rebuild=True)
    # subtle: the int8 segment of a.txt is still on disk; a torch rebuild must not take it up.
    assert result.embedded == 2 and torch.embedded > 0
    assert IndexDir(idx).read_manifest().encoder == "torch"


def test_adding_to_an_index_of_another_encoder_needs_agreeing_vectors(lib, tmp_path):
    idx = tmp_path / "idx"
    run(lib, idx, EncoderFake("torch"))
    (lib / "b.md").write_text(REPORT_B)
    result, lines = run(lib, idx, EncoderFake("onnx-int8"))  # same vectors: accepted, kept torch
    assert result.added == ["b.md"]
    assert any("built with encoder torch; onnx-int8 agrees with it (min cosine 1.000 over 2 passages)" in l for l in lines)
    assert IndexDir(idx).read_manifest().encoder == "torch"
    (lib / "c.txt").write_text("Report C\n\nThe custody suite is clean.\n")
    with pytest.raises(IndexUnusable) as refused:
        run(lib, idx, EncoderFake("onnx-int8", salt="other vectors "))
    message = str(refused.value)
    assert "\n" not in message and str(idx) in message
    assert "built with encoder torch, and onnx-int8 does not reproduce its vectors (min cosine 0." in message
    assert f"--encoder torch ...`" in message and "--encoder onnx-int8 index --rebuild`" in message
    assert "c.txt" not in [e.report.source for e in IndexDir(idx).read_manifest().reports]
    result, _ = run(lib, idx, EncoderFake("onnx-int8", salt="other vectors "), rebuild=True)
    assert sorted(result.added) == ["a.txt", "b.md", "c.txt"]


def test_asking_refuses_an_index_whose_vectors_another_encoder_does_not_reproduce(lib, tmp_path):
    from qa.ask import Asker

    idx = tmp_path / "idx"
    run(lib, idx, EncoderFake("torch"))
    assert Asker(lib, idx, embedder=EncoderFake("onnx-int8")).loaded() is not None
    with pytest.raises(IndexUnusable, match="does not reproduce its vectors"):
        Asker(lib, idx, embedder=EncoderFake("onnx-int8", salt="x")).loaded()


# --- the export's cache -----------------------------------------------------------------------


def fake_export(spec, folder):
    (folder / "model.onnx").write_bytes(b"graph of " + spec.sha256.encode())
    record = {"format": onnx_int8.FORMAT, "model_sha256": spec.sha256, "inputs": ["input_ids"],
              "onnx_sha256": file_sha256(folder / "model.onnx")}
    (folder / "encoder.json").write_text(json.dumps(record))


def test_the_export_is_cached_atomically_with_its_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTQA_CACHE", str(tmp_path / "cache"))
    spec = ModelSpec("m", tmp_path, "ab" * 32)
    made = []
    monkeypatch.setattr(onnx_int8, "_export", lambda s, f: (made.append(f), fake_export(s, f)))
    results = []
    racers = [threading.Thread(target=lambda: results.append(onnx_int8.prepare(spec))) for _ in range(4)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    folder = tmp_path / "cache" / "encoders" / f"{'ab' * 8}-onnx-int8"
    assert {r[0] for r in results} == {folder} and len(results) == 4
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no temporary left
    assert results[0][1]["onnx_sha256"] == file_sha256(folder / "model.onnx") == onnx_int8.recorded_sha256(spec)
    made.clear()
    onnx_int8.prepare(spec)
    assert made == []  # a complete folder is used as is
    (folder / "model.onnx").write_bytes(b"damaged")
    _, record = onnx_int8.prepare(spec)
    assert len(made) == 1 and record["onnx_sha256"] == file_sha256(folder / "model.onnx")


def test_help_imports_neither_torch_nor_onnxruntime():
    code = (
        "import sys\nfrom qa.__main__ import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('torch', 'onnxruntime', 'sentence_transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    assert "--encoder" in out and "HEAVY []" in out


# --- the real model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoders(embedder):
    """The real model through both encoders: the session's embedder and the other one."""
    other = "torch" if embedder.encoder == "onnx-int8" else "onnx-int8"
    return {embedder.encoder: embedder, other: Embedder(embedder.spec, other)}


@pytest.fixture(scope="module")
def seed_texts(embedder):
    from index.chunk import chunk, embedding_text
    from index.read import read_report

    report = ROOT / "seeds" / "essex-police-hmic-inspection-news-summary.txt"
    passages = chunk(report.stem, read_report(report), embedder.max_tokens, embedder.count_tokens)
    return [embedding_text(p) for p in passages], [p.text[s:e] for p in passages for s, e in p.sentences]


@pytest.mark.slow
def test_int8_agrees_with_torch_on_the_seed(encoders, seed_texts):
    torch, int8 = encoders["torch"], encoders["onnx-int8"]
    passages, sentences = seed_texts
    assert int8.dimension == torch.dimension and int8.max_tokens == torch.max_tokens
    assert int8.encoder == "onnx-int8" and len(int8.encoder_sha256) == 64
    # The first two layers' feed-forward output products stay float32 (index.onnx_int8: they
    # halve the disagreement with torch).
    _, record = onnx_int8.prepare(int8.spec)
    assert [n.split("/encoder/")[-1] for n in record["quantisation"]["float32_nodes"]] == [
        "layer.0/output/dense/MatMul", "layer.1/output/dense/MatMul"]
    for texts in (passages, sentences):
        cosines = (torch.encode(texts) * int8.encode(texts)).sum(axis=1)
        print(f"int8 vs torch cosine: mean {cosines.mean():.4f}, min {cosines.min():.4f}")
        assert cosines.min() >= 0.98 and cosines.mean() >= 0.993
        assert np.allclose(np.linalg.norm(int8.encode(texts), axis=1), 1, atol=1e-4)
    # Chunking must not depend on the encoder: both count word pieces alike.
    assert [int8.count_tokens(t) for t in passages + sentences] == [torch.count_tokens(t) for t in passages + sentences]


@pytest.fixture(scope="module")
def torch_run(embedder):
    """The torch encoder run by torch itself (the session's runs on onnxruntime)."""
    return Embedder(embedder.spec, "torch", runtime="torch")


@pytest.mark.slow
def test_the_torch_encoder_runs_on_onnxruntime_with_torchs_vectors(encoders, torch_run, seed_texts):
    default = encoders["torch"]
    # `make setup` exported the float32 graph (index/onnx_int8.py's main): no torch at run time.
    assert default.runtime == "onnxruntime" and torch_run.runtime == "torch"
    assert default.encoder_sha256 == torch_run.encoder_sha256 == ""  # the same encoder to the manifest
    passages, sentences = seed_texts
    questions = [json.loads(line)["q"] for line in (ROOT / "tests" / "gold" / "seed.jsonl").read_text().splitlines() if line]
    asked = np.stack([default.encode_question(q) for q in questions])
    assert asked.shape == (len(questions), default.dimension) and asked.dtype == np.float32
    for mine, reference in ((default.encode(passages), torch_run.encode(passages)),
                            (default.encode(sentences), torch_run.encode(sentences)), (asked, torch_run.encode(questions))):
        cosines = (mine * reference).sum(axis=1)
        assert cosines.min() >= 0.99999, cosines.min()  # the same vectors, not merely close ones (int8: 0.99)
        assert np.allclose(np.linalg.norm(mine, axis=1), 1, atol=1e-5)
    assert [default.count_tokens(t) for t in passages] == [torch_run.count_tokens(t) for t in passages]


@pytest.mark.slow
def test_without_an_export_torch_runs_the_model_and_none_is_made(embedder, torch_run, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("REPORTQA_CACHE", str(tmp_path / "cache"))
    fresh = Embedder(embedder.spec, "torch")
    assert "not exported for onnxruntime; run `make setup`" in caplog.text and "torch runs the model" in caplog.text
    vector = fresh.encode_question("How good are child protection investigations?")
    assert fresh.runtime == "torch" and vector.shape == (fresh.dimension,)
    with pytest.raises(ModelError, match=r"not exported for onnxruntime; run `make setup`"):
        Embedder(embedder.spec, "torch", runtime="onnxruntime")
    with pytest.raises(ValueError, match="runtime must be torch or onnxruntime"):
        Embedder(embedder.spec, "torch", runtime="cuda")
    assert not (tmp_path / "cache").exists()  # nothing is exported while answering


@pytest.mark.slow
def test_a_damaged_export_is_said_and_torch_runs_the_model_without_exporting_again(embedder, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("REPORTQA_CACHE", str(tmp_path / "cache"))
    folder = onnx_int8.encoder_dir(embedder.spec)
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not a graph")
    (folder / "float32.onnx").write_bytes(b"not a graph either")
    record = {"format": onnx_int8.FORMAT, "model_sha256": embedder.spec.sha256, "inputs": ["input_ids"],
              "onnx_sha256": "0" * 64, "float32_sha256": "0" * 64}
    (folder / "encoder.json").write_text(json.dumps(record))
    exported = []
    monkeypatch.setattr(onnx_int8, "_export", lambda spec, into: exported.append(into))
    fresh = Embedder(embedder.spec, "torch")
    assert fresh.runtime == "torch" and exported == []
    assert f"{folder / 'float32.onnx'}: missing or not as recorded; run `make setup`" in caplog.text
    with pytest.raises(ModelError, match="missing or not as recorded"):
        Embedder(embedder.spec, "torch", runtime="onnxruntime")


@pytest.mark.slow
def test_int8_embeds_each_text_alone_so_its_vector_does_not_depend_on_its_batch(encoders, seed_texts):
    int8 = encoders["onnx-int8"]
    passages, sentences = seed_texts
    texts = passages[:6] + sentences[:6]  # long and short, run at once on the encoder's threads
    together = int8.encode(texts, batch_size=len(texts))
    alone = np.concatenate([int8.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-6)
    assert np.allclose(int8.encode(texts[::-1], batch_size=5)[::-1], alone, atol=1e-6)


@pytest.mark.slow
def test_an_index_built_by_one_encoder_is_used_by_the_other_unless_its_vectors_disagree(seed_asker, encoders, tmp_path):
    from qa.ask import Asker

    idx = tmp_path / "idx"
    shutil.copytree(seed_asker.index_dir.path, idx)
    store = IndexDir(idx)
    manifest = store.read_manifest()
    built = manifest.encoder
    assert built == seed_asker.embedder.encoder
    other = encoders["torch" if built == "onnx-int8" else "onnx-int8"]
    found = agreement.check_encoder(store, manifest, other)
    assert found.accepted and found.passages == min(agreement.PROBE, sum(e.report.passages for e in manifest.reports))
    answer = Asker(seed_asker.library, idx, embedder=other).ask("How are missing children handled?")
    assert "missing" in answer.citations[0].text.lower()

    entry = manifest.reports[0]  # perturb the stored vectors: as if another model had made them
    passages = store.read_passages(entry)
    ids, vectors = store.read_vectors(entry).vectors()
    order = [ids.tolist().index(passage_key(entry.segment, p)) for p in passages]
    noisy = vectors[order] + np.random.default_rng(0).normal(0, 0.05, vectors[order].shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    store.write_segment(entry.segment, passages, noisy, store.read_sentence_vectors(entry), store.read_text(entry),
                        store.read_context_vectors(entry))
    refusal = rf"built with encoder {built}, and {other.encoder} does not reproduce its vectors \(min cosine 0\.[0-8]"
    with pytest.raises(IndexUnusable, match=refusal):
        Asker(seed_asker.library, idx, embedder=other).loaded()


@pytest.mark.slow
def test_a_no_op_sync_imports_neither_torch_nor_onnxruntime(seed_asker):
    code = (
        "import sys\nfrom qa.__main__ import main\n"
        f"code = main(['--library', {str(seed_asker.library)!r}, '--index', {str(seed_asker.index_dir.path)!r}, 'index'])\n"
        "print('HEAVY', code, [m for m in ('torch', 'onnxruntime', 'sentence_transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    assert "Plan: 0 to add" in out and "HEAVY 0 []" in out
