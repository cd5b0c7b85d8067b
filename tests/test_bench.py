"""The benchmark's quick run works end to end (it measures nothing here: figures are read from
`make bench`, never asserted by timed tests)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_prints_its_table_and_one_json_line_with_every_part():
    run = subprocess.run([sys.executable, "bench/run.py", "--quick"], cwd=ROOT, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert lines[0].startswith("| figure") and figures["quick"] is True
    for key in ("encoder_speedup", "sync_over_encode", "parse_pages_per_s", "noop_sync_s", "noop_sync_50_s",
                "ask_seed_p50_ms", "page_served_s", "first_answer_s", "model_load_s", "page_click_cold_ms"):
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, key
    assert any(key.startswith("scale_") for key in figures)
