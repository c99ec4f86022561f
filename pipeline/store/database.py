"""Store: the one DuckDB file that holds articles, runs, model calls and events.

One process writes a DuckDB file at a time (a second process, even read-only,
gets a lock error), so the pipeline keeps a single connection and writes every
article's rows in one transaction: an article is either fully recorded or not
at all, and a crash never leaves half an extraction behind.

Rows go in through Arrow (`INSERT ... BY NAME SELECT * FROM arrow_table`);
row-by-row executemany is two orders of magnitude slower.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from pipeline.errors import DatabaseError, DatabaseLocked, UnknownRun
from pipeline.store.cache import load_snapshot, load_snapshot_by_article, write_entries
from pipeline.store.migrations import apply_migrations
from pipeline.store.rows import ArticleWrite, insert_rows, row_to_record, same_keys, utcnow
from pipeline.store.shards import Merged, known_runs, merge_shards, table_schemas

DEFAULT_DB = "conflict_events.duckdb"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the DuckDB file."""
    path = Path(path)
    if not read_only and path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(path, str(exc)) from None
        raise DatabaseError(f"{path}: cannot open as a DuckDB database ({exc})") from None
    except duckdb.Error as exc:
        raise DatabaseError(f"{path}: cannot open as a DuckDB database ({exc})") from None
    if not read_only:
        apply_migrations(con)
    return con


class Store:
    """Thin layer over one connection with the pipeline's reads and writes."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = str(path)
        self.con = connect(path, read_only=read_only)

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error:
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- runs -------------------------------------------------------------
    def mark_interrupted_runs(self) -> int:
        """Runs left 'running' by a process that died are marked interrupted."""
        rows = self.con.execute(
            "UPDATE runs SET status = 'interrupted' WHERE status = 'running' RETURNING run_id"
        ).fetchall()
        return len(rows)

    def start_run(self, run: dict[str, Any]) -> None:
        insert_rows(self.con, "runs", [{**run, "status": "running", "started_at": utcnow()}])

    def finish_run(self, run_id: str, status: str, totals: dict[str, Any]) -> None:
        assignments = ", ".join(f"{k} = ?" for k in totals)
        self.con.execute(
            f"UPDATE runs SET status = ?, finished_at = ?, {assignments} WHERE run_id = ?",
            [status, utcnow(), *totals.values(), run_id],
        )

    # -- the one write path ----------------------------------------------------
    def write_articles(self, batch: Iterable[ArticleWrite]) -> None:
        """Write finished articles in one transaction: each article's rows land together or not at all.

        The runner's single writer calls this once per batch; the only other writer
        of articles, llm_calls, events, run_articles or llm_cache rows is
        `merge_shards` (the Ray engine's driver). An article
        already stored keeps its text; metadata that may have been added since (a
        publication date, a new file name) is refreshed.
        """
        batch = list(batch)
        con = self.con
        articles: dict[str, dict[str, Any]] = {}
        for item in batch:
            if item.article_row and item.article_row.get("article_id"):
                articles[item.article_row["article_id"]] = item.article_row
        finished_at = utcnow()
        con.execute("BEGIN TRANSACTION")
        try:
            if articles:
                existing = {
                    r[0]
                    for r in con.execute(
                        "SELECT article_id FROM articles WHERE list_contains(?, article_id)", [sorted(articles)]
                    ).fetchall()
                }
                for article_id in sorted(existing):
                    row = articles[article_id]
                    con.execute(
                        "UPDATE articles SET published = coalesce(?, published), file_name = ?, path = ? "
                        "WHERE article_id = ?",
                        [row.get("published"), row["file_name"], row.get("path"), article_id],
                    )
                insert_rows(con, "articles", [row for a, row in articles.items() if a not in existing])
            insert_rows(con, "llm_calls", same_keys([c for item in batch for c in item.calls]))
            insert_rows(con, "events", same_keys([e for item in batch for e in item.events]))
            insert_rows(
                con, "run_articles", same_keys([{**item.run_row, "finished_at": finished_at} for item in batch])
            )
            entries = [e for item in batch for e in item.cache_entries]
            if entries:
                write_entries(con, entries)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def merge_shards(self, shards: Sequence[str | Path]) -> Merged:
        """Merge Parquet shards written by workers (the Ray engine), one transaction; idempotent.

        The other write path, for rows made in other processes: an article's rows
        land only if the run has no row for it yet (`pipeline/store/shards.py`).
        """
        return merge_shards(self.con, [Path(s) for s in shards])

    def shard_schemas(self) -> dict[str, Any]:
        """The Arrow schema of each table a shard holds, as this database declares it."""
        return table_schemas(self.con)

    def known_runs(self, run_ids: Sequence[str]) -> set[str]:
        return known_runs(self.con, run_ids)

    def cached_responses(self, model: str, article_ids: Iterable[str] | None = None) -> dict[str, str]:
        """The response cache's entries of one model (backend label): key -> completion JSON."""
        return load_snapshot(self.con, model, article_ids)

    def cached_responses_by_article(self, model: str, article_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """The same entries grouped by article (article_id -> key -> completion JSON), to ship with each article."""
        return load_snapshot_by_article(self.con, model, article_ids)

    def completed_article_ids(self, model: str, prompt_hash: str) -> set[str]:
        """Articles already extracted successfully with this model and prompt."""
        rows = self.con.execute(
            """
            SELECT DISTINCT ra.article_id FROM run_articles ra JOIN runs r USING (run_id)
            WHERE ra.status = 'ok' AND r.model = ? AND r.prompt_hash = ?
            """,
            [model, prompt_hash],
        ).fetchall()
        return {r[0] for r in rows}

    # -- reads -------------------------------------------------------------
    def run_ids(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT run_id FROM runs ORDER BY started_at").fetchall()]

    def resolve_run(self, ref: str) -> str:
        """A run id from its full id or a unique prefix."""
        ids = self.run_ids()
        if ref in ids:
            return ref
        matches = [r for r in ids if r.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        hint = f'list them with: duckdb {self.path} "SELECT run_id, started_at, model, prompt_name FROM runs"'
        if not matches:
            raise UnknownRun(f"no run {ref!r} in {self.path}; {hint}")
        raise UnknownRun(f"run {ref!r} is ambiguous ({len(matches)} runs start with it); {hint}")

    def events_as_records(self, run_id: str | None = None, exclude_rejected: bool = False) -> list[dict[str, Any]]:
        """Events in codebook shape; the latest per article unless a run is named.

        exclude_rejected: leave out the events whose latest reviewer decision (`reviews`) is `wrong`.
        """
        if run_id is None:
            sql = "SELECT * FROM latest_events WHERE true"
            params: list[Any] = []
        else:
            sql = """
                SELECT e.*, a.file_name AS article FROM events e JOIN articles a USING (article_id)
                WHERE e.run_id = ?
            """
            params = [run_id]
        if exclude_rejected:
            sql += f" AND event_id NOT IN ({REJECTED_EVENTS})"
        sql += " ORDER BY article, event_index"
        cur = self.con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [row_to_record(dict(zip(names, row, strict=True))) for row in cur.fetchall()]


# Events whose latest reviewer decision is `wrong` (a later `correct` or `fix` takes the rejection back).
REJECTED_EVENTS = """
    SELECT event_id FROM (
        SELECT event_id, verdict, row_number() OVER (
            PARTITION BY event_id ORDER BY decided_at DESC NULLS LAST, applied_at DESC, review_id DESC
        ) AS k FROM reviews
    ) WHERE k = 1 AND verdict = 'wrong'
"""
