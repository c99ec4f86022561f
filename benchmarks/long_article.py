"""A 10,000-word article through the embedded model: chunks, calls, seconds per 1,000 words.

Long reports and live blogs run past the model's 4,096-token context; the staged
design splits them into chunks that share the cached system prompt, lists each
chunk's incidents and merges the events (`pipeline/extraction/staged.py`). This
benchmark builds one long "live blog" from the development articles (each one
an entry: its headline and text, in the order of the folder), extracts it with
the given model into a fresh DuckDB file and prints the time split into prefill
and generation, and, per entry, how many events cite it beside its required gold
events (a recall proxy: the entries' own dates differ from the blog's).

    .venv/bin/python benchmarks/long_article.py [--words 10000] [--model local]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT.parent / "shared" / "dev2", ROOT / "evals"]


def build(words: int) -> tuple[str, str, list[tuple[str, int, int, int]]]:
    """The blog text, its publication date, and per entry (name, start char, end char, required gold events)."""
    parts: list[str] = ["Live: a week of conflict reports from around the world", ""]
    entries = []
    latest = ""
    total = 0
    for source in SOURCES:
        published = json.loads((source / "articles" / "published.json").read_text())
        for path in sorted((source / "articles").glob("*.txt")):
            if total >= words:
                break
            gold_file = source / "gold" / f"{path.stem}.json"
            gold = json.loads(gold_file.read_text()) if gold_file.exists() else {"events": []}
            text = path.read_text(encoding="utf-8").strip()
            start = len("\n".join(parts)) + 1
            parts += [text, ""]
            entries.append((path.name, start, start + len(text), sum(1 for e in gold["events"] if e["required"])))
            latest = max(latest, published.get(path.name, ""))
            total += len(text.split())
    return "\n".join(parts), latest, entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--model", default="local")
    parser.add_argument("--prompt", default="default")
    args = parser.parse_args()
    text, published, entries = build(args.words)
    folder = Path(tempfile.mkdtemp())
    (folder / "blog.txt").write_text(text, encoding="utf-8")
    (folder / "published.json").write_text(json.dumps({"blog.txt": published}))
    db = folder / "long.duckdb"
    options = [str(folder), "--db", str(db), "--prompt", args.prompt, "--model", args.model, "-q"]
    n_words = len(text.split())
    print(f"{n_words} words, {len(text)} characters, {len(entries)} entries, published {published}", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "from pipeline.cli.run import run_pipeline_command as c; c()", *options],
        cwd=ROOT,
        check=False,
    )
    wall = time.monotonic() - started
    con = duckdb.connect(str(db), read_only=True)
    status, seconds, error = con.execute("SELECT status, seconds, error FROM run_articles").fetchone()
    calls = con.execute(
        "SELECT stage, count(*), sum(prefill_s), sum(generate_s), sum(prompt_tokens), sum(completion_tokens) "
        "FROM llm_calls GROUP BY stage ORDER BY stage"
    ).fetchall()
    evidence = [list(e or []) for (e,) in con.execute("SELECT evidence FROM events").fetchall()]
    con.close()
    print(
        f"exit {done.returncode}; article {status}{': ' + error if error else ''}; {seconds:.0f} s ({wall:.0f} s wall)"
    )
    print(f"seconds per 1,000 words: {seconds / n_words * 1000:.1f}")
    print(f"{'stage':10} {'calls':>6} {'prefill s':>10} {'generate s':>11} {'in tok':>8} {'out tok':>8}")
    for stage, n, pre, gen, ptok, ctok in calls:
        print(f"{stage:10} {n:6d} {pre or 0:10.1f} {gen or 0:11.1f} {ptok or 0:8d} {ctok or 0:8d}")
    print(f"{len(evidence)} events")
    found_total = required_total = 0
    for name, start, end, required in entries:
        entry = text[start:end]
        found = sum(1 for spans in evidence if spans and spans[0] in entry)
        found_total += min(found, required)
        required_total += required
        print(f"  {name:10} events citing it {found:2d}   required gold events {required:2d}")
    print(f"entries' required events with an event citing the entry (capped per entry): {found_total}/{required_total}")
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
