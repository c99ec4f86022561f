"""Store: the one DuckDB file that holds articles, runs, model calls and events.

One process writes a DuckDB file at a time (a second process, even read-only,
gets a lock error), so the pipeline keeps a single connection and writes every
article's rows in one transaction: an article is either fully recorded or not
at all, and a crash never leaves half an extraction behind.

Rows go in through Arrow (`INSERT ... BY NAME SELECT * FROM arrow_table`);
row-by-row executemany is two orders of magnitude slower.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .migrations import apply_migrations

DEFAULT_DB = "conflict_events.duckdb"


class DatabaseLocked(Exception):
    """Another process holds the DuckDB file."""

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = str(path)
        self.detail = detail
        super().__init__(
            f"{self.path} is in use by another process (DuckDB allows one writer). "
            "Wait for it to finish or stop it, or pass --db to use another file."
        )


class DatabaseError(Exception):
    """The file exists but is not a usable DuckDB database."""


class UnknownRun(LookupError):
    """A run id (or prefix) that names no run, or more than one."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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


def _to_arrow(rows: Sequence[dict[str, Any]]) -> pa.Table:
    # Arrow takes its columns from the first row: give every row every key, so a
    # column the first row lacks (e.g. a failed call's response) is not dropped.
    keys = list(dict.fromkeys(k for row in rows for k in row))
    rows = [{k: row.get(k) for k in keys} for row in rows]
    cleaned = []
    for row in rows:
        out = {}
        for key, value in row.items():
            if isinstance(value, (dict, list)) and key in JSON_COLUMNS:
                value = json.dumps(value, default=str, ensure_ascii=False)
            out[key] = value
        cleaned.append(out)
    return pa.Table.from_pylist(cleaned)


# Columns declared JSON in the schema: Python values are serialised before insert.
JSON_COLUMNS = {"metadata", "parameters", "request", "details", "metrics"}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict[str, Any]]) -> int:
    """Insert dict rows through Arrow, matching columns by name."""
    if not rows:
        return 0
    arrow_rows = _to_arrow(rows)  # noqa: F841 - referenced by name in the SQL below
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM arrow_rows")
    return len(rows)


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

    # -- articles -----------------------------------------------------------
    def upsert_article(self, row: dict[str, Any]) -> None:
        exists = self.con.execute(
            "SELECT 1 FROM articles WHERE article_id = ?", [row["article_id"]]
        ).fetchone()
        if exists:
            # Keep the text; refresh metadata that may have been added since (e.g. a date).
            self.con.execute(
                "UPDATE articles SET published = coalesce(?, published), file_name = ?, path = ? WHERE article_id = ?",
                [row.get("published"), row["file_name"], row.get("path"), row["article_id"]],
            )
        else:
            insert_rows(self.con, "articles", [row])

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

    def record_article_result(
        self,
        run_row: dict[str, Any],
        calls: Iterable[dict[str, Any]],
        events: Iterable[dict[str, Any]],
    ) -> None:
        """Write one article's outcome (calls, events, status) atomically."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            insert_rows(self.con, "llm_calls", list(calls))
            insert_rows(self.con, "events", list(events))
            insert_rows(self.con, "run_articles", [{**run_row, "finished_at": utcnow()}])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

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

    def events_as_records(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Events in codebook shape; the latest per article unless a run is named."""
        if run_id is None:
            sql = "SELECT * FROM latest_events ORDER BY article, event_index"
            params: list[Any] = []
        else:
            sql = """
                SELECT e.*, a.file_name AS article FROM events e JOIN articles a USING (article_id)
                WHERE e.run_id = ? ORDER BY a.file_name, e.event_index
            """
            params = [run_id]
        cur = self.con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [row_to_record(dict(zip(names, row))) for row in cur.fetchall()]


# Order of keys in exported records: the codebook's field order.
RECORD_FIELDS = [
    "event_date",
    "event_end_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actors_1",
    "actor2",
    "assoc_actors_2",
    "country",
    "admin1",
    "location",
    "geo_precision",
    "latitude",
    "longitude",
    "fatalities",
    "civilian_targeting",
    "source",
    "notes",
    "evidence",
]


def event_to_row(record: dict[str, Any], *, event_id: str, run_id: str, article_id: str, index: int,
                 offsets: list[tuple[int, int] | None]) -> dict[str, Any]:
    """Flatten a codebook record (actors as objects) into an `events` row."""
    a1 = record.get("actor1") or {}
    a2 = record.get("actor2") or {}
    return {
        "event_id": event_id,
        "run_id": run_id,
        "article_id": article_id,
        "event_index": index,
        "event_date": record.get("event_date"),
        "event_end_date": record.get("event_end_date"),
        "time_precision": record.get("time_precision"),
        "event_type": record.get("event_type"),
        "sub_event_type": record.get("sub_event_type"),
        "actor1": a1.get("name"),
        "actor1_type": a1.get("actor_type"),
        "assoc_actors_1": list(record.get("assoc_actors_1") or []),
        "actor2": a2.get("name") if a2 else None,
        "actor2_type": a2.get("actor_type") if a2 else None,
        "assoc_actors_2": list(record.get("assoc_actors_2") or []),
        "country": record.get("country"),
        "admin1": record.get("admin1"),
        "location": record.get("location"),
        "geo_precision": record.get("geo_precision"),
        "latitude": record.get("latitude"),
        "longitude": record.get("longitude"),
        "geo_method": record.get("geo_method"),
        "geo_confidence": record.get("geo_confidence"),
        "fatalities": record.get("fatalities"),
        "civilian_targeting": record.get("civilian_targeting"),
        "source": record.get("source"),
        "notes": record.get("notes"),
        "evidence": list(record.get("evidence") or []),
        "evidence_start": [o[0] if o else None for o in offsets],
        "evidence_end": [o[1] if o else None for o in offsets],
    }


def row_to_record(row: dict[str, Any]) -> dict[str, Any]:
    """An `events` row back in codebook shape, plus ids and the article's file name."""
    out: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        if name == "actor1":
            out[name] = {"name": row.get("actor1"), "actor_type": row.get("actor1_type")}
        elif name == "actor2":
            out[name] = (
                {"name": row.get("actor2"), "actor_type": row.get("actor2_type")} if row.get("actor2") else None
            )
        elif name in ("event_date", "event_end_date"):
            value = row.get(name)
            out[name] = value.isoformat() if value is not None else None
        elif name in ("assoc_actors_1", "assoc_actors_2", "evidence"):
            out[name] = list(row.get(name) or [])
        else:
            out[name] = row.get(name)
    out["evidence_offsets"] = [
        [s, e] for s, e in zip(row.get("evidence_start") or [], row.get("evidence_end") or [])
    ]
    out["geo_method"] = row.get("geo_method")
    out["article"] = row.get("article")
    out["article_id"] = row.get("article_id")
    out["run_id"] = row.get("run_id")
    out["event_id"] = row.get("event_id")
    return out
