"""The reads and writes of `run-eval` (`pipeline.evaluation.harness`).

The harness scores runs against gold files; everything it needs from the
database (a run's row, its articles and events, the reliability counts of a
column, the latest extractions with a model and prompt, the `eval_runs` and
`eval_articles` tables) is one function here, so the SQL stays in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.store.database import Store
from pipeline.store.rows import insert_rows, row_to_record

# ``(run_id, article_id)`` pairs passed as two parallel lists, deduplicated.
_PAIRS = "SELECT DISTINCT * FROM (SELECT unnest(?::VARCHAR[]) AS run_id, unnest(?::VARCHAR[]) AS article_id)"

# --------------------------------------------------------------------------- runs and articles


def run_row(store: Store, run_id: str) -> dict[str, Any]:
    """The ``runs`` row of ``run_id`` as a dict; empty when there is none."""
    cur = store.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else {}


def run_cost(store: Store, run_id: str) -> float | None:
    """``runs.cost_usd`` of ``run_id`` (None when unknown or no such run)."""
    cost = store.con.execute("SELECT cost_usd FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return cost[0] if cost else None


def run_articles(store: Store, run_id: str) -> list[tuple[str, str | None, str]]:
    """``(file_name, article_id, status)`` of every ``run_articles`` row of a run, in the order they finished."""
    return store.con.execute(
        """
        SELECT ra.file_name, ra.article_id, ra.status FROM run_articles ra
        WHERE ra.run_id = ? ORDER BY ra.finished_at
        """,
        [run_id],
    ).fetchall()


def run_article_keys(store: Store, run_id: str) -> list[tuple[str, str]]:
    """``(run_id, article_id)`` of the ``run_articles`` rows of a run that name an article."""
    return store.con.execute(
        "SELECT run_id, article_id FROM run_articles WHERE run_id = ? AND article_id IS NOT NULL", [run_id]
    ).fetchall()


def failed_article_keys(store: Store, run_id: str) -> list[tuple[str, str]]:
    """``(run_id, article_id)`` of the failed ``run_articles`` rows of a run that name an article."""
    return store.con.execute(
        "SELECT run_id, article_id FROM run_articles WHERE run_id = ? AND status = 'failed' AND article_id IS NOT NULL",
        [run_id],
    ).fetchall()


def latest_finished_run(store: Store, run_ids: Sequence[str]) -> str:
    """Of ``run_ids``, the one whose ``run_articles`` row finished last."""
    row = store.con.execute(
        "SELECT run_id FROM run_articles WHERE list_contains(?, run_id) ORDER BY finished_at DESC LIMIT 1",
        [list(run_ids)],
    ).fetchone()
    assert row is not None, "none of the runs has run_articles rows"
    return row[0]


def article_events(store: Store, run_id: str, article_id: str) -> list[dict[str, Any]]:
    """The event records one run extracted from one article, in their order."""
    cur = store.con.execute(
        "SELECT * FROM events WHERE run_id = ? AND article_id = ? ORDER BY event_index", [run_id, article_id]
    )
    names = [d[0] for d in cur.description]
    return [row_to_record(dict(zip(names, row, strict=True))) for row in cur.fetchall()]


def article_texts(store: Store, article_ids: Sequence[str]) -> dict[str, str]:
    """article_id -> article text, for the ids that are stored."""
    if not article_ids:
        return {}
    rows = store.con.execute(
        "SELECT article_id, text FROM articles WHERE list_contains(?, article_id)", [list(article_ids)]
    ).fetchall()
    return dict(rows)


def latest_extractions(
    store: Store, model: str, prompt_hash: str, article_ids: Sequence[str], run_id: str | None = None
) -> dict[str, str]:
    """article_id -> run_id of its latest successful extraction with this model and prompt hash
    (only within ``run_id`` when given)."""
    if not article_ids:
        return {}
    rows = store.con.execute(
        """
        SELECT ra.article_id, ra.run_id FROM run_articles ra JOIN runs r USING (run_id)
        WHERE ra.status = 'ok' AND r.model = ? AND r.prompt_hash = ?
          AND list_contains(?, ra.article_id) AND (? IS NULL OR ra.run_id = ?)
        QUALIFY row_number() OVER (PARTITION BY ra.article_id ORDER BY ra.finished_at DESC) = 1
        """,
        [model, prompt_hash, list(article_ids), run_id, run_id],
    ).fetchall()
    return dict(rows)


def record_source_paths(store: Store, run_id: str, input_path: str, article_paths: Sequence[tuple[str, str]]) -> None:
    """Set ``runs.input_path`` of a run and ``articles.path`` of each ``(article_id, path)``."""
    store.con.execute("UPDATE runs SET input_path = ? WHERE run_id = ?", [input_path, run_id])
    for article_id, path in article_paths:
        store.con.execute("UPDATE articles SET path = ? WHERE article_id = ?", [path, article_id])


# --------------------------------------------------------------------------- column statistics


def article_outcomes(store: Store, pairs: Sequence[tuple[str, str]]) -> tuple[int, int, float | None, int, int]:
    """Over the ``run_articles`` rows ``(run_id, article_id)`` that are ok or failed:
    ``(n_ok, n_failed, mean seconds of ok rows, n sent to the model, n of those with no validation error)``."""
    params = [[r for r, _ in pairs], [a for _, a in pairs]]
    row = store.con.execute(
        f"""
        WITH src AS ({_PAIRS}),
        ra AS (
            SELECT ra.run_id, ra.article_id, ra.status, ra.seconds FROM run_articles ra JOIN src USING (run_id, article_id)
            WHERE ra.status IN ('ok', 'failed')
        ),
        calls AS (
            SELECT c.run_id, c.article_id,
                   bool_or(c.outcome = 'validation_error') AS invalid, count(*) AS n
            FROM llm_calls c JOIN src USING (run_id, article_id) GROUP BY ALL
        )
        SELECT
            count(*) FILTER (WHERE ra.status = 'ok'),
            count(*) FILTER (WHERE ra.status = 'failed'),
            avg(ra.seconds) FILTER (WHERE ra.status = 'ok'),
            count(*) FILTER (WHERE calls.n > 0),
            count(*) FILTER (WHERE calls.n > 0 AND NOT calls.invalid)
        FROM ra LEFT JOIN calls USING (run_id, article_id)
        """,
        params,
    ).fetchone()
    assert row is not None  # an aggregate always returns one row
    return row


def call_totals(store: Store, pairs: Sequence[tuple[str, str]]) -> tuple[int, int, int]:
    """Over the ``llm_calls`` of the ``(run_id, article_id)`` pairs: ``(retries, prompt_tokens, completion_tokens)``."""
    params = [[r for r, _ in pairs], [a for _, a in pairs]]
    row = store.con.execute(
        f"""
        WITH src AS ({_PAIRS})
        SELECT count(*) FILTER (WHERE c.attempt > 1), coalesce(sum(c.prompt_tokens), 0),
               coalesce(sum(c.completion_tokens), 0)
        FROM llm_calls c JOIN src USING (run_id, article_id)
        """,
        params,
    ).fetchone()
    assert row is not None  # an aggregate always returns one row
    return row


# --------------------------------------------------------------------------- eval_runs / eval_articles


def save_eval_rows(store: Store, run_rows: Sequence[dict[str, Any]], article_rows: Sequence[dict[str, Any]]) -> None:
    """Insert one evaluation's ``eval_runs`` and ``eval_articles`` rows in one transaction."""
    store.con.execute("BEGIN TRANSACTION")
    try:
        insert_rows(store.con, "eval_runs", run_rows)
        insert_rows(store.con, "eval_articles", article_rows)
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise


def latest_eval_id(store: Store) -> str | None:
    """The ``eval_id`` of the most recent evaluation; None when there is none."""
    row = store.con.execute("SELECT eval_id FROM eval_runs ORDER BY created_at DESC LIMIT 1").fetchone()
    return row[0] if row is not None else None


def eval_run_metrics(store: Store, eval_id: str) -> list[tuple[str, str]]:
    """``(run_id, metrics JSON)`` of each ``eval_runs`` row of an evaluation."""
    return store.con.execute("SELECT run_id, metrics FROM eval_runs WHERE eval_id = ?", [eval_id]).fetchall()


def eval_article_details(store: Store, eval_id: str, run_id: str) -> list[tuple[str, str]]:
    """``(article, details JSON)`` of one column of an evaluation, by article name."""
    return store.con.execute(
        "SELECT article, details FROM eval_articles WHERE eval_id = ? AND run_id = ? ORDER BY article",
        [eval_id, run_id],
    ).fetchall()
