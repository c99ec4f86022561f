"""The reads and writes of the merge step (`pipeline.merge.stage`) and of the unique-event exports.

Tables (migration m009): ``unique_events`` (one row per real event),
``unique_event_members`` (its events), ``unique_event_links`` (the scored pairs
inside it) and ``merge_runs`` (one row per merge). The view ``deduplicated_events``
holds the unique events plus every latest event no merge has placed yet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.store.database import Store
from pipeline.store.rows import insert_rows, utcnow

# Columns of unique_events the merge computes (the id and the timestamps aside).
UNIQUE_COLUMNS = [
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
    "geo_method",
    "fatalities",
    "fatalities_low",
    "fatalities_high",
    "fatalities_latest",
    "fatalities_rule",
    "civilian_targeting",
    "sources",
    "articles",
    "notes",
    "evidence",
    "n_events",
    "n_articles",
    "first_published",
    "last_published",
    "min_link_score",
]


def _dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def current_events(store: Store) -> list[dict[str, Any]]:
    """The events to merge: the latest extraction of every article, with the article's
    publication date, file name and outlet (``article_source``), in article and event order."""
    cur = store.con.execute(
        """
        SELECT e.*, a.published, a.file_name, a.source AS article_source
        FROM latest_events e JOIN articles a USING (article_id)
        ORDER BY a.file_name, e.article_id, e.event_index, e.event_id
        """
    )
    return _dicts(cur)


def memberships(store: Store) -> dict[str, str]:
    """event_id -> unique_event_id of every stored member."""
    return dict(store.con.execute("SELECT event_id, unique_event_id FROM unique_event_members").fetchall())


def stored_links(store: Store) -> dict[tuple[str, str], float]:
    """(event_a, event_b) -> score of every stored link."""
    rows = store.con.execute("SELECT event_a, event_b, score FROM unique_event_links").fetchall()
    return {(a, b): s for a, b, s in rows}


def stored_unique_events(store: Store) -> dict[str, dict[str, Any]]:
    """unique_event_id -> its row (every column)."""
    cur = store.con.execute("SELECT * FROM unique_events")
    return {r["unique_event_id"]: r for r in _dicts(cur)}


def stored_members(store: Store) -> dict[str, dict[str, Any]]:
    """event_id -> its unique_event_members row."""
    cur = store.con.execute("SELECT * FROM unique_event_members")
    return {r["event_id"]: r for r in _dicts(cur)}


def last_settings_hash(store: Store) -> str | None:
    row = store.con.execute("SELECT settings_hash FROM merge_runs ORDER BY started_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def has_merge(store: Store) -> bool:
    """Whether a merge has run on this file (the unique-event tables hold its result)."""
    row = store.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'merge_runs' AND table_type = 'BASE TABLE'"
    ).fetchone()
    if not row or not row[0]:
        return False
    n = store.con.execute("SELECT count(*) FROM merge_runs").fetchone()
    return bool(n and n[0])


def write_merge(
    store: Store,
    *,
    upserts: Sequence[dict[str, Any]],
    deleted: Sequence[str],
    members: Sequence[dict[str, Any]],
    links: Sequence[dict[str, Any]],
    merge_run: dict[str, Any],
) -> None:
    """Write one merge in one transaction: the unique events in ``upserts`` replace their stored
    rows (members and links included), those in ``deleted`` go, and the merge is logged."""
    con = store.con
    touched = sorted({u["unique_event_id"] for u in upserts} | set(deleted))
    con.execute("BEGIN TRANSACTION")
    try:
        if touched:
            con.execute("DELETE FROM unique_event_links WHERE list_contains(?, unique_event_id)", [touched])
            con.execute("DELETE FROM unique_event_members WHERE list_contains(?, unique_event_id)", [touched])
            con.execute("DELETE FROM unique_events WHERE list_contains(?, unique_event_id)", [touched])
        # a member may move between unique events: its old row goes first
        moved = [m["event_id"] for m in members]
        if moved:
            con.execute("DELETE FROM unique_event_members WHERE list_contains(?, event_id)", [moved])
            con.execute(
                "DELETE FROM unique_event_links WHERE list_contains(?, event_a) OR list_contains(?, event_b)",
                [moved, moved],
            )
        insert_rows(con, "unique_events", list(upserts))
        insert_rows(con, "unique_event_members", list(members))
        insert_rows(con, "unique_event_links", list(links))
        insert_rows(con, "merge_runs", [{**merge_run, "settings": json.dumps(merge_run.get("settings"))}])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# --------------------------------------------------------------------------- exports


def unique_records(store: Store) -> list[dict[str, Any]]:
    """Every real event once: the unique events with a current member, then every latest event
    no merge has placed, in the same columns (``members``: event ids; ``articles``: file names)."""
    cur = store.con.execute(
        """
        WITH cur AS (
            SELECT m.unique_event_id, list(m.event_id ORDER BY m.event_id) AS members,
                   list(m.article_id ORDER BY m.event_id) AS article_ids
            FROM unique_event_members m JOIN latest_events l USING (event_id)
            GROUP BY m.unique_event_id
        )
        SELECT u.*, cur.members, cur.article_ids FROM unique_events u JOIN cur USING (unique_event_id)
        UNION ALL BY NAME
        SELECT e.event_id AS unique_event_id, e.event_date, e.event_end_date, e.time_precision, e.event_type,
               e.sub_event_type, e.actor1, e.actor1_type, e.assoc_actors_1, e.actor2, e.actor2_type,
               e.assoc_actors_2, e.country, e.admin1, e.location, e.geo_precision, e.latitude, e.longitude,
               e.geo_method, e.fatalities, e.fatalities AS fatalities_low, e.fatalities AS fatalities_high,
               e.fatalities AS fatalities_latest, 'one report' AS fatalities_rule, e.civilian_targeting,
               concat_ws('; ', nullif(e.source, ''), nullif(a.source, '')) AS sources, [a.file_name] AS articles,
               e.notes, e.evidence, 1 AS n_events, 1 AS n_articles, a.published AS first_published,
               a.published AS last_published, NULL::DOUBLE AS min_link_score,
               [e.event_id] AS members, [e.article_id] AS article_ids
        FROM latest_events e JOIN articles a USING (article_id)
        WHERE e.event_id NOT IN (SELECT event_id FROM unique_event_members)
        ORDER BY event_date NULLS LAST, country, unique_event_id
        """
    )
    return _dicts(cur)


def unique_members(store: Store, unique_event_id: str) -> list[dict[str, Any]]:
    """The members of one unique event with their articles and link scores."""
    cur = store.con.execute(
        """
        SELECT m.*, a.file_name, a.published, e.fatalities, e.event_date, e.location
        FROM unique_event_members m JOIN events e USING (event_id) JOIN articles a ON a.article_id = m.article_id
        WHERE m.unique_event_id = ? ORDER BY a.published, a.file_name
        """,
        [unique_event_id],
    )
    return _dicts(cur)


def now() -> Any:
    return utcnow()
