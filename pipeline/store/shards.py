"""Parquet shards into the database: the SQL behind the Ray engine's merge.

A shard is a folder of Parquet files, one per table (`SHARD_TABLES`), that a
worker wrote for one batch of articles without opening the database. The
driver merges finished shards here, several per transaction. The merge is
idempotent: an article's rows land only when its `run_articles` row (run id,
file name) is not in the database yet, and then only from one shard (the first
in the order given), so merging a shard twice, or two shards that both hold an
article, stores each article once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

# Tables a shard holds, in the order they are merged (run_articles decides which articles are new).
SHARD_TABLES = ("run_articles", "articles", "llm_calls", "events", "llm_cache")


def table_schemas(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Schema]:
    """The Arrow schema of each shard table, as the database declares it (shards are written with it)."""
    return {table: con.sql(f"SELECT * FROM {table} LIMIT 0").arrow().schema for table in SHARD_TABLES}


def _files(shards: Sequence[Path], table: str) -> list[str]:
    return [str(shard / f"{table}.parquet") for shard in shards if (shard / f"{table}.parquet").is_file()]


@dataclass
class Merged:
    """What one merge added: the `run_articles` rows stored, and the calls stored with them."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0  # model calls paid for (cached ones not)
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def merge_shards(con: duckdb.DuckDBPyConnection, shards: Sequence[Path]) -> Merged:
    """Insert the rows of finished shards not yet in the database, in one transaction."""
    shards = [Path(s) for s in shards]
    run_files = _files(shards, "run_articles")
    merged = Merged()
    if not run_files:
        return merged
    rank = {str(shard): i for i, shard in enumerate(shards)}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE shard_rank (shard VARCHAR, k INTEGER)")
        con.executemany("INSERT INTO shard_rank VALUES (?, ?)", [[s, k] for s, k in rank.items()])
        # One row per (run, file) not yet stored, from the first shard that holds it.
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE shard_new AS
            SELECT s.* EXCLUDE (filename), parse_dirpath(s.filename) AS shard
            FROM read_parquet(?, union_by_name = true, filename = true) s
            JOIN shard_rank k ON k.shard = parse_dirpath(s.filename)
            WHERE NOT EXISTS (
                SELECT 1 FROM run_articles r WHERE r.run_id = s.run_id AND r.file_name = s.file_name
            )
            QUALIFY row_number() OVER (PARTITION BY s.run_id, s.file_name ORDER BY k.k) = 1
            """,
            [run_files],
        )
        cur = con.execute("SELECT * EXCLUDE (shard) FROM shard_new")
        names = [d[0] for d in cur.description]
        merged.articles = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        files = _files(shards, "articles")
        if files:
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE shard_articles AS
                SELECT a.* EXCLUDE (filename) FROM read_parquet(?, union_by_name = true, filename = true) a
                JOIN shard_new n ON n.article_id = a.article_id AND n.shard = parse_dirpath(a.filename)
                QUALIFY row_number() OVER (PARTITION BY a.article_id ORDER BY n.file_name) = 1
                """,
                [files],
            )
            # An article already stored keeps its text; its publication date, name and path are refreshed.
            con.execute(
                """
                UPDATE articles SET published = coalesce(s.published, articles.published),
                    file_name = s.file_name, path = s.path
                FROM shard_articles s WHERE articles.article_id = s.article_id
                """
            )
            con.execute(
                "INSERT INTO articles BY NAME SELECT * FROM shard_articles "
                "WHERE article_id NOT IN (SELECT article_id FROM articles)"
            )
        for table, key in (("llm_calls", "call_id"), ("events", "event_id")):
            files = _files(shards, table)
            if files:
                con.execute(
                    f"""
                    INSERT INTO {table} BY NAME
                    SELECT t.* EXCLUDE (filename) FROM read_parquet(?, union_by_name = true, filename = true) t
                    WHERE EXISTS (
                        SELECT 1 FROM shard_new n WHERE n.run_id = t.run_id AND n.article_id = t.article_id
                        AND n.shard = parse_dirpath(t.filename)
                    )
                    AND t.{key} NOT IN (SELECT {key} FROM {table})
                    """,
                    [files],
                )
        con.execute("INSERT INTO run_articles BY NAME SELECT * EXCLUDE (shard) FROM shard_new")
        totals = con.execute(
            """
            SELECT count(*) FILTER (WHERE c.outcome <> 'cached'), count(*) FILTER (WHERE c.outcome = 'cached'),
                   coalesce(sum(c.prompt_tokens) FILTER (WHERE c.outcome <> 'cached'), 0),
                   coalesce(sum(c.completion_tokens) FILTER (WHERE c.outcome <> 'cached'), 0)
            FROM llm_calls c JOIN shard_new n ON n.run_id = c.run_id AND n.article_id = c.article_id
            """
        ).fetchone()
        if totals:
            merged.calls, merged.cached, merged.prompt_tokens, merged.completion_tokens = (int(v) for v in totals)
        files = _files(shards, "llm_cache")
        if files:
            con.execute(
                """
                INSERT OR IGNORE INTO llm_cache BY NAME
                SELECT * EXCLUDE (filename) FROM read_parquet(?, union_by_name = true, filename = true)
                QUALIFY row_number() OVER (PARTITION BY cache_key ORDER BY created_at) = 1
                """,
                [files],
            )
        con.execute("DROP TABLE IF EXISTS shard_new")
        con.execute("DROP TABLE IF EXISTS shard_articles")
        con.execute("DROP TABLE IF EXISTS shard_rank")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return merged


def known_runs(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> set[str]:
    """Which of these runs the database has (a shard of an unknown run is never merged)."""
    if not run_ids:
        return set()
    rows = con.execute("SELECT run_id FROM runs WHERE list_contains(?, run_id)", [list(run_ids)]).fetchall()
    return {r[0] for r in rows}
