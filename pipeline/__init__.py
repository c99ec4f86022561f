"""conflict-events: news articles about armed conflict in, typed ACLED-style event records out.

The Python API, for use without the command line:

    import pipeline

    events = pipeline.extract_text(text, published="2019-08-27")          # one text, no database
    with pipeline.Store("events.duckdb") as store:                        # a folder, into DuckDB
        summary = pipeline.run_pipeline("articles/", store, pipeline.get_backend("local"),
                                        pipeline.load_prompt("default"))
    outcome = pipeline.run_eval(...)                                       # score against gold

Names are imported on first use, so `import pipeline` stays cheap (the command
line tools start fast and the model is loaded only when a backend is built).

Layout, one package per stage (see CONTRIBUTING.md for the path of one article):
`ingest` -> `extraction` (over `backends`) -> `geo` -> `store` -> `merge`, with
`runner` driving them; `export`, `evaluation` and `cli` sit on top; `errors` and
`paths` at the bottom.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "extract_text": "pipeline.extraction.article",
    "extract_article": "pipeline.extraction.article",
    "run_pipeline": "pipeline.runner",
    "run_pipeline_ray": "pipeline.distributed.engine",
    "BackendSpec": "pipeline.distributed.worker",
    "run_eval": "pipeline.evaluation.harness",
    "merge_store": "pipeline.merge.stage",
    "Store": "pipeline.store.database",
    "get_backend": "pipeline.backends",
    "register_backend": "pipeline.backends",
    "load_prompt": "pipeline.prompts",
    "ingest": "pipeline.ingest",
    "ConflictEventsError": "pipeline.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
