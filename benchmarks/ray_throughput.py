"""Benchmark: the Ray engine against the in-process engine, and what a million articles would take.

    .venv/bin/python benchmarks/ray_throughput.py [--articles 2000] [--latency 0.3] [--jobs 16] [--workers 2,4,8]

Writes a corpus of distinct articles made from the development articles
(../shared/dev/articles, else evals/articles), starts
tests/support/fake_openai_server.py in its own process with `latency` seconds
per call, and measures articles per second (wall clock of the whole run,
ingest included, on a fresh database each) for:

1. the in-process engine at --jobs N;
2. the Ray engine (a local runtime on this machine's cores, started once) with
   W workers x N/W requests each, for each W in --workers: the same total
   concurrency; and once more at 2N in flight (--scale-jobs) to show it scales;

and checks that every run stored the same events. Then it measures the tokens
of one article's calls (a sample of the development articles, through the same
extraction, every request as sent: messages and response schema, counted with
the embedded Qwen2.5 tokenizer when it is installed, else at 4 characters per
token) and projects wall time and cost for --project articles on a cluster,
with its assumptions printed.

Not a test (timings depend on the machine); quote its output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import duckdb
from remote_throughput import ServerProcess

from pipeline.backends import get_backend
from pipeline.costs import price_for
from pipeline.distributed.engine import run_pipeline_ray
from pipeline.distributed.worker import BackendSpec
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from tests.support.fake_openai_server import write_corpus

MODEL = "openai/fake-model"


def dev_sources() -> Path:
    shared = ROOT.parent / "shared" / "dev" / "articles"
    return shared if (shared / "published.json").is_file() else ROOT / "evals" / "articles"


def events_of(db: Path, run_id: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            """SELECT a.file_name, e.* EXCLUDE (event_id, run_id, created_at)
               FROM events e JOIN articles a USING (article_id) WHERE e.run_id = ? ORDER BY 1, event_index""",
            [run_id],
        ).fetchall()
    finally:
        con.close()


def measure(label: str, db: Path, run: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    with Store(db) as store:
        summary = run(store)
    wall = time.perf_counter() - t0
    done = summary.count("ok") + summary.count("failed")
    result = {
        "engine": label,
        "wall_s": round(wall, 1),
        "articles": done,
        "ok": summary.count("ok"),
        "articles_per_s": round(done / wall, 2) if wall else 0.0,
        "calls": summary.n_calls,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "run_id": summary.run_id,
        "db": db,
    }
    print(
        f"{label:32s} {wall:7.1f} s  {result['articles_per_s']:6.2f} articles/s  ({summary.n_calls} calls)", flush=True
    )
    return result


# -- tokens per article ----------------------------------------------------------------------------


def token_counter():
    """Qwen2.5's tokenizer (vocabulary only) when the embedded model is installed, else 4 characters a token."""
    try:
        from llama_cpp import Llama

        from pipeline.backends.model_files import DEFAULT_LOCAL_MODEL, ensure_model_file

        vocab = Llama(model_path=str(ensure_model_file(DEFAULT_LOCAL_MODEL)), vocab_only=True, verbose=False)
        return "Qwen2.5 tokenizer", lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))
    except Exception as exc:  # no llama-cpp-python or no model file
        return f"4 characters per token ({type(exc).__name__})", lambda text: math.ceil(len(text) / 4)


