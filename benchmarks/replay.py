"""Replay a stored run: re-run today's extraction code over the model answers that run logged.

No model is called: every request is answered with the response the run got
for the same request (`pipeline.backends.replay`). The events the code builds
now are compared, column by column, with the events the run stored.

    python benchmarks/replay.py --db eval.duckdb --run 3f2a

prints one line per article that differs (or whose requests changed) and a
summary, and exits 1 when anything differs. Use it to show that a refactoring is
behaviour-neutral: identical events, zero misses.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.backends.replay import logged_answers, make_replay_backend  # noqa: E402
from pipeline.extraction.article import extract_article  # noqa: E402
from pipeline.ingest import Article  # noqa: E402
from pipeline.prompts import load_prompt  # noqa: E402
from pipeline.runner import build_event_rows  # noqa: E402
from pipeline.store.database import Store  # noqa: E402
from pipeline.store.replay import logged_calls, run_articles, run_event_rows, run_info  # noqa: E402

SKIP_COLUMNS = {"created_at"}


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k in SKIP_COLUMNS:
            continue
        if isinstance(v, float):
            v = round(v, 6)
        if isinstance(v, date):
            v = v.isoformat()
        out[k] = v
    return out


def replay(db: Path, run_ref: str, verbose: bool = False) -> int:
    with Store(db, read_only=True) as store:
        run_id = store.resolve_run(run_ref)
        info = run_info(store, run_id)
        answers = logged_answers(logged_calls(store, run_id))
        articles = run_articles(store, run_id)
        stored = run_event_rows(store, run_id)
    prompt = load_prompt(info["prompt_name"])
    if prompt.hash != info["prompt_hash"]:
        print(f"note: prompt {prompt.name!r} changed since run {run_id[:8]} (hash differs): expect misses")
    backend = make_replay_backend(
        None, answers=answers, model_id=info["model"], mode=info.get("instructor_mode"), run_id=run_id
    )
    by_article: dict[str, list[dict[str, Any]]] = {}
    for row in stored:
        by_article.setdefault(row["article_id"], []).append(_comparable(row))
    n_same = n_diff = n_events = 0
    for a in articles:
        meta = a["metadata"]
        article = Article(
            path=a["path"] or a["file_name"],
            file_name=a["file_name"],
            text=a["text"],
            article_id=a["article_id"],
            title=a["title"],
            published=a["published"],
            url=a["url"],
            source=a["source"],
            metadata=json.loads(meta) if isinstance(meta, str) else (meta or {}),
        )
        result = extract_article(article, prompt, backend, run_id)
        now = [_comparable(r) for r in build_event_rows(result, article, run_id)]
        for r in now:
            r.pop("created_at", None)
        before = by_article.get(a["article_id"], [])
        n_events += len(now)
        if now == before and not result.error:
            n_same += 1
            continue
        n_diff += 1
        print(
            f"DIFFERS {a['file_name']}: {len(before)} stored events, {len(now)} now"
            + (f"; error: {result.error}" if result.error else "")
        )
        if verbose:
            for old, new in zip(before, now, strict=False):
                changed = {k: (old.get(k), new.get(k)) for k in set(old) | set(new) if old.get(k) != new.get(k)}
                if changed:
                    print("   ", changed)
    stats = backend.parameters["stats"]
    print(
        f"run {run_id[:8]}: {len(articles)} articles, {n_same} identical, {n_diff} differ; "
        f"{n_events} events now vs {len(stored)} stored; {stats['hits']} answers replayed, {stats['misses']} misses"
    )
    return 1 if n_diff or stats["misses"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--run", required=True, help="run id or unique prefix")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the fields that differ")
    args = parser.parse_args()
    return replay(args.db, args.run, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
