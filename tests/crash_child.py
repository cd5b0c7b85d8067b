"""Child process for the crash test: one sync of LIBRARY into INDEX with a slow fake embedder."""
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from fakes import FakeEmbedder  # noqa: E402
from index.sync import sync  # noqa: E402

if __name__ == "__main__":
    sync(Path(sys.argv[1]), Path(sys.argv[2]), embedder=FakeEmbedder(delay=0.004), progress=False, out=lambda l: None)
