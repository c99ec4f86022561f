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
    store: Store, fmt: str, output: str | None, run_id: str | None = None, *, exclude_rejected: bool = False
) -> int:
    """Write the events (the latest per article, or one run's) in ``fmt``; return how many.

    exclude_rejected: leave out events whose latest reviewer decision is `wrong`.
    """
    records = store.events_as_records(store.resolve_run(run_id) if run_id else None, exclude_rejected=exclude_rejected)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        _write_text(text, output)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FLAT_COLUMNS)
        writer.writeheader()
        writer.writerows(flat(r) for r in records)
        _write_text(buf.getvalue(), output)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist([flat(r) for r in records]), output)
    elif fmt == "acled-csv":
        from pipeline.export.acled import write_acled_csv

        write_acled_csv(records, output or sys.stdout)
    elif fmt == "map":
        from pipeline.export.maps import draw_event_map

        assert output is not None, "the map format writes a PNG file: give an output path"  # the CLI requires one
        draw_event_map(records, output, title=f"{len(records)} events")
    else:
        raise ValueError(f"unknown format {fmt}")
    return len(records)


def _write_text(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
