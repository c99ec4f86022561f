"""The reads and writes of `review` (`pipeline.export.review`).

The review page shows runs' articles with their events; the reviewer's
decisions come back through `review --apply` into the append-only `reviews`
table. Everything the page and the decisions need from the database is one
function here, so the SQL stays in the store. The unique-event tables belong
to the merge step (`pipeline.store.unique`); they are read once a merge has filled them
(`has_unique_events`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.store.database import Store
from pipeline.store.rows import insert_rows, utcnow


def _dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# --------------------------------------------------------------------------- what the page shows


def runs(store: Store, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ``runs`` rows of ``run_ids``, oldest first."""
    cur = store.con.execute("SELECT * FROM runs WHERE list_contains(?, run_id) ORDER BY started_at", [list(run_ids)])
    return _dicts(cur)


def latest_items(store: Store) -> list[dict[str, Any]]:
    """The latest outcome of every article: its latest successful extraction, or, for an article
    never extracted, its latest failure; plus each file that failed before becoming an article
    (empty, unreadable), unless a later run extracted a file of that name. One ``run_articles`` row each."""
    cur = store.con.execute(
        """
        WITH ranked AS (
            SELECT ra.*, row_number() OVER (
                PARTITION BY ra.article_id ORDER BY (ra.status = 'ok') DESC, ra.finished_at DESC
            ) AS k
            FROM run_articles ra WHERE ra.article_id IS NOT NULL AND ra.status IN ('ok', 'failed')
        ),
        unread AS (
            SELECT ra.*, row_number() OVER (PARTITION BY ra.file_name ORDER BY ra.finished_at DESC) AS k
            FROM run_articles ra WHERE ra.article_id IS NULL AND ra.status = 'failed'
        )
        SELECT run_id, article_id, file_name, status, error, n_events, n_calls, seconds, finished_at
        FROM ranked WHERE k = 1
        UNION ALL
        SELECT u.run_id, u.article_id, u.file_name, u.status, u.error, u.n_events, u.n_calls, u.seconds, u.finished_at
        FROM unread u WHERE u.k = 1 AND NOT EXISTS (
            SELECT 1 FROM run_articles ok
            WHERE ok.file_name = u.file_name AND ok.status = 'ok' AND ok.finished_at > u.finished_at
        )
        ORDER BY file_name
        """
    )
    return _dicts(cur)


