"""What a replay reads from a stored run: its logged calls, its articles and its events.

The store only reads: keying the logged answers by request is the replay
backend's business (`pipeline.backends.replay.logged_answers`).
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.store.database import Store


def logged_calls(store: Store, run_id: str) -> list[tuple[dict[str, Any], str, str]]:
    """(request as logged, raw response, finish reason) for every call of the run that got a response, oldest first.

    A call logged as `truncated` hit the token limit: it is replayed with finish
    reason "length", so the code meets the same cut-off answer it met then.
    """
    rows = store.con.execute(
        "SELECT request, response, outcome FROM llm_calls WHERE run_id = ? AND response IS NOT NULL "
        "ORDER BY started_at",
        [run_id],
    ).fetchall()
    return [
        (
            json.loads(request) if isinstance(request, str) else request,
            str(response),
            "length" if outcome == "truncated" else "stop",
        )
        for request, response, outcome in rows
    ]


def run_info(store: Store, run_id: str) -> dict[str, Any]:
    cur = store.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else {}


def run_articles(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The articles a run extracted successfully, with their text and publication date."""
    cur = store.con.execute(
        """
        SELECT a.article_id, ra.file_name, a.path, a.text, a.published, a.title, a.url, a.source, a.metadata
        FROM run_articles ra JOIN articles a USING (article_id)
        WHERE ra.run_id = ? AND ra.status = 'ok' ORDER BY ra.file_name
        """,
        [run_id],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def run_event_rows(store: Store, run_id: str) -> list[dict[str, Any]]:
    cur = store.con.execute("SELECT * FROM events WHERE run_id = ? ORDER BY article_id, event_index", [run_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
