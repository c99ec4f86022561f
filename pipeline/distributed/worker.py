"""What runs on the Ray workers: reading files into articles, and extracting batches into shards.

Nothing here imports Ray (the engine passes these to `ray.data`), and nothing
here opens the database: a worker's rows go to a Parquet shard
(`pipeline.distributed.shards`). Extraction is the in-process engine's own code
path: `pipeline.runner.extract_rows` (the prompt's strategy through
`extract_article`, validation, geocoding, the call log and the response cache)
and `pipeline.runner.not_extracted_rows` for articles that could not be read.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.backends.base import Backend
from pipeline.distributed.reading import TODO_SCHEMA, row_to_article
from pipeline.distributed.shards import shard_key, write_shard
from pipeline.prompts import Prompt
from pipeline.runner import FinishedArticle, extract_rows, not_extracted_rows
from pipeline.store.rows import utcnow

# What the extract stage returns: one row per shard written.
SHARD_SCHEMA = pa.schema([("shard", pa.string()), ("articles", pa.int64())])


def select_batch(batch: pa.Table, todo: Any, cache: Any) -> pa.Table:
    """The rows this run hands to the extract stage, each with its article's cache entries.

    todo: the indices to extract (or to record as failed files); cache: article_id ->
    {key: completion JSON}, or None when the run does not use the response cache.
    """
    todo = _resolve(todo)
    cache = _resolve(cache)
    rows = []
    for row in batch.to_pylist():
        if row["index"] in todo:
            entries = None if cache is None else cache.get(row["article_id"] or "", {})
            rows.append({**row, "cache": None if entries is None else json.dumps(entries)})
    return pa.Table.from_pylist(rows, schema=TODO_SCHEMA)


@dataclass
class BackendSpec:
    """How a worker builds its own backend (a backend holds live clients: it is not shipped, it is rebuilt)."""

    model: str
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Backend:
        from pipeline.backends import get_backend

        return get_backend(self.model, **self.options)


class ExtractBatches:
    """One Ray actor: a backend and a pool of `concurrency` threads; each batch of articles becomes one shard.

    A row's `cache` column holds its article's response cache entries (key ->
    completion JSON); null when the run does not use the cache.
    """

    def __init__(
        self,
        spec: BackendSpec,
        prompt: Prompt,
        run_id: str,
        shard_folder: str,
        schemas: dict[str, pa.Schema],
        concurrency: int,
    ):
        self.backend = spec.build()
        self.prompt = prompt
        self.run_id = run_id
        self.folder = Path(shard_folder)
        self.schemas = schemas
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="extract")

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        if not rows:
            return pa.Table.from_pylist([], schema=SHARD_SCHEMA)
        key = shard_key(self.run_id, (r["index"] for r in rows))
        final = self.folder / key
        if final.is_dir():  # a retried batch whose first attempt finished its shard
            return pa.Table.from_pylist([{"shard": str(final), "articles": len(rows)}], schema=SHARD_SCHEMA)
        finished = list(self.pool.map(self._one, rows))
        shard = write_shard(self.folder, key, _tables(finished), self.schemas)
        return pa.Table.from_pylist([{"shard": str(shard), "articles": len(rows)}], schema=SHARD_SCHEMA)

    def _one(self, row: dict[str, Any]) -> FinishedArticle:
        index, article = row["index"], row_to_article(row)
        if not article.ok:
            item = not_extracted_rows(index, article, set(), self.run_id)
            assert item is not None
            return item
        snapshot = None if row.get("cache") is None else json.loads(row["cache"])
        return extract_rows(index, article, self.prompt, self.backend, self.run_id, snapshot)


def _tables(finished: list[FinishedArticle]) -> dict[str, list[dict[str, Any]]]:
    """The shard's rows, table by table, as `Store.write_articles` would land them."""
    now = utcnow()
    articles: dict[str, dict[str, Any]] = {}
    for item in finished:
        if item.article_row and item.article_row.get("article_id"):
            articles.setdefault(item.article_row["article_id"], item.article_row)
    cache: dict[str, dict[str, Any]] = {}
    for item in finished:
        for entry in item.cache_entries:
            cache.setdefault(entry["cache_key"], entry)
    return {
        "run_articles": [{**item.run_row, "finished_at": now} for item in finished],
        "articles": list(articles.values()),
        "llm_calls": [c for item in finished for c in item.calls],
        "events": [e for item in finished for e in item.events],
        "llm_cache": list(cache.values()),
    }


def _resolve(value: Any) -> Any:
    """A value passed to an actor, or the Ray object reference it was put under."""
    if type(value).__name__ == "ObjectRef":
        import ray

        return ray.get(value)
    return value
