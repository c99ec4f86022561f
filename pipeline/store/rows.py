"""How records become table rows, and rows records again.

`insert_rows` lands dict rows through Arrow (JSON columns serialised);
`event_to_row` and `row_to_record` turn a codebook event into an `events` row
and back; `ArticleWrite` holds one finished article's rows for
`Store.write_articles`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pyarrow as pa


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_arrow(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Dict rows as an Arrow table (every key a column, JSON columns serialised)."""
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
    arrow_rows = to_arrow(rows)  # noqa: F841 - referenced by name in the SQL below
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM arrow_rows")
    return len(rows)


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


def event_to_row(
    record: dict[str, Any],
    *,
    event_id: str,
    run_id: str,
    article_id: str,
    index: int,
    offsets: list[tuple[int, int] | None],
) -> dict[str, Any]:
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
        "rules": list(record.get("rules") or []),
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
            out[name] = {"name": row.get("actor2"), "actor_type": row.get("actor2_type")} if row.get("actor2") else None
        elif name in ("event_date", "event_end_date"):
            value: Any = row.get(name)
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
        elif name in ("assoc_actors_1", "assoc_actors_2", "evidence"):
            out[name] = list(row.get(name) or [])
        else:
            out[name] = row.get(name)
    out["evidence_offsets"] = [
        [s, e] for s, e in zip(row.get("evidence_start") or [], row.get("evidence_end") or [], strict=False)
    ]
    out["geo_method"] = row.get("geo_method")
    out["rules"] = list(row.get("rules") or [])
    out["article"] = row.get("article")
    out["article_id"] = row.get("article_id")
    out["run_id"] = row.get("run_id")
    out["event_id"] = row.get("event_id")
    return out


@dataclass
class ArticleWrite:
    """One finished article's rows, as `Store.write_articles` lands them in one transaction."""

    run_row: dict[str, Any]
    article_row: dict[str, Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    cache_entries: list[dict[str, Any]] = field(default_factory=list)


def same_keys(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row every key: Arrow takes the columns from the first row only, so a
    transport-error call (no response, no tokens) first in a batch would drop the
    other rows' responses and tokens."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [{k: row.get(k) for k in keys} for row in rows]