def tokens_per_article(sources: Path, url: str, prompt_name: str) -> dict[str, Any]:
    """Run the development articles once, recording every request as sent and every answer."""
    name, count = token_counter()
    sent: list[tuple[int, int]] = []
    backend = get_backend(MODEL, base_url=url)
    create = backend.create

    def recording(**kwargs: Any) -> Any:
        completion = create(**kwargs)
        schema = {k: kwargs[k] for k in ("tools", "tool_choice", "response_format") if k in kwargs}
        # Chat template: about 5 tokens around each message, plus the schema as the server sees it.
        prompt = sum(count(str(m.get("content") or "")) + 5 for m in kwargs.get("messages", []))
        prompt += count(json.dumps(schema, ensure_ascii=False)) if schema else 0
        message = completion.choices[0].message
        text = message.content or "".join(c.function.arguments for c in message.tool_calls or [])
        sent.append((prompt, count(text)))
        return completion

    backend.create = recording
    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "tokens.duckdb") as store:
            summary = run_pipeline(sources, store, backend, load_prompt(prompt_name), jobs=4, cache=False)
    n = summary.count("ok") + summary.count("failed")
    return {
        "tokenizer": name,
        "articles": n,
        "calls_per_article": len(sent) / n,
        "prompt_tokens_per_article": sum(p for p, _ in sent) / n,
        "completion_tokens_per_article": sum(c for _, c in sent) / n,
    }


