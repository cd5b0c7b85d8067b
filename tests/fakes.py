"""A fake embedder for plumbing tests (sync bookkeeping, crash safety). It proves nothing
about retrieval: tests that claim retrieval works use the real model."""
import hashlib
import time
from pathlib import Path

import numpy as np

from index.embed import ModelSpec


class FakeEmbedder:
    """Deterministic unit vectors from text hashes; counts what it was asked to embed.

    :param delay: seconds to sleep per text, to hold a sync open (crash tests).
    """

    def __init__(self, sha: str = "f" * 64, delay: float = 0.0):
        self.spec = ModelSpec("fake", Path("."), sha)
        self.dimension, self.max_tokens, self.embedded, self.delay = 8, 256, 0, delay

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def encode(self, texts, progress=None):
        rows = []
        for t in texts:
            time.sleep(self.delay)
            rows.append(np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], dtype=np.uint8).astype(np.float32) + 1)
        self.embedded += len(texts)
        if progress:
            progress(len(texts))
        v = np.array(rows, dtype=np.float32).reshape(-1, 8)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_question(self, question):
        return self.encode([question])[0]
