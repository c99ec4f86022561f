"""Seconds per article on the embedded model, split into prefill and generation.

Runs the pipeline on a folder (default: evals/articles, the 21 gold articles)
with the given prompt and model into a fresh DuckDB file, or reads an existing
run, and prints per-article and mean timings from the llm_calls log.

    .venv/bin/python benchmarks/local_speed.py --prompt default
    .venv/bin/python benchmarks/local_speed.py --db runs.duckdb --run 3fa2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=str(ROOT / "evals" / "articles"))
    parser.add_argument("--prompt", default="default")
    parser.add_argument("--model", default="local")
    parser.add_argument("--db", default=None, help="read an existing DuckDB file instead of running")
    parser.add_argument("--run", default=None, help="run id (prefix) to read from --db; default: the latest run")
    args = parser.parse_args()

    db = args.db
    if db is None:
        db = str(Path(tempfile.mkdtemp()) / "speed.duckdb")
        cmd = [
            str(Path(sys.executable).parent / "run-pipeline"),
            args.folder,
            "--db",
            db,
            "--prompt",
            args.prompt,
            "--model",
            args.model,
            "-q",
        ]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=False)
    con = duckdb.connect(db, read_only=True)
    run = con.execute(
        "SELECT run_id, model, prompt_name FROM runs WHERE run_id LIKE ? || '%' ORDER BY started_at DESC LIMIT 1",
        [args.run or ""],
    ).fetchone()
    if run is None:
        print("no run found", file=sys.stderr)
        return 1
    rows = con.execute(
        """
        SELECT a.file_name, ra.seconds, count(c.call_id) AS calls,
               sum(c.prefill_s) AS prefill, sum(c.generate_s) AS generate,
               sum(c.prompt_tokens) AS ptok, sum(c.completion_tokens) AS ctok, ra.n_events
        FROM run_articles ra JOIN articles a USING (article_id)
        LEFT JOIN llm_calls c ON c.run_id = ra.run_id AND c.article_id = ra.article_id
        WHERE ra.run_id = ? AND ra.status IN ('ok', 'failed') AND ra.seconds IS NOT NULL
        GROUP BY ALL ORDER BY a.file_name
        """,
        [run[0]],
    ).fetchall()
    print(f"run {run[0][:12]}  model {run[1]}  prompt {run[2]}")
    print(
        f"{'article':28} {'seconds':>8} {'prefill':>8} {'generate':>8} {'calls':>6} {'in tok':>7} {'out tok':>7} {'events':>6}"
    )
    for name, sec, calls, pre, gen, ptok, ctok, nev in rows:
        print(
            f"{name:28} {sec:8.1f} {pre or 0:8.1f} {gen or 0:8.1f} {calls:6d} {ptok or 0:7d} {ctok or 0:7d} {nev or 0:6d}"
        )
    n = len(rows) or 1
    mean = lambda i: sum((r[i] or 0) for r in rows) / n  # noqa: E731
    print(
        f"{'MEAN':28} {mean(1):8.1f} {mean(3):8.1f} {mean(4):8.1f} {mean(2):6.1f} {mean(5):7.0f} {mean(6):7.0f} {mean(7):6.1f}"
    )
    print(
        f"articles: {len(rows)}; mean seconds/article {mean(1):.1f} (prefill {mean(3):.1f} + generation {mean(4):.1f} + other)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
