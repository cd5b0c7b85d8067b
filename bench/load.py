"""Load on the app as `make run` starts it: ``python bench/load.py`` (20 users x 25 questions),
``--quick`` (4 x 3, what `make test` runs through tests/test_load.py).

Starts ``app.py`` on a free loopback port over a copy of seeds/ and a new index (so the first
start embeds it, as `make run` does on a fresh clone), then:

1. warm-up: every user (a thread with its own ``gradio_client.Client``) asks one question at
   once; the server's resident memory (VmRSS, /proc) after it is the baseline;
2. the run: every user asks the rest of its questions one after another (drawn, seeded, from
   tests/gold/*.jsonl), while one report (tests/data's Essex PDF) is uploaded through the
   page's own upload event (``/gradio_api/upload``, then the event, as the page does);
3. after: the clients are gone; Gradio's queue status must say 0 waiting, the server must be
   idle (its CPU time over 2 s) and a next question must be answered.

Bounded: loopback only, a fixed number of questions, and ``--time-limit`` seconds, after which
no user asks again (what was not asked is counted). Prints a table, then one JSON line.
A failed request is any exception, "busy" included, or a reply that is not an answer.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

UPLOAD = ROOT / "tests" / "data" / "80468_essex__ilacs_07-january-2019.pdf"
MEMORY_GROWTH_TARGET = 0.10


def gold_questions() -> list[str]:
    questions = []
    for path in sorted((ROOT / "tests" / "gold").glob("*.jsonl")):
        questions += [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return questions


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Memory:
    """Samples the server's resident memory every ``every`` seconds, keeping the peak."""

    def __init__(self, pid: int, every: float = 0.25):
        self.pid, self.every, self.peak = pid, every, rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def stop(self):
        self._stop.set()
        self._thread.join()


class User:
    """One simulated user: its own client, its questions, and what each request did."""

    def __init__(self, url: str, questions: list[str]):
        from gradio_client import Client

        self.client = Client(url, verbose=False)
        self.questions = questions
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.not_asked = 0

    def ask(self, question: str) -> None:
        started = time.perf_counter()
        try:
            reply = self.client.predict(question, api_name="/ask")
            if not isinstance(reply, dict) or "answer" not in reply:
                raise RuntimeError(f"not an answer: {str(reply)[:80]}")
        except Exception as exc:  # every failure is counted, whatever it is
            self.failures.append(" ".join(f"{type(exc).__name__}: {exc}".split())[:160])
        self.latencies.append(time.perf_counter() - started)

    def run(self, questions: list[str], stop_at: float) -> None:
        for i, question in enumerate(questions):
            if time.monotonic() >= stop_at:
                self.not_asked += len(questions) - i
                return
            self.ask(question)


