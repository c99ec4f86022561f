"""The response cache's table (`llm_cache`): the SQL behind `pipeline.extraction.cache`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


def load_snapshot(
    con: duckdb.DuckDBPyConnection, model: str, article_ids: Iterable[str] | None = None
) -> dict[str, str]:
    """Entries of one model (backend label), optionally only for some articles: key -> completion JSON."""
    if article_ids is None:
        rows = con.execute("SELECT cache_key, completion FROM llm_cache WHERE model = ?", [model]).fetchall()
    else:
        ids = sorted({a for a in article_ids if a})
        if not ids:
            return {}
        rows = con.execute(
            "SELECT cache_key, completion FROM llm_cache WHERE model = ? AND list_contains(?, article_id)",
            [model, ids],
        ).fetchall()
    return {key: str(completion) for key, completion in rows}


def load_snapshot_by_article(
    con: duckdb.DuckDBPyConnection, model: str, article_ids: Iterable[str]
) -> dict[str, dict[str, str]]:
    """Entries of one model for some articles, grouped by article: article_id -> {key: completion JSON}."""
    ids = sorted({a for a in article_ids if a})
    if not ids:
        return {}
    rows = con.execute(
        "SELECT article_id, cache_key, completion FROM llm_cache WHERE model = ? AND list_contains(?, article_id)",
        [model, ids],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for article_id, key, completion in rows:
        out.setdefault(article_id, {})[key] = str(completion)
    return out


def write_entries(con: duckdb.DuckDBPyConnection, entries: Iterable[dict[str, Any]]) -> int:
    """Insert new entries (first answer wins); call inside the writer's transaction."""
    import pyarrow as pa

    unique: dict[str, dict[str, Any]] = {}
    for entry in entries:
        unique.setdefault(entry["cache_key"], entry)
    if not unique:
        return 0
    cache_rows = pa.Table.from_pylist(list(unique.values()))  # noqa: F841 - referenced by name below
    con.execute("INSERT OR IGNORE INTO llm_cache BY NAME SELECT * FROM cache_rows")
    return len(unique)
