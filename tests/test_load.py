"""bench/load.py's quick run against a real app.py: 4 users x 3 questions and an upload at once.

Asserts what must hold under any load (no failed request, the upload added, nothing left queued,
the server idle and answering afterwards); latency and memory are figures to read, not assert.
"""
import json
import subprocess
import sys

import pytest

from helpers_app import ROOT


@pytest.mark.slow
def test_quick_load_run_fails_no_request_and_leaves_nothing_queued():
    run = subprocess.run([sys.executable, "bench/load.py", "--quick"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    lines = run.stdout.strip().splitlines()
    assert lines and lines[0].startswith("| figure"), run.stdout[-2000:] + run.stderr[-3000:]
    figures = json.loads(lines[-1])
    assert run.returncode == 0 and figures["failed"] == 0 and figures["not_asked"] == 0, figures
    assert figures["requests"] == 12 and figures["upload_ok"], figures
    assert figures["queue_size_after"] == 0 and figures["next_answered"] and figures["server_alive"], figures
    assert not figures["traceback_in_log"], figures
    for key in ("p50_ms", "p95_ms", "rss_warm_mb", "rss_end_mb"):
        assert figures[key] > 0, key
