"""Export events from the store: JSONL (codebook shape), CSV, Parquet, ACLED CSV, a PNG map, and the review page (`review`)."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

from pipeline.store.database import Store

# Columns of the flat CSV/Parquet export, in order: codebook fields with actors flattened.
FLAT_COLUMNS = [
    "article",
    "event_date",
    "event_end_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "actor1_type",
    "assoc_actors_1",
    "actor2",
    "actor2_type",
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
    "rules",
    "event_id",
    "run_id",
    "article_id",
]


# Columns of the flat CSV/Parquet export of unique events (`--unique`).
UNIQUE_FLAT_COLUMNS = [
    "unique_event_id",
    *[c for c in FLAT_COLUMNS if c not in ("article", "evidence", "rules", "event_id", "run_id", "article_id")],
    "fatalities_low",
    "fatalities_high",
    "fatalities_latest",
    "fatalities_rule",
    "n_events",
    "n_articles",
    "articles",
    "members",
    "evidence",
]


def unique_record(row: dict[str, Any]) -> dict[str, Any]:
    """A `unique_records` row in codebook shape: ``source`` holds every source, ``article`` every article."""
    out: dict[str, Any] = {}
    for key in ("event_date", "event_end_date", "first_published", "last_published"):
        v = row.get(key)
        if v is not None and hasattr(v, "isoformat"):
            row = {**row, key: v.isoformat()}
    out["unique_event_id"] = row["unique_event_id"]
    for key in ("event_date", "event_end_date", "time_precision", "event_type", "sub_event_type"):
        out[key] = row.get(key)
    out["actor1"] = {"name": row.get("actor1"), "actor_type": row.get("actor1_type")}
    out["assoc_actors_1"] = list(row.get("assoc_actors_1") or [])
    out["actor2"] = {"name": row.get("actor2"), "actor_type": row.get("actor2_type")} if row.get("actor2") else None
    out["assoc_actors_2"] = list(row.get("assoc_actors_2") or [])
    for key in ("country", "admin1", "location", "geo_precision", "latitude", "longitude", "fatalities"):
        out[key] = row.get(key)
    out["civilian_targeting"] = row.get("civilian_targeting")
    out["source"] = row.get("sources") or ""
    out["notes"] = row.get("notes") or ""
    out["evidence"] = list(row.get("evidence") or [])
    for key in ("fatalities_low", "fatalities_high", "fatalities_latest", "fatalities_rule", "n_events", "n_articles"):
        out[key] = row.get(key)
    out["articles"] = list(row.get("articles") or [])
    out["article"] = "; ".join(out["articles"])
    out["members"] = list(row.get("members") or [])
    out["first_published"], out["last_published"] = row.get("first_published"), row.get("last_published")
    out["geo_method"] = row.get("geo_method")
    out["event_id"] = row["unique_event_id"]
    return out


def flat_unique(record: dict[str, Any]) -> dict[str, Any]:
    row = flat(record)
    out = {k: row.get(k, record.get(k)) for k in UNIQUE_FLAT_COLUMNS}
    for key in ("articles", "members"):
        out[key] = " | ".join(record.get(key) or [])
    return out


def flat(record: dict[str, Any]) -> dict[str, Any]:
    a1 = record.get("actor1") or {}
    a2 = record.get("actor2") or {}
    row = {k: record.get(k) for k in FLAT_COLUMNS}
    row.update(
        actor1=a1.get("name"), actor1_type=a1.get("actor_type"), actor2=a2.get("name"), actor2_type=a2.get("actor_type")
    )
    for key in ("assoc_actors_1", "assoc_actors_2", "evidence", "rules"):
        row[key] = " | ".join(record.get(key) or [])
    return row


def export_events(
    store: Store,
    fmt: str,
    output: str | None,
    run_id: str | None = None,
    *,
    exclude_rejected: bool = False,
    unique: bool = False,
) -> int:
    """Write the events (the latest per article, or one run's) in ``fmt``; return how many.

    exclude_rejected: leave out events whose latest reviewer decision is `wrong`.
    unique: one record per real event (the merge step's unique events, and every latest
    event no merge has placed yet as its own); ``source`` lists every source.
    """
    if unique:
        from pipeline.store.unique import unique_records

        records = [unique_record(r) for r in unique_records(store)]
    else:
        records = store.events_as_records(
            store.resolve_run(run_id) if run_id else None, exclude_rejected=exclude_rejected
        )
    columns, flatten = (UNIQUE_FLAT_COLUMNS, flat_unique) if unique else (FLAT_COLUMNS, flat)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        _write_text(text, output)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(flatten(r) for r in records)
        _write_text(buf.getvalue(), output)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist([flatten(r) for r in records]), output)
    elif fmt == "acled-csv":
        from pipeline.export.acled import write_acled_csv

        write_acled_csv(records, output or sys.stdout)
    elif fmt == "map":
        from pipeline.export.maps import draw_event_map

        assert output is not None, "the map format writes a PNG file: give an output path"  # the CLI requires one
        draw_event_map(records, output, title=f"{len(records)} {'unique ' if unique else ''}events")
    else:
        raise ValueError(f"unknown format {fmt}")
    return len(records)


def _write_text(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
