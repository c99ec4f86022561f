"""The Ray engine: `run-pipeline FOLDER --engine ray`.

The driver (this process) lists the folder and owns the database; Ray does the rest:

1. **Ingest**: the file paths become a Ray Dataset; `read_batch` reads them into
   article rows on the workers (`pipeline.ingest.read_article`), materialised in
   Ray's object store. The driver pulls back only ids and names to decide, as the
   in-process engine does, what is extracted: not a duplicate, not already done
   with this model and prompt, within --limit.
2. **Extract**: `ExtractBatches` actors (`workers` of them, each with
   `concurrency` threads, so workers x concurrency requests in flight) run the
   in-process engine's own code on each batch and write one Parquet shard per
   batch under `<db>.shards/<run_id>/` (`pipeline.distributed.shards`). Workers
   never open the database.
3. **Merge**: as shards arrive, the driver merges them into DuckDB, several per
   transaction (`Store.merge_shards`: `INSERT ... BY NAME SELECT * FROM
   read_parquet(...)`), and deletes them. One writer, as ever.

Fault tolerance: Ray restarts a killed actor and retries its batch; a batch's
shard is written atomically under a key derived from its articles, so a retry
either finds the shard finished or writes it once. The merge stores an article
only if its row for the run is not there yet. A run stopped midway (Ctrl-C, a
killed driver) leaves finished shards on disk: the next `--engine ray` run on
the same database merges them first, then skips what they hold.

Response cache: the driver loads the entries of the articles to extract and
puts them in Ray's object store once; each worker reads that snapshot, and the
new entries travel back in the shards (table `llm_cache`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pipeline import costs
from pipeline.backends.base import Backend
from pipeline.distributed.reading import read_batch
from pipeline.distributed.shards import finished_shards, remove_shards, shard_root, tidy
from pipeline.distributed.worker import BackendSpec, ExtractBatches, select_batch
from pipeline.errors import BackendError, IngestError
from pipeline.ingest import DEFAULT_MAX_BYTES, Article, iter_article_files, load_folder_metadata
from pipeline.prompts import Prompt
from pipeline.runner import (
    ArticleOutcome,
    FinishedArticle,
    ProgressCallback,
    RunSummary,
    cache_enabled,
    close_run,
    not_extracted_rows,
    open_run,
)
from pipeline.store.database import Store

RAY_MISSING = (
    "--engine ray needs Ray, which is not installed: pip install -e '.[ray]' "
    "(or pip install 'conflict-events[ray]'), or run without --engine ray"
)
LOCAL_MODEL_ON_RAY = (
    "--engine ray sends many requests at once and the embedded model answers one at a time: serve a model "
    "(serve-model, vLLM, llama.cpp server) and pass --base-url URL, or use --model openai/<model>"
)
# Batches a worker holds at once (their articles share the worker's threads).
_BATCHES_PER_WORKER = 3
# Articles per batch (and shard) unless told: at least this many, so a shard is worth its files.
_MIN_BATCH = 8
# Files per reading task, and at most this many blocks in a dataset.
_READ_BLOCK = 256
_MAX_BLOCKS = 100_000
# Environment variables a worker needs to build the same backend as the driver.
_FORWARDED_ENV = ("CONFLICT_EVENTS_PLUGINS", "CONFLICT_EVENTS_NO_CACHE", "PYTHONPATH")


def import_ray() -> Any:
    """Ray, or a BackendError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise BackendError(f"{RAY_MISSING} ({exc})") from None
    return ray


def connect_ray(address: str | None, env: dict[str, str], num_cpus: int | None = None) -> Any:
    """Join the cluster at `address` ("auto", "ray://host:10001", "host:6379") or start a local runtime."""
    ray = import_ray()
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # the run reports its own progress
    if ray.is_initialized():
        return ray
    runtime_env = {"env_vars": env} if env else None
    try:
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        else:
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                runtime_env=runtime_env,
                log_to_driver=False,
            )
    except ConnectionError as exc:
        raise BackendError(
            f"cannot reach a Ray cluster at {address!r} ({exc}); start one with `ray start --head` "
            "or pass --ray-address ray://HOST:10001"
        ) from None
    return ray


