"""Benchmark: the pipeline against a slow, flaky OpenAI-compatible server.

    .venv/bin/python benchmarks/remote_throughput.py [--articles 200] [--latency 0.3] [--jobs 16]

Starts tests/support/fake_openai_server.py in its own process (so the server does not
compete with the pipeline for the GIL), writes a corpus of distinct articles,
and in one invocation measures:

1. throughput at --jobs 1 and at --jobs N against the server with `latency`
   seconds per call (fresh database each, so nothing comes from the cache);
   the target is a ratio >= 12 at N = 16 and 300 ms;
2. the same at --jobs N with `failure-rate` of calls failing with 429
   (Retry-After) or 500: every article must end extracted, with the same
   events as the clean run, none lost or duplicated; reports model calls per
   article and checks them against the server's own request count;
3. a rerun of run 2 (unchanged: every article skipped) and a forced rerun
   (every article redone, answered by the response cache): zero model calls.

Not a test (timings depend on the machine); quote its output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.backends import get_backend
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from tests.support.fake_openai_server import write_corpus


class ServerProcess:
    def __init__(
        self, latency: float, failure_rate: float = 0.0, kinds: str = "429,500", seed: int = 0, retry_after: float = 1.0
    ):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.fake_openai_server",
                "--latency",
                str(latency),
                "--failure-rate",
                str(failure_rate),
                "--kinds",
                kinds,
                "--seed",
                str(seed),
                "--retry-after",
                str(retry_after),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            self.proc.kill()
            raise RuntimeError(f"fake server did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/_stats", timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_once(db: Path, corpus: Path, url: str, jobs: int, force: bool = False) -> dict:
    prompt = load_prompt("naive")
    backend = get_backend("openai/fake-model", base_url=url)
    with Store(db) as store:
        summary = run_pipeline(corpus, store, backend, prompt, jobs=jobs, force=force)
        con = store.con
        calls = con.execute(
            "SELECT outcome, count(*) FROM llm_calls WHERE run_id = ? GROUP BY ALL ORDER BY 1", [summary.run_id]
        ).fetchall()
        events = con.execute(
            """SELECT a.file_name, e.event_index, e.event_type, e.sub_event_type, e.fatalities, e.evidence
               FROM events e JOIN articles a USING (article_id) WHERE e.run_id = ?""",
            [summary.run_id],
        ).fetchall()
        per_article = con.execute(
            "SELECT count(*), count(DISTINCT article_id) FROM run_articles WHERE run_id = ? AND status = 'ok'",
            [summary.run_id],
        ).fetchone()
    extracted = summary.count("ok") + summary.count("failed")
    return {
        "jobs": jobs,
        "seconds": summary.seconds,
        "articles_per_s": extracted / summary.seconds if summary.seconds and extracted else 0.0,
        "ok": summary.count("ok"),
        "failed": summary.count("failed"),
        "skipped": summary.count("skipped"),
        "model_calls": summary.n_calls,
        "cached_calls": summary.n_cached,
        "calls_by_outcome": dict(calls),
        "ok_rows_and_distinct_articles": list(per_article),
        "events": sorted(json.dumps(e, default=str) for e in events),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--failure-rate", type=float, default=0.10)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--workdir", default=None, help="keep the corpus and databases here (default: a temp dir)")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-real-key")

    work = Path(args.workdir or tempfile.mkdtemp(prefix="remote-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    write_corpus(corpus, args.articles)
    print(f"{args.articles} articles, {args.latency * 1000:.0f} ms per call, work dir {work}", flush=True)

    ok = True
    with ServerProcess(args.latency) as server:
        # Warm up (imports, gazetteer, schema caches) so neither measured run pays first-use costs.
        run_once(work / "warmup.duckdb", ROOT / "seeds", server.url, 1)
        one = run_once(work / "jobs1.duckdb", corpus, server.url, 1)
        print(f"jobs=1 : {one['seconds']:6.1f} s  {one['articles_per_s']:6.2f} articles/s", flush=True)
        many = run_once(work / f"jobs{args.jobs}.duckdb", corpus, server.url, args.jobs)
        print(f"jobs={args.jobs}: {many['seconds']:6.1f} s  {many['articles_per_s']:6.2f} articles/s", flush=True)
    ratio = many["articles_per_s"] / one["articles_per_s"]
    same = one["events"] == many["events"]
    print(f"throughput ratio jobs={args.jobs} / jobs=1: {ratio:.1f}x (target >= 12x); same events: {same}")
    ok &= same and one["ok"] == many["ok"] == args.articles

    with ServerProcess(args.latency, args.failure_rate, "429,500", seed=1, retry_after=args.retry_after) as flaky:
        db = work / "flaky.duckdb"
        bad = run_once(db, corpus, flaky.url, args.jobs)
        stats = flaky.stats()
        lost_or_dup = bad["ok_rows_and_distinct_articles"] != [args.articles, args.articles]
        same_events = bad["events"] == many["events"]
        print(
            f"with {args.failure_rate:.0%} 429/500: {bad['ok']}/{args.articles} extracted, {bad['failed']} failed, "
            f"{bad['seconds']:.1f} s ({bad['articles_per_s']:.2f} articles/s); calls by outcome {bad['calls_by_outcome']}; "
            f"{bad['model_calls'] / args.articles:.3f} calls/article; server saw {stats.get('requests')} requests "
            f"({stats.get('429', 0)} x 429, {stats.get('500', 0)} x 500); same events as clean run: {same_events}; "
            f"lost or duplicated: {lost_or_dup}",
            flush=True,
        )
        ok &= bad["ok"] == args.articles and same_events and not lost_or_dup
        ok &= bad["model_calls"] == stats.get("requests")

        again = run_once(db, corpus, flaky.url, args.jobs)
        forced = run_once(db, corpus, flaky.url, args.jobs, force=True)
        after = flaky.stats().get("requests")
        print(
            f"rerun: {again['model_calls']} model calls ({again['skipped']} skipped); "
            f"forced rerun: {forced['model_calls']} model calls, {forced['cached_calls']} from cache, "
            f"{forced['ok']} extracted, same events: {forced['events'] == many['events']}; "
            f"server requests during reruns: {after - stats.get('requests', 0)}"
        )
        ok &= again["model_calls"] == 0 and forced["model_calls"] == 0 and after == stats.get("requests")

    result = {
        "articles": args.articles,
        "latency_s": args.latency,
        "jobs": args.jobs,
        "jobs1_articles_per_s": round(one["articles_per_s"], 3),
        f"jobs{args.jobs}_articles_per_s": round(many["articles_per_s"], 3),
        "ratio": round(ratio, 2),
        "failure_rate": args.failure_rate,
        "calls_per_article_with_failures": round(bad["model_calls"] / args.articles, 3),
        "rerun_model_calls": again["model_calls"],
        "forced_rerun_model_calls": forced["model_calls"],
        "all_checks_passed": bool(ok),
    }
    print(json.dumps(result, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
