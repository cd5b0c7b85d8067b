"""The developers' gold library: every report a gold set asks about, in one folder, as users
keep them. ``python bench/gold.py DIR`` fills DIR (seeds/ plus the tests/data reports the gold
sets under tests/gold/ name); `make eval` and bench/fit_rerank.py use it."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "gold"
DATA = ROOT / "tests" / "data"
SETS = ["seed", "essex-ofsted-2019", "PostOfficeHorizon-IT-Inquiry-Recomm", "thurrock-ofsted-2016",
        "hertfordshire-send-2023", "gao-06-282"]


def gold_reports() -> list[Path]:
    """The report files the gold sets name (their "report" fields), besides the seed."""
    ids = set()
    for path in sorted(GOLD.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line).get("report"):
                ids.add(json.loads(line)["report"])
    files = [f for f in DATA.iterdir() if f.stem in ids and f.suffix.lower() in (".pdf", ".txt", ".md")]
    missing = ids - {f.stem for f in files}
    if missing:
        raise SystemExit(f"tests/gold names reports not in tests/data: {', '.join(sorted(missing))}")
    return sorted(files)


def make_library(dest: Path) -> Path:
    """Copy the seed and the gold reports into ``dest`` (only what is missing or changed)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in [*sorted((ROOT / "seeds").iterdir()), *gold_reports()]:
        target = dest / f.name
        if not target.exists() or target.read_bytes() != f.read_bytes():
            shutil.copy2(f, target)
    return dest


if __name__ == "__main__":
    print(make_library(Path(sys.argv[1] if len(sys.argv) > 1 else "var/gold-library")))
