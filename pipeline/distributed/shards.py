"""Shards on disk: where workers put their rows, written so that a shard is whole or absent.

Layout, next to the database file::

    <db>.shards/<run_id>/<key>/run_articles.parquet   one row per article of the batch
                              /articles.parquet       the articles' text and metadata
                              /llm_calls.parquet      every model call (cached ones included)
                              /events.parquet         the events, geocoded, as `events` rows
                              /llm_cache.parquet      the response cache's new entries

`key` is a hash of the run and of the batch's article indices, so Ray's retry of
a batch finds the shard a killed attempt may already have finished. A shard is
written into `<key>.tmp-<pid>-<random>` and renamed into place: a worker killed
mid-write leaves only a `.tmp-` folder, which is never merged and is removed
at the end of the run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.store.rows import to_arrow

TMP_MARK = ".tmp-"


def shard_root(db_path: str | Path) -> Path:
    """The folder of a database's shards: `<db>.shards` beside the file."""
    return Path(f"{db_path}.shards")


def shard_key(run_id: str, indices: Iterable[int]) -> str:
    text = run_id + ":" + ",".join(str(i) for i in sorted(indices))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def write_shard(
    folder: Path, key: str, tables: Mapping[str, Sequence[dict[str, Any]]], schemas: Mapping[str, Any]
) -> Path:
    """Write one shard atomically; if a finished shard with this key exists, keep it and return it."""
    final = folder / key
    if final.is_dir():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{key}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for table, rows in tables.items():
            if rows:
                pq.write_table(_typed(to_arrow(rows), schemas[table]), tmp / f"{table}.parquet")
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # not a lost race with another attempt of the same batch
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _typed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The rows with the database's column types (a column absent from the rows stays absent)."""
    fields = [schema.field(name) for name in table.column_names]
    return pa.Table.from_arrays([table.column(f.name).cast(f.type) for f in fields], schema=pa.schema(fields))


def finished_shards(root: Path, run_id: str | None = None) -> list[Path]:
    """Finished shards under `root` (of one run, or of every run), oldest first."""
    runs = [root / run_id] if run_id else sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    shards = [
        shard
        for run in runs
        if run.is_dir()
        for shard in run.iterdir()
        if shard.is_dir() and TMP_MARK not in shard.name
    ]
    return sorted(shards, key=lambda p: p.stat().st_mtime)


def remove_shards(shards: Iterable[Path]) -> None:
    for shard in shards:
        shutil.rmtree(shard, ignore_errors=True)


def tidy(root: Path, run_id: str | None = None) -> None:
    """Remove what a killed worker left half-written, and the folders of runs with no shard left."""
    if not root.is_dir():
        return
    for run in [root / run_id] if run_id else list(root.iterdir()):
        if not run.is_dir():
            continue
        for shard in run.iterdir():
            if TMP_MARK in shard.name:
                shutil.rmtree(shard, ignore_errors=True)
        try:
            run.rmdir()  # only when empty
        except OSError:
            pass
    try:
        root.rmdir()
    except OSError:
        pass