def run_items(store: Store, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ok and failed ``run_articles`` rows of ``run_ids`` (skipped rows hold no extraction)."""
    cur = store.con.execute(
        """
        SELECT run_id, article_id, file_name, status, error, n_events, n_calls, seconds, finished_at
        FROM run_articles WHERE list_contains(?, run_id) AND status IN ('ok', 'failed')
        ORDER BY file_name, finished_at
        """,
        [list(run_ids)],
    )
    return _dicts(cur)


def articles(store: Store, article_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ``articles`` rows of ``article_ids`` (text included)."""
    cur = store.con.execute(
        """
        SELECT article_id, file_name, title, published, url, source, text FROM articles
        WHERE list_contains(?, article_id)
        """,
        [list(article_ids)],
    )
    return _dicts(cur)


def events(store: Store, pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every ``events`` row of the ``(run_id, article_id)`` pairs, in article and event order."""
    if not pairs:
        return []
    cur = store.con.execute(
        """
        WITH src AS (
            SELECT DISTINCT * FROM (SELECT unnest(?::VARCHAR[]) AS run_id, unnest(?::VARCHAR[]) AS article_id)
        )
        SELECT e.* FROM events e JOIN src USING (run_id, article_id) ORDER BY e.article_id, e.run_id, e.event_index
        """,
        [[r for r, _ in pairs], [a for _, a in pairs]],
    )
    return _dicts(cur)


def has_unique_events(store: Store) -> bool:
    """Whether the merge step has written unique events (``unique_events`` and
    ``unique_event_members`` exist and hold rows: `merge-events` or `run-pipeline` has merged)."""
    row = store.con.execute(
        """
        SELECT count(*) FROM information_schema.tables
        WHERE table_name IN ('unique_events', 'unique_event_members') AND table_type = 'BASE TABLE'
        """
    ).fetchone()
    if not (row and row[0] == 2):
        return False
    n = store.con.execute("SELECT count(*) FROM unique_event_members").fetchone()
    return bool(n and n[0])


def unique_events_of(store: Store, event_ids: Sequence[str]) -> list[dict[str, Any]]:
    """For each of ``event_ids`` that belongs to a unique event: that unique event's row and all
    its members (``members``: list of {event_id, article_id, file_name, link_score})."""
    if not event_ids:
        return []
    cur = store.con.execute(
        """
        WITH mine AS (
            SELECT event_id, unique_event_id FROM unique_event_members WHERE list_contains(?, event_id)
        ),
        members AS (
            SELECT m.unique_event_id,
                   list({'event_id': m.event_id, 'article_id': m.article_id, 'file_name': a.file_name,
                         'link_score': m.link_score} ORDER BY a.file_name, m.event_id) AS members
            FROM unique_event_members m LEFT JOIN articles a USING (article_id)
            WHERE m.unique_event_id IN (SELECT unique_event_id FROM mine)
            GROUP BY m.unique_event_id
        )
        SELECT mine.event_id, u.unique_event_id, u.event_type, u.sub_event_type, u.event_date, u.country,
               u.admin1, u.location, u.fatalities, u.fatalities_rule, u.n_events, u.n_articles, members.members
        FROM mine JOIN unique_events u USING (unique_event_id) JOIN members USING (unique_event_id)
        """,
        [list(event_ids)],
    )
    return _dicts(cur)


# --------------------------------------------------------------------------- decisions


def known_events(store: Store, event_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """event_id -> (run_id, article_id) for the ids that are stored."""
    rows = store.con.execute(
        "SELECT event_id, run_id, article_id FROM events WHERE list_contains(?, event_id)", [list(event_ids)]
    ).fetchall()
    return {e: (r, a) for e, r, a in rows}


def add_reviews(store: Store, rows: Sequence[dict[str, Any]], source_file: str | None) -> int:
    """Append the decisions whose ``review_id`` is not stored yet (in one transaction); return how many.
    Nothing stored is ever changed: a later decision on the same event is a new row."""
    if not rows:
        return 0
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        existing = {
            r[0]
            for r in con.execute(
                "SELECT review_id FROM reviews WHERE list_contains(?, review_id)", [[r["review_id"] for r in rows]]
            ).fetchall()
        }
        applied_at = utcnow()
        new: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["review_id"] in existing or row["review_id"] in new:
                continue
            value = row.get("value")
            new[row["review_id"]] = {
                **row,
                "value": None if row.get("verdict") != "fix" else json.dumps(value, ensure_ascii=False),
                "applied_at": applied_at,
                "source_file": source_file,
            }
        insert_rows(con, "reviews", list(new.values()))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(new)


def reviews(store: Store, event_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Stored decisions (of ``event_ids`` when given), oldest first; ``value`` parsed from JSON."""
    sql = "SELECT * FROM reviews"
    params: list[Any] = []
    if event_ids is not None:
        sql += " WHERE list_contains(?, event_id)"
        params.append(list(event_ids))
    cur = store.con.execute(sql + " ORDER BY decided_at NULLS FIRST, applied_at, review_id", params)
    out = _dicts(cur)
    for row in out:
        row["value"] = json.loads(row["value"]) if row["value"] is not None else None
    return out


def reviewed_article_keys(store: Store) -> list[tuple[str, str]]:
    """``(run_id, article_id)`` of every extraction with at least one reviewed event."""
    return store.con.execute(
        """
        SELECT DISTINCT e.run_id, e.article_id FROM reviews r JOIN events e USING (event_id)
        ORDER BY e.article_id, e.run_id
        """
    ).fetchall()
