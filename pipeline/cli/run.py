"""`run-pipeline FOLDER`: extract the events of a folder of articles into the DuckDB file.

Builds the backend from the model options, runs `runner.run_pipeline` behind a
progress bar, prints a summary (articles, events, calls, cost) and exits with
`EXIT_FAILED_ARTICLES` when some article failed.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pipeline.cli.options import (
    backend_options,
    build_backend,
    db_option,
    handle_errors,
    model_options,
    prompt_option,
)
from pipeline.errors import EXIT_FAILED_ARTICLES, EXIT_USAGE
from pipeline.ingest import DEFAULT_MAX_BYTES

# -- run-pipeline ---------------------------------------------------------------

MAX_THREADS = 256  # --jobs in process: threads of one Python process


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("folder", type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=Path))
@db_option
@model_options(several_base_urls=True)
@prompt_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Extract at most this many articles.")
@click.option("--force", is_flag=True, help="Extract again articles already done with this model and prompt.")
@click.option(
    "--published",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Publication date (YYYY-MM-DD) for articles that have none in published.json or front matter.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="Files larger than this are recorded as failed instead of read.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1, max=65536),
    default=1,
    show_default=True,
    help="Articles extracted at once (at most this many model requests in flight). Raise it for remote "
    "servers (e.g. 8-32, within your rate limit); the embedded local model always runs 1. At most 256 in "
    "process; with --engine ray, the total over all workers.",
)
@click.option(
    "--engine",
    type=click.Choice(["in-process", "ray"]),
    default="in-process",
    show_default=True,
    help="in-process: worker threads in this process. ray: a Ray cluster (or a local Ray runtime) reads and "
    "extracts, workers write Parquet shards, this process merges them into the database "
    "(needs pip install -e '.[ray]').",
)
@click.option(
    "--ray-address",
    default=None,
    metavar="auto|ray://HOST:10001|HOST:6379",
    help="With --engine ray: the cluster to join ('auto': the one `ray start` runs on this machine). "
    "Default: start a local Ray runtime on this machine's cores.",
)
@click.option(
    "--ray-workers",
    type=click.IntRange(min=1, max=4096),
    default=2,
    show_default=True,
    help="With --engine ray: worker processes (Ray actors); --jobs requests in flight are spread over them.",
)
@click.option(
    "--ray-batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="With --engine ray: articles per batch, hence per Parquet shard. Default: each worker's share of --jobs, at least 8.",
)
@click.option(
    "--ray-worker-cpus",
    type=click.FloatRange(min=0.01),
    default=0.25,
    show_default=True,
    help="With --engine ray: CPUs Ray reserves for each worker (they mostly wait on the model server).",
)
@click.option(
    "--no-merge",
    is_flag=True,
    help="Do not merge the events into unique events after extraction (by default the latest events of "
    "every article are merged, as `merge-events` does: reports of one real event become one row).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the summary.")
@handle_errors
def run_pipeline_command(
    folder: Path,
    db_path: str,
    model: str,
    base_url: tuple[str, ...],
    api_key_env: str,
    mode: str | None,
    prompt_name: str,
    limit: int | None,
    force: bool,
    published: Any,
    max_bytes: int,
    jobs: int,
    engine: str,
    ray_address: str | None,
    ray_workers: int,
    ray_batch_size: int | None,
    ray_worker_cpus: float,
    no_merge: bool,
    quiet: bool,
) -> None:
    """Extract conflict events from every article in FOLDER into a DuckDB file.

    FOLDER is read recursively: .txt, .md (optional front matter: title,
    published, url, source) and .html saved from the web. Publication dates
    come from a published.json in each folder (file name -> YYYY-MM-DD), front
    matter, or --published.

    Articles already extracted with the same model and prompt are skipped, so
    an interrupted run continues where it stopped. Then the events of every
    article are merged into unique events (one row per real event reported by
    several articles; --no-merge skips it, `merge-events` redoes it). Query the
    results with SQL:

    \b
        duckdb conflict_events.duckdb "SELECT * FROM latest_events"
        duckdb conflict_events.duckdb "SELECT * FROM unique_events"

    Past one machine: --engine ray runs the extraction on a Ray cluster
    (--ray-address) against one or more OpenAI-compatible servers (--base-url,
    repeatable); this process merges the workers' Parquet shards into the
    database.
    """
    from pipeline.prompts import load_prompt
    from pipeline.runner import run_pipeline
    from pipeline.store.database import Store

    if engine != "ray" and (ray_address or ray_batch_size):
        click.echo("Error: --ray-address and --ray-batch-size go with --engine ray.", err=True)
        sys.exit(EXIT_USAGE)
    if engine != "ray" and jobs > MAX_THREADS:
        click.echo(f"Error: --jobs is at most {MAX_THREADS} in process; past that, use --engine ray.", err=True)
        sys.exit(EXIT_USAGE)
    if engine == "ray":
        from pipeline.distributed.engine import import_ray

        import_ray()  # a missing Ray is said before anything is opened
        if not base_url and model.split("/")[0] == "local":
            from pipeline.distributed.engine import LOCAL_MODEL_ON_RAY
            from pipeline.errors import BackendError

            raise BackendError(LOCAL_MODEL_ON_RAY)
    prompt = load_prompt(prompt_name)
    default_published: date | None = published.date() if published else None
    console = Console(stderr=True)
    store = Store(db_path)  # open first: a locked file should fail before the model loads
    try:
        if not quiet:
            console.print(f"Loading model [bold]{model}[/] ...", highlight=False)
        backend = build_backend(model, base_url, api_key_env, mode)
        if engine == "ray" and not quiet:
            where = ray_address or "a local Ray runtime"
            console.print(f"Engine ray: {ray_workers} workers on {where}, {jobs} requests in flight", highlight=False)
        progress = Progress(
            TextColumn("[bold]Extracting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("articles · {task.fields[events]} events · {task.fields[spa]} s/article"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet,
        )
        task_state: dict[str, Any] = {"events": 0, "done": 0, "seconds": 0.0}

        def on_progress(kind: str, payload: Any) -> None:
            if kind == "start":
                task_state["t0"] = time.monotonic()
                task_state["task"] = progress.add_task("extract", total=payload["total"], events=0, spa="–")
            elif kind == "article":
                if payload.status == "skipped" or (payload.status == "failed" and payload.seconds == 0):
                    if payload.status == "failed" and not quiet:
                        console.print(f"[yellow]failed[/] {payload.file_name}: {payload.error}", highlight=False)
                    return
                task_state["done"] += 1
                task_state["events"] += payload.n_events
                task_state["seconds"] = time.monotonic() - task_state["t0"]  # wall clock: true with --jobs
                if payload.status == "failed" and not quiet:
                    console.print(f"[yellow]failed[/] {payload.file_name}: {payload.error}", highlight=False)
                progress.update(
                    task_state["task"],
                    advance=1,
                    events=task_state["events"],
                    spa=f"{task_state['seconds'] / task_state['done']:.1f}",
                )

        with progress:
            if engine == "ray":
                from pipeline.distributed.engine import run_pipeline_ray
                from pipeline.distributed.worker import BackendSpec

                summary = run_pipeline_ray(
                    folder,
                    store,
                    backend,
                    prompt,
                    spec=BackendSpec(model, backend_options(base_url, api_key_env, mode)),
                    limit=limit,
                    force=force,
                    default_published=default_published,
                    max_bytes=max_bytes,
                    on_progress=on_progress,
                    workers=ray_workers,
                    concurrency=-(-jobs // ray_workers),
                    batch_size=ray_batch_size,
                    worker_cpus=ray_worker_cpus,
                    ray_address=ray_address,
                )
            else:
                summary = run_pipeline(
                    folder,
                    store,
                    backend,
                    prompt,
                    limit=limit,
                    force=force,
                    default_published=default_published,
                    max_bytes=max_bytes,
                    on_progress=on_progress,
                    jobs=jobs,
                )
        merged = None
        if not no_merge:
            from pipeline.merge.stage import merge_store

            if not quiet:
                console.print("Merging reports of the same event ...", highlight=False)
            merged = merge_store(store)
    finally:
        store.close()
    _print_summary(summary, backend.label, prompt.name, prompt.short_hash)
    if merged is not None:
        Console().print(f"Merged: {merged.line()} (SELECT * FROM unique_events).", highlight=False)
    if summary.count("failed"):
        sys.exit(EXIT_FAILED_ARTICLES)


def _print_summary(summary: Any, model: str, prompt_name: str, prompt_hash: str) -> None:
    out = Console()
    table = Table(title=f"Run {summary.run_id[:12]} · {model} · prompt {prompt_name} ({prompt_hash})")
    table.add_column("article")
    table.add_column("status")
    table.add_column("events", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("note", overflow="fold")
    for o in summary.outcomes:
        colour = {"ok": "green", "failed": "red", "skipped": "dim"}[o.status]
        table.add_row(
            o.file_name,
            f"[{colour}]{o.status}[/]",
            str(o.n_events),
            f"{o.seconds:.1f}" if o.seconds else "",
            o.error or "",
        )
    out.print(table)
    spa = summary.seconds_per_article
    out.print(
        f"{summary.count('ok')} extracted, {summary.count('failed')} failed, {summary.count('skipped')} skipped; "
        f"{summary.n_events} events; {summary.n_calls} model calls"
        + (f" (+{summary.n_cached} from cache)" if getattr(summary, "n_cached", 0) else "")
        + f"; {summary.prompt_tokens + summary.completion_tokens:,} tokens; "
        + _cost_text(getattr(summary, "cost_usd", None))
        + (f"{spa:.1f} s/article; " if spa is not None else "")
        + (
            f"{summary.articles_per_second:.1f} articles/s with {summary.jobs} jobs; "
            if getattr(summary, "jobs", 1) > 1 and summary.articles_per_second
            else ""
        )
        + f"{summary.seconds:.0f} s in all.",
        highlight=False,
    )
    out.print(
        f"Events are in [bold]{Path(summary.db_path).resolve()}[/] (SELECT * FROM latest_events).", highlight=False
    )


def _cost_text(cost: float | None) -> str:
    if cost is None:
        return "cost unknown (model not in pipeline/data/prices.json); "
    return f"${cost:.4f}; " if cost < 1 else f"${cost:,.2f}; "
