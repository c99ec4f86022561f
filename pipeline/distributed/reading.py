"""Ingest on the Ray workers: file paths in, article rows out.

Kept apart from `worker` so that the reading tasks import only `pipeline.ingest`
(not the extraction stack): a fresh Ray worker process starts reading at once.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.ingest import Article, display_name, read_article

# An article as a row of the Ray Dataset (metadata as JSON text).
ARTICLE_SCHEMA = pa.schema(
    [
        ("index", pa.int64()),
        ("path", pa.string()),
        ("file_name", pa.string()),
        ("text", pa.string()),
        ("article_id", pa.string()),
        ("title", pa.string()),
        ("published", pa.date32()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("n_bytes", pa.int64()),
        ("error", pa.string()),
        ("metadata", pa.string()),
    ]
)
# What the extract stage receives: the article plus its response cache entries (JSON; null: no cache).
TODO_SCHEMA = ARTICLE_SCHEMA.append(pa.field("cache", pa.string()))


def article_to_row(index: int, article: Article) -> dict[str, Any]:
    return {
        "index": index,
        "path": article.path,
        "file_name": article.file_name,
        "text": article.text,
        "article_id": article.article_id,
        "title": article.title,
        "published": article.published,
        "url": article.url,
        "source": article.source,
        "n_bytes": article.n_bytes,
        "error": article.error,
        "metadata": json.dumps(article.metadata, ensure_ascii=False, default=str),
    }


def row_to_article(row: dict[str, Any]) -> Article:
    published = row.get("published")
    return Article(
        path=row["path"],
        file_name=row["file_name"],
        text=row.get("text") or "",
        article_id=row.get("article_id"),
        title=row.get("title"),
        published=published if isinstance(published, date) or published is None else date.fromisoformat(published),
        url=row.get("url"),
        source=row.get("source"),
        n_bytes=row.get("n_bytes") or 0,
        error=row.get("error"),
        metadata=json.loads(row.get("metadata") or "{}"),
    )


def read_batch(
    batch: pa.Table,
    root: str,
    folder_meta: dict[str, dict[str, dict[str, Any]]],
    default_published: date | None,
    max_bytes: int,
) -> pa.Table:
    """Files (index, path, given) into article rows: `pipeline.ingest.read_article` on each.

    `path` and `root` are absolute (a worker's working folder is not the driver's);
    the article records `given`, the path as the driver listed it, as in process.
    """
    base = Path(root)
    rows = []
    for item in batch.to_pylist():
        path = Path(item["path"])
        article = read_article(path, base, folder_meta.get(str(path.parent), {}), default_published, max_bytes)
        article.path = display_name(item["given"])
        rows.append(article_to_row(item["index"], article))
    return pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA)
