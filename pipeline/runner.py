"""Run: ingest a folder, extract each article, land everything in the store.

Each article is written in its own transaction as soon as it is done, so an
interrupted run keeps every finished article and a rerun picks up the rest
(articles already extracted with the same model and prompt are skipped unless
`force`). Runs left 'running' by a killed process are marked 'interrupted'
the next time the file is opened for a run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .backends import Backend
from .extract import ExtractionResult, extract_article
from .ingest import DEFAULT_MAX_BYTES, Article, ingest
from .prompts import Prompt
from .store import Store, event_to_row


@dataclass
class ArticleOutcome:
    file_name: str
    status: str  # ok | failed | skipped
    n_events: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class RunSummary:
    run_id: str
    db_path: str
    status: str = "running"
    outcomes: list[ArticleOutcome] = field(default_factory=list)
    seconds: float = 0.0
    n_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def n_events(self) -> int:
        return sum(o.n_events for o in self.outcomes)

    @property
    def extracted(self) -> list[ArticleOutcome]:
        return [o for o in self.outcomes if o.status == "ok"]

    @property
    def seconds_per_article(self) -> float | None:
        done = self.extracted
        return sum(o.seconds for o in done) / len(done) if done else None


ProgressCallback = Callable[[str, Any], None]


def _geocode(record: dict[str, Any]) -> dict[str, Any]:
    """Fill coordinates from the offline gazetteer when that stage is installed."""
    try:
        from .geocode import apply_geocode
    except ImportError:
        return record
    try:
        return apply_geocode(record)
    except Exception:
        # Geocoding is an enrichment: a gazetteer problem must not lose an event.
        return record


def build_event_rows(result: ExtractionResult, article: Article, run_id: str) -> list[dict[str, Any]]:
    rows = []
    for index, event in enumerate(result.events):
        record = _geocode(event.to_record())
        rows.append(
            event_to_row(
                record,
                event_id=f"{run_id[:8]}-{article.article_id}-{index}",
                run_id=run_id,
                article_id=article.article_id or "",
                index=index,
                offsets=event.evidence_offsets(article.text),
            )
        )
    return rows


def article_row(article: Article) -> dict[str, Any]:
    return {
        "article_id": article.article_id,
        "file_name": article.file_name,
        "path": article.path,
        "title": article.title,
        "published": article.published,
        "url": article.url,
        "source": article.source,
        "text": article.text,
        "n_chars": len(article.text),
        "metadata": article.metadata,
    }


def run_pipeline(
    folder: str | Path,
    store: Store,
    backend: Backend,
    prompt: Prompt,
    *,
    limit: int | None = None,
    force: bool = False,
    default_published: date | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    notify = on_progress or (lambda kind, payload: None)
    articles = ingest(folder, default_published=default_published, max_bytes=max_bytes)
    store.mark_interrupted_runs()
    run_id = uuid.uuid4().hex
    summary = RunSummary(run_id=run_id, db_path=store.path)
    store.start_run(
        {
            "run_id": run_id,
            "input_path": str(Path(folder).resolve()),
            "backend": backend.name,
            "model": backend.model,
            "instructor_mode": backend.mode.value,
            "prompt_name": prompt.name,
            "prompt_hash": prompt.hash,
            "strategy": prompt.strategy,
            "parameters": {**backend.parameters, **prompt.settings, "limit": limit, "force": force},
        }
    )
    done = set() if force else store.completed_article_ids(backend.model, prompt.hash)

    # Decide up front what will be extracted, so progress and ETA are truthful.
    todo: list[Article] = []
    for article in articles:
        if article.ok and article.metadata.get("duplicate_of") is None and article.article_id not in done:
            if limit is None or len(todo) < limit:
                todo.append(article)
    notify("start", {"run_id": run_id, "total": len(todo), "files": len(articles)})

    t_run = time.perf_counter()
    status = "completed"
    try:
        for article in articles:
            outcome = _process(article, article in todo, done, store, backend, prompt, run_id, summary)
            if outcome is None:
                continue
            summary.outcomes.append(outcome)
            notify("article", outcome)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        summary.seconds = time.perf_counter() - t_run
        if status != "interrupted" and summary.count("failed"):
            status = "completed_with_failures"
        summary.status = status
        store.finish_run(
            run_id,
            status,
            {
                "n_articles": len(summary.outcomes),
                "n_ok": summary.count("ok"),
                "n_failed": summary.count("failed"),
                "n_skipped": summary.count("skipped"),
                "n_events": summary.n_events,
                "n_calls": summary.n_calls,
                "prompt_tokens": summary.prompt_tokens,
                "completion_tokens": summary.completion_tokens,
                "seconds": summary.seconds,
            },
        )
    return summary


def _process(
    article: Article,
    selected: bool,
    done: set[str],
    store: Store,
    backend: Backend,
    prompt: Prompt,
    run_id: str,
    summary: RunSummary,
) -> ArticleOutcome | None:
    base = {"run_id": run_id, "article_id": article.article_id, "file_name": article.file_name}
    if not article.ok:
        if article.article_id:
            store.upsert_article(article_row(article))
        store.record_article_result({**base, "status": "failed", "error": article.error, "n_events": 0}, [], [])
        return ArticleOutcome(article.file_name, "failed", error=article.error)
    duplicate_of = article.metadata.get("duplicate_of")
    if duplicate_of:
        reason = f"same text as {duplicate_of}"
        store.record_article_result({**base, "status": "skipped", "error": reason, "n_events": 0}, [], [])
        return ArticleOutcome(article.file_name, "skipped", error=reason)
    if article.article_id in done:
        reason = "already extracted with this model and prompt (--force to redo)"
        store.record_article_result({**base, "status": "skipped", "error": reason, "n_events": 0}, [], [])
        return ArticleOutcome(article.file_name, "skipped", error=reason)
    if not selected:
        return None  # beyond --limit: left for a later run, not recorded

    store.upsert_article(article_row(article))
    result = extract_article(article, prompt, backend, run_id)
    rows = build_event_rows(result, article, run_id)
    status = "failed" if result.error else "ok"
    store.record_article_result(
        {
            **base,
            "status": status,
            "error": result.error,
            "n_events": len(rows) if status == "ok" else 0,
            "n_calls": len(result.calls),
            "seconds": result.seconds,
        },
        result.calls,
        rows if status == "ok" else [],
    )
    summary.n_calls += len(result.calls)
    summary.prompt_tokens += sum(c.get("prompt_tokens") or 0 for c in result.calls)
    summary.completion_tokens += sum(c.get("completion_tokens") or 0 for c in result.calls)
    return ArticleOutcome(
        article.file_name, status, n_events=len(rows) if status == "ok" else 0, seconds=result.seconds, error=result.error
    )