def projection(args: argparse.Namespace, tokens: dict[str, Any]) -> dict[str, Any]:
    """Wall time and cost of args.project articles, from the measured tokens and the stated assumptions."""
    n = args.project
    prompt_t = tokens["prompt_tokens_per_article"] * n
    completion_t = tokens["completion_tokens_per_article"] * n
    calls = tokens["calls_per_article"] * n
    price = price_for(args.price_model) or {}
    hosted_cost = (prompt_t * price.get("input", 0) + completion_t * price.get("output", 0)) / 1e6
    # Self-hosted: the endpoints' generation speed bounds the time, and so does latency x calls / concurrency.
    gen_bound_s = completion_t / (args.endpoints * args.endpoint_tokens_per_s)
    prefill_bound_s = prompt_t / (args.endpoints * args.endpoint_prefill_tokens_per_s)
    in_flight = args.endpoints * args.requests_per_endpoint
    latency_bound_s = calls * args.call_latency / in_flight
    self_hosted_s = max(gen_bound_s + prefill_bound_s, latency_bound_s)
    hosted_s = calls * args.call_latency / args.hosted_in_flight
    return {
        "articles": n,
        "prompt_tokens": round(prompt_t),
        "completion_tokens": round(completion_t),
        "calls": round(calls),
        "hosted": {
            "model": args.price_model,
            "usd_per_1m_input": price.get("input"),
            "usd_per_1m_output": price.get("output"),
            "cost_usd": round(hosted_cost, 2),
            "in_flight": args.hosted_in_flight,
            "call_latency_s": args.call_latency,
            "wall_hours": round(hosted_s / 3600, 2),
        },
        "self_hosted": {
            "endpoints": args.endpoints,
            "generation_tokens_per_s_per_endpoint": args.endpoint_tokens_per_s,
            "prefill_tokens_per_s_per_endpoint": args.endpoint_prefill_tokens_per_s,
            "requests_in_flight_per_endpoint": args.requests_per_endpoint,
            "wall_hours": round(self_hosted_s / 3600, 2),
            "gpu_hours": round(self_hosted_s / 3600 * args.endpoints, 1),
            "cost_usd": round(self_hosted_s / 3600 * args.endpoints * args.gpu_usd_per_hour, 2),
            "gpu_usd_per_hour": args.gpu_usd_per_hour,
        },
        "ray_workers_needed": math.ceil(in_flight / args.concurrency_per_worker),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--jobs", type=int, default=16, help="total requests in flight, for both engines")
    parser.add_argument("--workers", default="2,4,8", help="Ray worker counts to measure (each with jobs/W requests)")
    parser.add_argument("--scale-jobs", type=int, default=32, help="one more Ray run at this total (0: none)")
    parser.add_argument("--prompt", default="default")
    parser.add_argument("--sources", type=Path, default=None, help="articles the corpus is made from")
    parser.add_argument("--workdir", default=None, help="keep the corpus and databases here (default: a temp dir)")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray runtime")
    # The projection's assumptions.
    parser.add_argument("--project", type=int, default=1_000_000, help="articles to project for")
    parser.add_argument("--price-model", default="gpt-4o-mini", help="hosted model whose price (prices.json) is used")
    parser.add_argument("--hosted-in-flight", type=int, default=256, help="requests in flight against the hosted API")
    parser.add_argument("--call-latency", type=float, default=2.0, help="seconds per call of a real model")
    parser.add_argument("--endpoints", type=int, default=8, help="self-hosted vLLM endpoints (one GPU each)")
    parser.add_argument("--endpoint-tokens-per-s", type=float, default=2500.0, help="generated tokens/s per endpoint")
    parser.add_argument("--endpoint-prefill-tokens-per-s", type=float, default=20000.0, help="prompt tokens/s")
    parser.add_argument("--requests-per-endpoint", type=int, default=64, help="requests in flight per endpoint")
    parser.add_argument("--gpu-usd-per-hour", type=float, default=2.0)
    parser.add_argument("--concurrency-per-worker", type=int, default=32, help="requests in flight per Ray worker")
    args = parser.parse_args()

    sources = args.sources or dev_sources()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ray-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    write_corpus(corpus, args.articles, sources)
    prompt = load_prompt(args.prompt)
    print(
        f"{args.articles} articles from {sources}, prompt {args.prompt}, {args.latency * 1000:.0f} ms per call, "
        f"{os.cpu_count()} cores, work dir {work}",
        flush=True,
    )

    import ray

    results: list[dict[str, Any]] = []
    with ServerProcess(args.latency) as server:
        spec = BackendSpec(MODEL, {"base_url": server.url})
        # Warm-up (imports, gazetteer) so the first measured run pays no first-use cost.
        with Store(work / "warmup.duckdb") as store:
            run_pipeline(sources, store, spec.build(), prompt, jobs=4)
        results.append(
            measure(
                f"in-process --jobs {args.jobs}",
                work / "inprocess.duckdb",
                lambda store: run_pipeline(corpus, store, spec.build(), prompt, jobs=args.jobs),
            )
        )
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
        # The same for Ray: a running cluster has its worker processes started.
        with Store(work / "warmup-ray.duckdb") as store:
            run_pipeline_ray(sources, store, spec.build(), prompt, spec=spec, workers=2, concurrency=4)
        shapes = [(w, max(1, args.jobs // w)) for w in (int(x) for x in args.workers.split(",") if x)]
        if args.scale_jobs:
            w = max(int(x) for x in args.workers.split(","))
            shapes.append((w, max(1, args.scale_jobs // w)))
        for workers, concurrency in shapes:
            results.append(
                measure(
                    f"ray {workers} workers x {concurrency}",
                    work / f"ray-{workers}x{concurrency}.duckdb",
                    lambda store, w=workers, c=concurrency: run_pipeline_ray(
                        corpus, store, spec.build(), prompt, spec=spec, workers=w, concurrency=c
                    ),
                )
            )
        ray.shutdown()
        tokens = tokens_per_article(sources, server.url, args.prompt)

    base = results[0]
    reference = events_of(base["db"], base["run_id"])
    print("\nsame events in every run: ", end="")
    same = all(events_of(r["db"], r["run_id"]) == reference for r in results[1:])
    print(same)
    for r in results[1:]:
        r["ratio_to_in_process"] = round(r["articles_per_s"] / base["articles_per_s"], 2)
        print(f"{r['engine']:32s} {r['ratio_to_in_process']:.2f} x in-process")
    bound = args.jobs / (base["calls"] / base["articles"] * args.latency)
    print(f"latency bound at {args.jobs} in flight: {bound:.1f} articles/s")
    projected = projection(args, tokens)
    summary = {
        "articles": args.articles,
        "latency_s": args.latency,
        "cores": os.cpu_count(),
        "runs": [{k: v for k, v in r.items() if k not in ("db", "run_id")} for r in results],
        "same_events": same,
        "latency_bound_articles_per_s": round(bound, 1),
        "tokens": {k: round(v, 1) if isinstance(v, float) else v for k, v in tokens.items()},
        "projection": projected,
    }
    print(json.dumps(summary, indent=1, default=str))
    return 0 if same and all(r["ok"] == base["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
