"""The model exported to ONNX and run by ONNX Runtime: quantised to int8 (the onnx-int8
encoder), and in float32 (how the torch encoder's model runs once exported: index.embed.Embedder).

The only module that imports onnxruntime (and onnx). Running either graph needs neither torch nor
sentence-transformers: the tokenizer is the model's own ``tokenizer.json`` (the ``tokenizers``
library, as sentence-transformers' fast tokenizer uses it) and pooling and normalisation are
inside the graph.

The export is made once per model, by ``make setup`` (:func:`main`) or else at the int8
encoder's first use, offline from the model's own safetensors (:func:`index.embed.export_onnx`,
which needs torch), into a cache folder::

    $REPORTQA_CACHE/encoders/<model sha256[:16]>-onnx-int8/     (default ~/.cache/report-qa)
        model.onnx      the quantised graph
        float32.onnx    the graph before quantisation: torch's vectors (cosine 1.00000), on which
                        ONNX Runtime runs the torch encoder's model (index.embed.Embedder)
        encoder.json    how they were made, and their sha256 (checked at every load)

It is written in a temporary folder and renamed into place (``os.rename``), so a process sees a
complete folder or none, and two processes exporting at once both end up using one of them.

Quantisation (:data:`QUANTISATION`): dynamic (no calibration data), int8 weights symmetric per
channel with *reduced range* (7 bits), uint8 activations; in sentence-transformers' terms, the
``avx512`` preset with ``reduce_range=True``, with two exceptions that halve the encoder's
disagreement with torch (see "What is quantised" below): only matrix products (MatMul) are
quantised, and the first two layers' feed-forward output products stay float32. The first
table was measured before those exceptions, on the seed's and a real report's passages against
the torch encoder (2 cores with avx512_vnni and amx_int8, busy with other jobs: compare ratios;
the graphs exported with eager attention, see :func:`index.embed.export_onnx`):

=====================================  ============  =====================  =================
config                                 passages/s    cosine mean / min      portable
=====================================  ============  =====================  =================
torch float32 (reference)              20.7          1 / 1                  yes
u8s8, full range (avx512_vnni, arm64)  41.7 (2.0x)   0.9929 / 0.9855        no: see below
u8s8, reduced range (chosen)           40.9 (2.0x)   0.9914 / 0.9826        yes
u8u8 (avx2)                            20.3 (1.0x)   0.9924 / 0.9807        yes
=====================================  ============  =====================  =================

Full-range int8 weights are what VNNI and ARM run exactly, but on an x86 CPU without VNNI
(plain AVX2/AVX-512) ONNX Runtime multiplies uint8 by int8 with an instruction that saturates
16-bit sums: vectors may come out wrong. Reduced range cannot saturate, runs as fast here (the
same VNNI kernels) and agrees with torch about as well, so it is the one kept: one file is right
on every CPU. uint8 weights (the avx2 preset) are also safe but no faster than torch here.

What is quantised (:data:`FLOAT_LAYERS`). A product's input is quantised per text to uint8 over its
own range; the feed-forward output product's input (GELU activations) has the widest outliers,
worst in the first layers. Measured on 400 random passages of the corpus reports and the 297 gold
questions against torch (cosine; passages/s of the one-text-per-core runner, idle, one run):

=========================================  ===========  =====================  ====================
what stays float32                         passages/s   passages mean / min    questions mean / min
=========================================  ===========  =====================  ====================
nothing (every default operator: before)   331          0.9919 / 0.9770        0.9930 / 0.9858
the embeddings (Gather): MatMul only       353          0.9922 / 0.9792        0.9934 / 0.9884
 + layer 0's feed-forward output           307          0.9940 / 0.9814        0.9950 / 0.9914
 + layers 0 and 1's (kept)                 290          0.9948 / 0.9899        0.9956 / 0.9923
 + all six layers'                         231          0.9963 / 0.9921        0.9966 / 0.9941
=========================================  ===========  =====================  ====================

One other layer alone (1 to 5) gains a third as much as layer 0. Recall@3 over the six gold sets
(`make eval`'s library) with each, against torch's 0.747 / 0.765 / 0.594 / 0.733 / 0.733 / 0.600:
before 0.734 / 0.765 / 0.594 / 0.700 / 0.733 / 0.700 (Thurrock -0.033); kept 0.759 / 0.765 /
0.594 / 0.733 / 0.767 / 0.600 (no set lower); all six layers 0.747 / 0.765 / 0.594 / 0.733 /
0.733 / 0.633. The choice was made on the agreement and the speed; the gold sets were asked after.

Running (:meth:`OnnxEncoder.embed`): each text is run on its own, unpadded, on one thread,
with as many texts at once as the process has cores. Measured on 527 passages of four corpus
reports against torch (batches of 16) in the same run, the encoders taking turns passage group by
passage group (2 cores; best of 3; figures from three runs, "quiet": torch at its idle 123-125/s;
"busy": other jobs on both cores, and in one run a ``nice -n 19`` loop, torch down to 19-20/s):

==================================================  ==============  =============  =================
how the graph is run                                quiet           busy           cosine mean / min
==================================================  ==============  =============  =================
batches of 16, 2 threads inside each run (before)   230/s (1.85x)   80/s           0.9917 / 0.9804
the same, threads not spinning                      221/s (1.79x)   127/s          0.9917 / 0.9804
the same, batches of 8                              239/s (1.92x)   --             0.9918 / 0.9850
graph fused first (optimize_model: QAttention ...)  215/s (1.75x)   --             0.9918 / 0.9824
batches of 8, each half on its own thread           252/s (2.02x)   --             0.9919 / 0.9836
one text a run, 2 threads inside each run           --              158/s          0.9923 / 0.9859
one text a run, one thread, 2 runs at once (kept)   331/s (2.65x)   174/s          0.9923 / 0.9859
==================================================  ==============  =============  =================

Why: the int8 matrix products are fast enough here (VNNI/AMX) that attention's float work
(softmax over the padded length squared, a quarter of the time) and the per-operator hand-offs
between threads dominate. A text alone is never padded; a run on one thread never hands off; two
runs at once keep both cores busy, and when one core is taken by another job nothing spins on it
(ONNX Runtime's intra-op threads spin while they wait: the batched encoder's worst loss on a busy
machine). Its activations are quantised over its own tokens, so the
vectors agree with torch slightly better, and a text's vector no longer depends on the texts
batched with it. Fusing the graph offline (onnxruntime.transformers' BERT optimiser, then
quantising: QAttention, QEmbedLayerNormalization) was slower: ONNX Runtime's own session-time
fusions (SkipLayerNormalization, Gelu, DynamicQuantizeMatMul) already apply to the plain graph, so
the export is unchanged.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.embed import ModelError, ModelSpec
from index.read import file_sha256

ENCODER = "onnx-int8"
FORMAT = 3  # bump when the export or the quantisation changes: older folders are re-made
FLOAT_LAYERS = 2  # the first layers whose feed-forward output product stays float32 (see above)
QUANTISATION = {
    "method": "onnxruntime.quantization.quantize_dynamic",
    "weights": "int8", "activations": "uint8", "per_channel": True, "reduce_range": True,
    "weights_symmetric": True, "activations_symmetric": False, "operators": ["MatMul"],
    "float32": f"the feed-forward output products of layers 0 to {FLOAT_LAYERS - 1}",
}
_FEED_FORWARD_OUT = re.compile(r"/encoder/layer\.(\d+)/output/dense/MatMul$")


def float_nodes(graph_file: Path) -> list[str]:
    """The products left float32: the feed-forward output of the first ``FLOAT_LAYERS`` layers
    (by the node names torch's exporter gives a BERT encoder)."""
    import onnx

    graph = onnx.load(str(graph_file), load_external_data=False).graph
    return sorted(
        n.name for n in graph.node
        if n.op_type == "MatMul" and (m := _FEED_FORWARD_OUT.search(n.name)) and int(m.group(1)) < FLOAT_LAYERS
    )


def cache_root() -> Path:
    """Where exported encoders are kept: ``REPORTQA_CACHE``, else ``~/.cache/report-qa``."""
    return Path(os.environ.get("REPORTQA_CACHE") or Path.home() / ".cache" / "report-qa").expanduser()


def encoder_dir(spec: ModelSpec) -> Path:
    return cache_root() / "encoders" / f"{spec.sha256[:16]}-{ENCODER}"


def _record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _current(record: dict | None, spec: ModelSpec) -> bool:
    return bool(record) and record.get("format") == FORMAT and record.get("model_sha256") == spec.sha256


def _valid(folder: Path, spec: ModelSpec, graph: str = "model.onnx") -> dict | None:
    """The folder's record if it holds a complete export of this model in this format, with
    ``graph`` (``model.onnx`` or ``float32.onnx``) as recorded."""
    record = _record(folder)
    if not _current(record, spec):
        return None
    onnx = folder / graph
    if not onnx.is_file() or file_sha256(onnx) != record.get(_SHA256_KEYS[graph]):
        return None
    return record


_SHA256_KEYS = {"model.onnx": "onnx_sha256", "float32.onnx": "float32_sha256"}


def exported(spec: ModelSpec) -> bool:
    """Whether the cache holds this model's export in this format (cheap: no onnxruntime, no
    hashing; a load checks the hashes)."""
    return _current(_record(encoder_dir(spec)), spec)


def recorded_sha256(spec: ModelSpec) -> str | None:
    """The sha256 of this model's exported encoder if it is in the cache (cheap: no onnxruntime,
    no hashing of the file), else None."""
    record = _record(encoder_dir(spec))
    return record.get("onnx_sha256") if record and record.get("model_sha256") == spec.sha256 else None


def _fsync_tree(folder: Path) -> None:
    for f in folder.iterdir():
        with open(f, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _export(spec: ModelSpec, folder: Path) -> None:
    """Export and quantise into ``folder`` (empty), recording what was made."""
    from onnxruntime import __version__ as ort_version
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from index.embed import export_onnx

    started = time.monotonic()
    float32 = folder / "float32.onnx"
    inputs = export_onnx(spec, float32)
    kept = float_nodes(float32)
    logging.disable(logging.WARNING)  # the quantiser's advice to pre-process, on the root logger
    try:
        quantize_dynamic(
            float32, folder / "model.onnx", per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"], nodes_to_exclude=kept,
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
        )
    finally:
        logging.disable(logging.NOTSET)
    record = {
        "format": FORMAT, "encoder": ENCODER, "model": spec.name, "model_sha256": spec.sha256,
        "onnx_sha256": file_sha256(folder / "model.onnx"), "float32_sha256": file_sha256(float32), "inputs": inputs,
        "quantisation": {**QUANTISATION, "float32_nodes": kept},
        "onnxruntime": ort_version, "seconds": round(time.monotonic() - started, 1),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (folder / "encoder.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    _fsync_tree(folder)


def prepare(spec: ModelSpec) -> tuple[Path, dict]:
    """The exported encoder of ``spec`` (exported first if the cache has none): its folder and
    its record. Safe to call from several processes at once."""
    folder = encoder_dir(spec)
    record = _valid(folder, spec)
    if record:
        return folder, record
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        try:
            _export(spec, tmp)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(
                f"model {spec.name!r}: could not export the {ENCODER} encoder into {folder} ({exc}); "
                f"use --encoder torch"
            ) from exc
        if folder.exists() and not _valid(folder, spec):
            # An older format or a damaged copy: moved aside (atomically) and replaced.
            stale = folder.with_name(f".{folder.name}.stale-{os.getpid()}-{time.monotonic_ns()}")
            try:
                os.rename(folder, stale)
            except OSError:
                pass  # another process moved it first
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:
            pass  # another process put a complete folder there first: theirs is used
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record = _valid(folder, spec)
    if not record:
        raise ModelError(f"{folder}: the exported {ENCODER} encoder is incomplete; remove the folder and try again")
    return folder, record


def _sentence_config(spec: ModelSpec) -> dict:
    try:
        return json.loads((spec.path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class OnnxEncoder:
    """The model's exported graph run by ONNX Runtime (see the module's docstring): the int8
    graph, exported first if needed, or the float32 one.

    :param spec: the model; it needs a ``tokenizer.json`` (a fast tokenizer).
    :param float32: run the graph before quantisation (torch's vectors), which ``make setup``
        exported: it is checked and never exported here.
    """

    def __init__(self, spec: ModelSpec, float32: bool = False):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer_file = spec.path / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ModelError(f"model {spec.name!r}: no tokenizer.json in {spec.path}, which {ENCODER} needs; use --encoder torch")
        config = _sentence_config(spec)
        self.max_tokens = int(config.get("max_seq_length") or 0)
        if self.max_tokens <= 0:
            raise ModelError(f"model {spec.name!r}: no max_seq_length in {spec.path / 'sentence_bert_config.json'}; use --encoder torch")
        self._lowercase = bool(config.get("do_lower_case"))
        graph = "float32.onnx" if float32 else "model.onnx"
        if float32:  # made by `make setup` (main): checked, never exported here
            self.folder = encoder_dir(spec)
            record = _valid(self.folder, spec, graph)
            if not record:
                raise ModelError(f"{self.folder / graph}: missing or not as recorded; run `make setup` "
                                 f"(or `python -m index.onnx_int8`) to export it again")
        else:
            self.folder, record = prepare(spec)
        self.sha256: str = record[_SHA256_KEYS[graph]]
        self._inputs: list[str] = record["inputs"]
        self._counter = Tokenizer.from_file(str(tokenizer_file))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.no_padding()  # each text runs alone: nothing to pad
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread per run, and as many runs at once as there are cores (see the module's
        # docstring): no thread pool inside ONNX Runtime, so none spinning on a busy core.
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.folder / graph), options, providers=["CPUExecutionProvider"])
        self.threads = _cores()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix=ENCODER) if self.threads > 1 else None
        self.dimension = int(self._session.get_outputs()[0].shape[1] or self.embed(["dimension"]).shape[1])

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text.lower() if self._lowercase else text, add_special_tokens=True).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One vector per text, each text run on its own (unpadded), the runs spread over the
        cores: a text's vector does not depend on the texts batched with it."""
        if self._lowercase:
            texts = [t.lower() for t in texts]
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)

        def run(encoding) -> np.ndarray:
            columns = {"input_ids": encoding.ids, "token_type_ids": encoding.type_ids, "attention_mask": encoding.attention_mask}
            feed = {name: np.array([columns[name]], dtype=np.int64) for name in self._inputs}
            return self._session.run(None, feed)[0][0]

        rows = list(self._pool.map(run, encodings) if self._pool and len(encodings) > 1 else map(run, encodings))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)


def _cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def main() -> int:
    """``python -m index.onnx_int8``: make the export now (``make setup`` runs it), so that no
    process makes it while it answers. One line out; a failure is said, and is not fatal: torch
    then runs the torch encoder's model, and ``--encoder onnx-int8`` exports at first use."""
    from index.embed import resolve_model

    try:
        spec = resolve_model()
        ready = exported(spec)
        folder, _ = prepare(spec)
    except (ModelError, OSError) as exc:
        print(f"encoders: not exported ({exc}); torch will run the model")
        return 0
    print(f"encoders: {'ready' if ready else 'exported'} in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
