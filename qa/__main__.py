"""Command line: ``python -m qa [--library DIR] [--index DIR] [--model M] COMMAND``.

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

    s = sub.add_parser("eval", help="score a gold question set: recall@1, recall@3, MRR, abstention")
    s.add_argument("gold", type=Path, help="JSON lines: {q, evidence: [...]} or {q, abstain: true}")
    s.add_argument("--calibrate", action="store_true", help="also print the abstention threshold that fits this set best")
    s.add_argument("--compare", action="store_true", help="also run dense-only and BM25-only; print one table")
    return p


def _print_answer(answer) -> None:
    print(answer.answer)
    if answer.low_confidence and not answer.abstained:
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported after parsing so that --help stays instant.
    from index.embed import ModelError
    from index.read import ReportError
    from index.store import IndexUnusable
    from qa.ask import Asker, QuestionError
    from qa.eval import GoldError

    asker = Asker(args.library, args.index, args.model, retriever=args.retriever)
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
            from qa import eval as evaluation

            gold = evaluation.read_gold(args.gold)
            outcomes = evaluation.run(asker, gold)
            scores = {args.retriever: evaluation.score(outcomes)}
            print(evaluation.report(scores[args.retriever]))
            if args.compare:
                for other in ("dense", "bm25", "hybrid"):
                    if other not in scores:
                        scores[other] = evaluation.score(evaluation.run(asker, gold, retriever=other))
                print()
                print(evaluation.table(scores))
            if args.calibrate:
                threshold, accuracy = evaluation.calibrate(outcomes)
                print(f"calibrated abstention threshold {threshold:.3f} (accuracy {accuracy:.3f} on this set)")
            return 0
    except (QuestionError, ReportError, IndexUnusable, ModelError, GoldError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
