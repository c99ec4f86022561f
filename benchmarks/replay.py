"""Replay a stored run: re-run today's extraction code over the model answers that run logged.

No model is called: every request is answered with the response the run got
for the same request. The events the code builds now are compared, column by
column, with the events the run stored; with --gold they are also scored.

    python benchmarks/replay.py --db eval.duckdb --run 3f2a
    python benchmarks/replay.py --db eval.duckdb --run 3f2a --gold evals/gold --without sweep

prints one line per article that differs (or whose requests changed) and a
summary, and exits 1 when anything differs. Use it to show that a refactoring is
behaviour-neutral: identical events, zero misses.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.evaluation.replay import replay_run, score_replay  # noqa: E402

SKIP_COLUMNS = {"created_at"}


def _comparable(row: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    out = {}
    for k in sorted(keys - SKIP_COLUMNS):
        v = row.get(k)
        if isinstance(v, float):
            v = round(v, 6)
        if isinstance(v, date):
            v = v.isoformat()
        out[k] = v
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--run", required=True, help="run id or unique prefix")
    parser.add_argument("--gold", type=Path, help="also score the replayed events against this gold folder")
    parser.add_argument("--without", action="append", default=[], metavar="RULE", help="switch a code rule off")
    parser.add_argument("--prompt", help="replay with this prompt (name or path) instead of the run's")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the fields that differ")
    args = parser.parse_args()

    result = replay_run(args.db, args.run, without=args.without, prompt=args.prompt)
    if result.prompt_changed:
        print(f"note: the prompt changed since run {result.run_id[:8]} (hash differs): expect misses")
    n_same = n_diff = 0
    for a in result.articles:
        # Compare the columns both sides have: a run stored before a column was added lacks it.
        keys = set().union(*(r.keys() for r in a.stored)) if a.stored else set()
        keys &= set().union(*(r.keys() for r in a.now)) if a.now else keys
        before = [_comparable(r, keys) for r in a.stored]
        now = [_comparable(r, keys) for r in a.now]
        if now == before and not a.error:
            n_same += 1
            continue
        n_diff += 1
        print(
            f"DIFFERS {a.article.file_name}: {len(before)} stored events, {len(now)} now"
            + (f"; error: {a.error}" if a.error else "")
        )
        if args.verbose:
            for old, new in zip(before, now, strict=False):
                changed = {k: (old.get(k), new.get(k)) for k in old if old.get(k) != new.get(k)}
                if changed:
                    print("   ", changed)
    n_now = sum(len(a.now) for a in result.articles)
    n_stored = sum(len(a.stored) for a in result.articles)
    print(
        f"run {result.run_id[:8]}: {len(result.articles)} articles, {n_same} identical, {n_diff} differ; "
        f"{n_now} events now vs {n_stored} stored; {result.hits} answers replayed, {result.misses} misses"
    )
    if args.gold:
        score = score_replay(result, args.gold)
        fields = ", ".join(f"{k} {v:.2f}" for k, v in score.field_accuracy.items() if v is not None)
        print(
            f"scored against {args.gold}: event P/R/F1 {score.precision:.2f}/{score.recall:.2f}/{score.f1:.2f}, "
            f"slot F1 {score.slot_f1:.2f}, fatalities MAE {score.fatalities_mae or 0:.2f}; {fields}"
        )
    return 1 if (n_diff or result.misses) and not args.without else 0


if __name__ == "__main__":
    sys.exit(main())
