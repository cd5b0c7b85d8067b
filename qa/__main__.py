"""Command line: ``python -m qa [--library DIR] [--index DIR] [--model M] [--encoder E] COMMAND``.

Thin on purpose: parse options, call :mod:`qa.ask` / :mod:`index.sync`, print.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qa", description="Ask inspection reports questions; get cited passages.")
    p.add_argument("--library", type=Path, help="folder of reports (default: $REPORTQA_LIBRARY or seeds/)")
    p.add_argument("--index", type=Path, help="index directory (default: $REPORTQA_INDEX or .index/)")
    p.add_argument("--model", help="sentence-transformers model folder or cached hub id (default: $REPORTQA_MODEL or all-MiniLM-L6-v2)")
    p.add_argument("--encoder", choices=("torch", "onnx-int8"),
                   help="how the model runs: onnx-int8 (int8 ONNX Runtime, faster) or torch (float32) "
                        "(default: $REPORTQA_ENCODER or torch)")
    p.add_argument("--retriever", choices=("dense", "hybrid", "bm25"), default="hybrid",
                   help="hybrid (dense + BM25, fused; default), dense (FAISS passage and sentence vectors) or bm25")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("index", help="build or bring the index up to date with the library")
    s.add_argument("--rebuild", action="store_true", help="re-read and re-embed every report")
    s.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")

    s = sub.add_parser("add", help="copy report files into the library and sync")
    s.add_argument("files", nargs="+", type=Path, help="PDF, TXT or MD files")

    s = sub.add_parser("remove", help="delete reports from the library and sync")
    s.add_argument("reports", nargs="+", help="report ids or file names (see `reports`)")

    sub.add_parser("reports", help="list the indexed reports")

    s = sub.add_parser("ask", help="answer a question (or, with --json and no question, one per stdin line)")
    s.add_argument("question", nargs="?", help="the question, in plain English")
    s.add_argument("--json", action="store_true", help="print JSON objects, one per line")
    s.add_argument("--top-k", type=int, default=5, help="passages to cite (default 5)")
    s.add_argument("--report", action="append", dest="reports", metavar="REPORT",
                   help="only search this report (id or file name); repeatable")

    s = sub.add_parser("eval", help="score gold question sets: recall@1, recall@3, MRR, abstention")
    s.add_argument("gold", type=Path, nargs="+", help="JSON lines: {q, evidence: [...]} or {q, abstain: true}; each file is scored on its own")
    s.add_argument("--calibrate", action="store_true", help="also print the abstention threshold that fits these sets best")
    s.add_argument("--compare", action="store_true",
                   help="also run dense-only, BM25-only and the naive baseline (fixed 200-word chunks, dense only); print one table a set")
    s.add_argument("--scoped", action="store_true",
                   help="ask each question tied to a report (gold \"report\") of that report only, to see retrieval within one report")
    s.add_argument("--misses", action="store_true",
                   help="list every miss: the rank each retriever gave the right passage, its length and page, what ranked above, the likely cause")
    return p


def _print_answer(answer) -> None:
    print(answer.answer)
    if answer.low_confidence and not answer.abstained:
        if answer.low_confidence_reason == "disagree":
            print("(low confidence: the two best passages are about equally good and differ; both are quoted)")
        else:
            print("(low confidence: the best evidence is weak)")
    print()
    print("Sources (low confidence):" if answer.abstained else "Sources:")
    for c in answer.citations:
        where = f"paragraph {c.paragraph}" + (f" (numbered {c.number}.)" if c.number else "")
        if c.page is not None:
            where += f", p. {c.page}" if c.page_end in (None, c.page) else f", pp. {c.page}–{c.page_end}"
        print(f"[{c.n}] {c.title} — {where} — {c.source} (similarity {c.score:.2f})")
        if c.also_in:
            print(f"    also in: {c.also_in_text()}")
        for line in c.text.splitlines():
            if line.strip():
                print(f"    {line.strip()}")


def _eval(asker, args) -> int:
    """Score each gold file on its own against the whole library, as a reader asks."""
    from qa import eval as evaluation

    sets = {path: evaluation.read_gold(path) for path in args.gold}
    naive = texts = None
    if args.compare:
        from qa.baseline import NaiveRetriever

        index = asker.loaded()
        naive = NaiveRetriever(index, asker.embedder)
        texts = {rid: index.text(rid) for rid in index.entries}
    every, causes, tied = [], {}, {}
    for path, gold in sets.items():
        outcomes = evaluation.run(asker, gold, scoped=args.scoped)
        every += outcomes
        scores = {args.retriever: evaluation.score(outcomes)}
        print(f"## {path.stem}")
        print(evaluation.report(scores[args.retriever]))
        if args.misses:
            misses = [evaluation.diagnose(asker, o) for o in scores[args.retriever].misses if not o.gold.abstain]
            print(evaluation.misses_report(misses))
            for m in misses:
                causes[m.cause] = causes.get(m.cause, 0) + 1
                if m.gold.report:
                    tied[m.cause] = tied.get(m.cause, 0) + 1
        if args.compare:
            for other in ("dense", "bm25", "hybrid"):
                if other not in scores:
                    scores[other] = evaluation.score(evaluation.run(asker, gold, retriever=other, scoped=args.scoped))
            scores["naive"] = evaluation.score(evaluation.run_naive(naive, texts, gold))
            print()
            print(evaluation.table(scores))
        print()
    if args.misses and len(sets) > 1:
        for label, counts in (("all sets", causes), ("the sets tied to a report (gold lines with \"report\")", tied)):
            print(f"misses of {label} by cause: " + ", ".join(f"{c} {counts[c]}" for c in evaluation.CAUSES if c in counts))
    if args.calibrate:
        threshold, accuracy = evaluation.calibrate(every)
        print(f"calibrated abstention threshold {threshold:.3f} (accuracy {accuracy:.3f} on these sets)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported after parsing so that --help stays instant.
    from index.embed import ModelError
    from index.errors import ReportError
    from index.store import IndexUnusable
    from qa.ask import Asker, QuestionError
    from qa.eval import GoldError

    asker = Asker(args.library, args.index, args.model, retriever=args.retriever, encoder=args.encoder)
    try:
        if args.command == "index":
            result = asker.sync(rebuild=args.rebuild, dry_run=args.dry_run, progress=sys.stderr.isatty())
            return 1 if result.errors else 0
        if args.command == "add":
            missing = [f for f in args.files if not f.is_file()]
            if missing:
                raise QuestionError(f"{missing[0]}: no such file")
            paths, result = asker.add(args.files, progress=sys.stderr.isatty())
            return 1 if result.errors else 0
        if args.command == "remove":
            paths, result = asker.remove(args.reports, progress=sys.stderr.isatty())
            return 1 if result.errors else 0
        if args.command == "reports":
            for r in asker.reports():
                pages = f"{r.pages} pages, " if r.pages else ""
                print(f"{r.id}\t{r.title}\t{r.date or '-'}\t{pages}{r.passages} passages\t{r.source}")
            return 0
        if args.command == "ask":
            if args.top_k <= 0:
                raise QuestionError(f"--top-k must be greater than 0. Currently, it is {args.top_k}")
            if args.question is None and not args.json:
                raise QuestionError("No question: pass one in quotes, or use --json to read them from stdin.")
            questions = [args.question] if args.question is not None else [l for l in sys.stdin if l.strip()]
            for q in questions:
                answer = asker.ask(q, top_k=args.top_k, reports=args.reports)
                if args.json:
                    print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
                else:
                    _print_answer(answer)
            return 0
        if args.command == "eval":
            return _eval(asker, args)
    except (QuestionError, ReportError, IndexUnusable, ModelError, GoldError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