def all_at_once(users: list[User], work) -> None:
    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def upload_report(url: str, path: Path, result: dict, pid: int) -> None:
    """Add ``path`` through the page's upload event, as a browser does (``pid``: the server's,
    whose memory is read once the report is in)."""
    import httpx
    from helpers_events import call_event, find_event, upload

    started = time.perf_counter()
    try:
        with httpx.Client(timeout=300) as http:
            fn, target = find_event(http.get(url + "config").json(), "rq-upload", "upload")
            messages = call_event(http, url, fn, [[upload(http, url, path)], []], target)
        status = messages[-1].get("output", {}).get("data", ["(no output)"])[0]
        status = re.sub(r"<[^>]+>", " ", str(status)).split("\n")[0].strip()  # the line, without markup
        result.update(ok=f"Added {path.name}" in status, status=status)
    except Exception as exc:
        result.update(ok=False, status=f"{type(exc).__name__}: {exc}")
    result["seconds"] = time.perf_counter() - started
    result["rss"] = rss_bytes(pid)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run(users: int, per_user: int, time_limit: float, workers: int | None, seed: int = 7) -> dict:
    from app import ASK_WORKERS
    from helpers_app import start_app

    tmp = Path(tempfile.mkdtemp(prefix="reportqa-load-"))
    shutil.copytree(ROOT / "seeds", tmp / "library")
    extra = ["--workers", str(workers)] if workers else []
    server = start_app(tmp / "library", tmp / "index", tmp / "app.log", *extra)
    try:
        if urlparse(server.url).hostname != "127.0.0.1":
            raise SystemExit(f"bench/load.py: {server.url} is not loopback; refusing to load it")
        pool = gold_questions()
        rng = random.Random(seed)
        crowd = [User(server.url, [rng.choice(pool) for _ in range(per_user)]) for _ in range(users)]
        memory = Memory(server.process.pid)
        started = time.monotonic()
        stop_at = started + time_limit

        all_at_once(crowd, lambda u: u.run(u.questions[:1], stop_at))  # warm-up
        warm_rss = rss_bytes(server.process.pid)
        warm_latencies = [x for u in crowd for x in u.latencies]
        for u in crowd:
            u.latencies = []

        uploaded: dict = {}
        uploader = threading.Thread(target=upload_report, args=(server.url, UPLOAD, uploaded, server.process.pid))
        run_started = time.monotonic()
        threads = [threading.Thread(target=u.run, args=(u.questions[1:], stop_at)) for u in crowd]
        for t in threads:
            t.start()
        uploader.start()
        for t in threads:
            t.join()
        uploader.join()
        run_s = time.monotonic() - run_started
        end_rss = rss_bytes(server.process.pid)
        memory.stop()

        # The clients are gone: nothing may be left waiting or running.
        for u in crowd:
            u.client.close()
        import httpx

        time.sleep(1.0)
        queue = httpx.get(server.url + "gradio_api/queue/status", timeout=10).json()
        cpu_before = cpu_seconds(server.process.pid)
        time.sleep(2.0)
        idle_cpu = cpu_seconds(server.process.pid) - cpu_before
        from gradio_client import Client

        client = Client(server.url, verbose=False)
        after = time.perf_counter()
        next_answer = client.predict("How are missing children handled?", api_name="/ask")
        next_ms = (time.perf_counter() - after) * 1000
        alive = server.process.poll() is None
    finally:
        server.stop()
        log = server.output()
        shutil.rmtree(tmp, ignore_errors=True)

    latencies = [x for u in crowd for x in u.latencies]
    failures = [f for u in crowd for f in u.failures]
    return {
        "users": users, "questions_per_user": per_user, "workers": workers or ASK_WORKERS, "time_limit_s": time_limit,
        "requests": len(latencies) + len(warm_latencies), "failed": len(failures),
        "busy": sum("busy" in f for f in failures), "failures_sample": failures[:3],
        "not_asked": sum(u.not_asked for u in crowd),
        "warmup_p50_ms": round(percentile(warm_latencies, 50) * 1000, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "throughput_qps": round(len(latencies) / run_s, 2),
        "upload_ok": bool(uploaded.get("ok")), "upload_s": round(uploaded.get("seconds", 0.0), 2),
        "upload_status": uploaded.get("status"),
        "rss_warm_mb": round(warm_rss / 2**20, 1), "rss_end_mb": round(end_rss / 2**20, 1),
        "rss_peak_mb": round(memory.peak / 2**20, 1), "rss_growth_pct": round(100 * (end_rss / warm_rss - 1), 2),
        "rss_after_upload_mb": round(uploaded.get("rss", 0) / 2**20, 1),
        "rss_growth_upload_pct": round(100 * (uploaded.get("rss", warm_rss) / warm_rss - 1), 2),
        "queue_size_after": queue.get("queue_size"), "idle_cpu_s_after": round(idle_cpu, 3),
        "next_answer_ms": round(next_ms, 1), "next_answered": "answer" in next_answer,
        "server_alive": alive, "traceback_in_log": "Traceback" in log,
    }


def table(f: dict) -> str:
    rows = [
        ("requests (warm-up included)", f"{f['requests']} ({f['users']} users x {f['questions_per_user']})", "", None),
        ("failed requests", f"{f['failed']} ({f['busy']} busy)", "0", f["failed"] == 0),
        ("not asked (time limit)", str(f["not_asked"]), "0", f["not_asked"] == 0),
        ("latency p50 / p95 / max", f"{f['p50_ms']} / {f['p95_ms']} / {f['max_ms']} ms", "", None),
        ("throughput", f"{f['throughput_qps']} questions/s ({f['workers']} workers)", "", None),
        ("upload while asking", f"{'added' if f['upload_ok'] else 'FAILED'} in {f['upload_s']} s", "added", f["upload_ok"]),
        ("server RSS after warm-up / end / peak", f"{f['rss_warm_mb']} / {f['rss_end_mb']} / {f['rss_peak_mb']} MB", "", None),
        ("RSS growth after warm-up", f"{f['rss_growth_pct']} %", f"< {MEMORY_GROWTH_TARGET:.0%}",
         f["rss_growth_pct"] < MEMORY_GROWTH_TARGET * 100),
        ("... of which by the time the upload was in", f"{f['rss_growth_upload_pct']} % ({f['rss_after_upload_mb']} MB)",
         "", None),
        ("queued once the clients went", str(f["queue_size_after"]), "0", f["queue_size_after"] == 0),
        ("server CPU in 2 s after", f"{f['idle_cpu_s_after']} s", "< 0.2 s", f["idle_cpu_s_after"] < 0.2),
        ("a next question", f"answered in {f['next_answer_ms']} ms", "answered", f["next_answered"]),
        ("traceback in the server's log", str(f["traceback_in_log"]), "False", not f["traceback_in_log"]),
    ]
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {'' if m is None else ('yes' if m else 'NO')} |" for a, b, c, m in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/load.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 users x 3 questions, a 120 s limit (make test)")
    p.add_argument("--users", type=int, help="concurrent users (default 20; 4 with --quick)")
    p.add_argument("--questions", type=int, help="questions per user (default 25; 3 with --quick)")
    p.add_argument("--time-limit", type=float, help="seconds after which no user asks again (600; 120 with --quick)")
    p.add_argument("--workers", type=int, help="app.py --workers (default: app.py's own)")
    args = p.parse_args(argv)
    users = args.users or (4 if args.quick else 20)
    per_user = args.questions or (3 if args.quick else 25)
    limit = args.time_limit or (120.0 if args.quick else 600.0)
    if users < 1 or per_user < 2 or not 0 < limit <= 3600:
        p.error("need --users >= 1, --questions >= 2 (one is the warm-up) and 0 < --time-limit <= 3600")
    started = time.monotonic()
    figures = run(users, per_user, limit, args.workers)
    figures.update(quick=args.quick, wall_s=round(time.monotonic() - started, 1))
    print(table(figures))
    print(json.dumps(figures, sort_keys=True))
    return 0 if figures["failed"] == 0 and figures["not_asked"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
