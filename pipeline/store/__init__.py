"""The store: the one DuckDB file, and the only package that writes SQL.

- `database.py`: `Store`, the connection and every read and write the product makes;
- `migrations.py`: the schema, as an ordered list of migrations;
- `rows.py`: how records become table rows (Arrow inserts, JSON columns, `ArticleWrite`);
- `cache.py`: the response cache's table;
- `evals.py`: the reads and writes of `run-eval` (runs to score, column statistics, `eval_runs`/`eval_articles`).
"""

from pipeline.store.database import DEFAULT_DB, Store

__all__ = ["DEFAULT_DB", "Store"]