def worker_env(backend_options: dict[str, Any]) -> dict[str, str]:
    """What workers need from this process's environment: plugin modules and the API key's variable."""
    names = list(_FORWARDED_ENV)
    key_env = backend_options.get("api_key_env")
    if key_env:
        names.append(str(key_env))
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def run_pipeline_ray(
    folder: str | Path,
    store: Store,
    backend: Backend,
    prompt: Prompt,
    *,
    spec: BackendSpec,
    limit: int | None = None,
    force: bool = False,
    default_published: date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: ProgressCallback | None = None,
    workers: int = 2,
    concurrency: int = 8,
    batch_size: int | None = None,
    worker_cpus: float = 0.25,
    cache: bool | None = None,
    ray_address: str | None = None,
    merge_every: int = 64,
    merge_interval_s: float = 1.0,
) -> RunSummary:
    """Extract every new article of `folder` into `store` on Ray; the same rows as `runner.run_pipeline`.

    backend: built on the driver (its name, model and parameters are the run's);
    spec: how each worker builds its own. workers x concurrency: requests in
    flight. batch_size: articles per batch, hence per shard (default:
    concurrency, at least 8). worker_cpus: CPUs Ray reserves per worker (extraction mostly
    waits on the server). ray_address: an existing cluster (None: a local
    runtime on this machine's cores). merge_every / merge_interval_s: the driver
    merges the shards that have arrived once this many wait or this long after
    its last merge (and at the end), one transaction each time.
    """
    notify = on_progress or (lambda kind, payload: None)
    workers = max(1, int(workers))
    concurrency = max(1, int(concurrency))
    batch_size = max(1, int(batch_size or max(concurrency, _MIN_BATCH)))
    merge_every = max(1, int(merge_every))
    use_cache = cache_enabled(backend, cache)
    price = costs.backend_price(backend)
    root = Path(folder)
    if not root.exists():
        raise IngestError(f"{root}: no such file or folder")
    if backend.name == "local":
        raise BackendError(LOCAL_MODEL_ON_RAY)
    ray = connect_ray(ray_address, worker_env(spec.options))

    # Listing and each folder's published.json stay on the driver: cheap, and a bad metadata
    # file stops the run before anything starts, as in process.
    walk_errors: list[OSError] = []
    files = list(iter_article_files(root, walk_errors))
    folder_meta = {str(f): load_folder_metadata(f) for f in sorted({p.parent for p in files})}

    shards_root = shard_root(Path(store.path).absolute())  # workers run elsewhere: no relative path
    store.mark_interrupted_runs()
    _merge_leftovers(store, shards_root)

    summary = open_run(
        store,
        root,
        backend,
        prompt,
        limit=limit,
        force=force,
        jobs=workers * concurrency,
        cache=use_cache,
        price=price,
        engine_parameters={
            "engine": "ray",
            "workers": workers,
            "concurrency": concurrency,
            "batch_size": batch_size,
            "ray_address": ray_address,
        },
    )
    run_id = summary.run_id
    t_run = time.perf_counter()
    status = "completed"
    outcomes: dict[int, ArticleOutcome] = {}
    try:
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = False
        read = _read(ray, files, root, folder_meta, default_published, max_bytes, worker_cpus)
        light = (
            sorted(read.select_columns(["index", "article_id", "file_name", "error"]).take_all(), key=_by_index)
            if read is not None
            else []
        )
        done = set() if force else store.completed_article_ids(backend.model, prompt.hash)
        todo, skipped = _decide(light, done, limit)
        n_extract = sum(1 for r in light if r["index"] in todo and not r["error"])
        notify("start", {"run_id": run_id, "total": n_extract, "files": len(light), "jobs": workers * concurrency})

        # Skipped articles need no text: the driver records them itself.
        early = [item for item in skipped if item is not None]
        early += [_unlisted(len(light) + i, exc, root, run_id) for i, exc in enumerate(walk_errors)]
        _write_now(store, early, summary, outcomes, notify)

        if todo and read is not None:
            ids = [r["article_id"] for r in light if r["index"] in todo and r["article_id"]]
            snapshot = store.cached_responses_by_article(backend.label, ids) if use_cache else None
            n_blocks = max(1, min(-(-len(todo) // batch_size), _MAX_BLOCKS))
            # One block per batch: Ray Data hands whole blocks to the workers, so blocks set the parallelism.
            # Materialised before the workers start, so no task upstream of them waits for a CPU they hold.
            selected = (
                read.map_batches(
                    select_batch,
                    batch_format="pyarrow",
                    batch_size=None,
                    fn_kwargs={"todo": ray.put(frozenset(todo)), "cache": ray.put(snapshot)},
                    num_cpus=worker_cpus,
                )
                .repartition(n_blocks)
                .materialize()
            )
            extracted = selected.map_batches(
                ExtractBatches,
                batch_format="pyarrow",
                batch_size=batch_size,
                fn_constructor_kwargs={
                    "spec": spec,
                    "prompt": prompt,
                    "run_id": run_id,
                    "shard_folder": str(shards_root / run_id),
                    "schemas": store.shard_schemas(),
                    "concurrency": concurrency,
                },
                # Several batches at once per worker, on its one pool of `concurrency` threads: the pool
                # stays busy while a batch waits for its slowest article or for the next batch to arrive.
                compute=ray.data.ActorPoolStrategy(
                    size=min(workers, n_blocks),  # no idle worker for a short list
                    max_tasks_in_flight_per_actor=_BATCHES_PER_WORKER,
                    max_concurrent_calls_per_actor=_BATCHES_PER_WORKER,
                    enable_true_multi_threading=True,
                ),
                num_cpus=worker_cpus,
            )
            by_name = {r["file_name"]: r["index"] for r in light}
            pending: list[Path] = []
            last_merge = time.monotonic()
            for batch in extracted.iter_batches(batch_size=None, batch_format="pyarrow"):
                pending.extend(Path(s) for s in batch.column("shard").to_pylist())
                # One transaction for what arrived meanwhile: at most every merge_interval_s, or
                # sooner when many shards wait.
                if len(pending) >= merge_every or time.monotonic() - last_merge >= merge_interval_s:
                    _merge(store, pending, run_id, by_name, summary, outcomes, notify)
                    pending = []
                    last_merge = time.monotonic()
            _merge(store, pending, run_id, by_name, summary, outcomes, notify)
    except BaseException:
        status = "interrupted"  # finished shards stay on disk; the next run merges them
        raise
    finally:
        summary.outcomes = [o for _, o in sorted(outcomes.items())]
        close_run(store, run_id, summary, status, price, t_run)
        if status != "interrupted":
            tidy(shards_root, run_id)
    return summary


def _by_index(row: dict[str, Any]) -> int:
    return int(row["index"])


def _read(
    ray: Any,
    files: list[Path],
    root: Path,
    folder_meta: dict[str, Any],
    default_published: date | None,
    max_bytes: int,
    worker_cpus: float,
) -> Any:
    """The files as a materialised Dataset of article rows, read on the workers (None: no file)."""
    if not files:
        return None
    paths = ray.data.from_items(
        [{"index": i, "path": str(p.absolute()), "given": str(p)} for i, p in enumerate(files)],
        override_num_blocks=max(1, min(-(-len(files) // _READ_BLOCK), _MAX_BLOCKS)),
    )
    return paths.map_batches(
        read_batch,
        batch_format="pyarrow",
        batch_size=None,
        fn_kwargs={
            "root": str(root.absolute()),
            "folder_meta": {str(Path(f).absolute()): meta for f, meta in folder_meta.items()},
            "default_published": default_published,
            "max_bytes": max_bytes,
        },
        num_cpus=worker_cpus,
    ).materialize()


def _decide(
    light: list[dict[str, Any]], done: set[str], limit: int | None
) -> tuple[set[int], list[FinishedArticle | None]]:
    """Which rows the workers handle (to extract, or failed files to record), and the skipped ones' rows."""
    seen: dict[str, str] = {}
    todo: set[int] = set()
    skipped: list[FinishedArticle | None] = []
    n_extract = 0
    for row in light:
        article = Article(path="", file_name=row["file_name"], article_id=row["article_id"], error=row["error"])
        if row["article_id"]:
            first = seen.setdefault(row["article_id"], row["file_name"])
            if first != row["file_name"]:
                article.metadata["duplicate_of"] = first
        if not article.ok:
            todo.add(row["index"])  # a failed file: its row (and text, if any) is recorded by a worker
        elif article.metadata.get("duplicate_of") is None and article.article_id not in done:
            if limit is None or n_extract < limit:
                todo.add(row["index"])
                n_extract += 1
        else:
            skipped.append(not_extracted_rows(row["index"], article, done, ""))
    return todo, skipped


def _unlisted(index: int, exc: OSError, root: Path, run_id: str) -> FinishedArticle:
    """A folder that cannot be listed: a failed row, as in process."""
    from pipeline.ingest import display_name

    where = Path(exc.filename) if exc.filename else root
    try:
        rel = str(where.relative_to(root))
    except ValueError:
        rel = str(where)
    article = Article(
        path=display_name(str(where)),
        file_name=display_name(rel + "/"),
        error=f"cannot list folder: {exc.strerror or exc}; its files were not read",
    )
    item = not_extracted_rows(index, article, set(), run_id)
    assert item is not None
    return item


def _write_now(
    store: Store,
    items: list[FinishedArticle],
    summary: RunSummary,
    outcomes: dict[int, ArticleOutcome],
    notify: Callable[[str, Any], None],
) -> None:
    if not items:
        return
    for item in items:
        item.run_row["run_id"] = summary.run_id
    store.write_articles(item.rows for item in items)
    for item in items:
        outcomes[item.index] = item.outcome
    for item in items:
        notify("article", item.outcome)


def _merge(
    store: Store,
    shards: list[Path],
    run_id: str,
    by_name: dict[str, int],
    summary: RunSummary,
    outcomes: dict[int, ArticleOutcome],
    notify: Callable[[str, Any], None],
) -> None:
    """Merge finished shards in one transaction, account for their articles, then delete them."""
    shards = list(dict.fromkeys(shards))
    if not shards:
        return
    merged = store.merge_shards(shards)
    remove_shards(shards)  # committed: a crash before this line only means a harmless second merge
    new = []
    for row in merged.articles:
        if row["run_id"] != run_id:
            continue
        outcome = ArticleOutcome(
            row["file_name"],
            row["status"],
            n_events=row.get("n_events") or 0,
            seconds=row.get("seconds") or 0.0,
            error=row.get("error"),
        )
        outcomes[by_name.get(row["file_name"], len(by_name) + len(outcomes))] = outcome
        new.append(outcome)
    summary.n_calls += merged.calls
    summary.n_cached += merged.cached
    summary.prompt_tokens += merged.prompt_tokens
    summary.completion_tokens += merged.completion_tokens
    for outcome in new:
        notify("article", outcome)


def _merge_leftovers(store: Store, root: Path) -> int:
    """Finished shards of earlier runs (a stopped driver): merged before anything is decided."""
    shards = finished_shards(root)
    if not shards:
        tidy(root)
        return 0
    runs = store.known_runs(sorted({s.parent.name for s in shards}))
    mine = [s for s in shards if s.parent.name in runs]
    added = len(store.merge_shards(mine).articles) if mine else 0
    remove_shards(mine)
    tidy(root)
    return added
