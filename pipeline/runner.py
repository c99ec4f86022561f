"""Run: ingest a folder, extract each article, land everything in the store.

An article's calls, events and status are written in one transaction, so an
interrupted run keeps every finished article and a rerun picks up the rest
(articles already extracted with the same model and prompt are skipped unless
`force`). Runs left 'running' by a killed process are marked 'interrupted'
the next time the file is opened for a run.

Concurrency (`jobs`): with jobs > 1, worker threads run `extract_article`
(at most `jobs` articles, hence at most `jobs` model requests, in flight) and
hand finished articles back through a queue; the main thread alone writes to
DuckDB, several finished articles per transaction (through Arrow), each article
whole. Progress is reported for an article once its rows are committed. With
jobs == 1 everything runs in the calling thread, one article per transaction,
as before. The embedded local model serves one generation at a time, so it
always runs with jobs == 1.

Response cache (`cache`): see pipeline/extraction/cache.py. On by default for `openai/`
models (OpenAI and compatible servers: where calls cost money or a shared
server's time), off for the embedded local model (whose timings are measured)
and the fake backend (tests script its answers); `cache=True/False` decides
explicitly, and CONFLICT_EVENTS_NO_CACHE=1 turns it off for every run.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline import costs
from pipeline.backends.base import Backend
from pipeline.extraction import cache as response_cache
from pipeline.extraction.article import ExtractionResult, extract_article
from pipeline.ingest import DEFAULT_MAX_BYTES, Article, ingest
from pipeline.prompts import Prompt
from pipeline.store.database import Store
from pipeline.store.rows import ArticleWrite, event_to_row


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
    n_calls: int = 0  # model calls made (attempts, retries and re-asks included; cache hits not)
    n_cached: int = 0  # calls answered from the response cache
    prompt_tokens: int = 0  # tokens paid for (cache hits carry none)
    completion_tokens: int = 0
    cost_usd: float | None = None  # None when the model's price is unknown
    jobs: int = 1

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
        """Mean time one article took (its latency; with jobs > 1, not the wall time per article)."""
        done = self.extracted
        return sum(o.seconds for o in done) / len(done) if done else None

    @property
    def articles_per_second(self) -> float | None:
        """Throughput: articles extracted (ok or failed) per wall-clock second."""
        n = sum(1 for o in self.outcomes if o.status != "skipped" and o.seconds)
        return n / self.seconds if n and self.seconds else None


ProgressCallback = Callable[[str, Any], None]


def _geocode(record: dict[str, Any]) -> dict[str, Any]:
    """Fill coordinates from the offline gazetteer when that stage is installed."""
    try:
        from pipeline.geo.geocode import apply_geocode
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
        record = {**_geocode(event.to_record()), "rules": list(event._rules)}
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


@dataclass
class FinishedArticle:
    """One article's outcome and rows, ready to be written by the main thread."""

    index: int  # position in the input, to report outcomes in input order
    outcome: ArticleOutcome
    run_row: dict[str, Any]
    article_row: dict[str, Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    cache_entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> ArticleWrite:
        return ArticleWrite(self.run_row, self.article_row, self.calls, self.events, self.cache_entries)


class _Writer:
    """The single DuckDB writer: batches finished articles, one transaction per batch."""

    def __init__(self, store: Store, summary: RunSummary, notify: ProgressCallback, batch_size: int, max_wait_s: float):
        self.store = store
        self.summary = summary
        self.notify = notify
        self.batch_size = max(1, batch_size)
        self.max_wait_s = max_wait_s
        self.pending: list[FinishedArticle] = []
        self._oldest: float | None = None
        self.order: dict[int, ArticleOutcome] = {}

    def add(self, item: FinishedArticle) -> None:
        if not self.pending:
            self._oldest = time.monotonic()
        self.pending.append(item)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def seconds_until_due(self) -> float | None:
        """How long the pending batch may still wait; None when nothing is pending."""
        if not self.pending or self._oldest is None:
            return None
        return max(0.0, self._oldest + self.max_wait_s - time.monotonic())

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending, self._oldest = self.pending, [], None
        try:
            self.store.write_articles(item.rows for item in batch)
        except BaseException:
            self.pending = batch + self.pending  # rolled back: still to be written
            raise
        for item in batch:  # count everything committed before telling anyone
            self._account(item)
        for item in batch:
            self.notify("article", item.outcome)

    def _account(self, item: FinishedArticle) -> None:
        self.order[item.index] = item.outcome
        self.summary.outcomes.append(item.outcome)
        paid = [c for c in item.calls if c.get("outcome") != "cached"]
        self.summary.n_calls += len(paid)
        self.summary.n_cached += len(item.calls) - len(paid)
        self.summary.prompt_tokens += sum(c.get("prompt_tokens") or 0 for c in paid)
        self.summary.completion_tokens += sum(c.get("completion_tokens") or 0 for c in paid)


def cache_enabled(backend: Backend, cache: bool | None) -> bool:
    if os.environ.get("CONFLICT_EVENTS_NO_CACHE", "").strip() not in ("", "0"):
        return False
    if cache is not None:
        return cache
    return backend.name == "openai"


def open_run(
    store: Store,
    folder: str | Path,
    backend: Backend,
    prompt: Prompt,
    *,
    limit: int | None,
    force: bool,
    jobs: int,
    cache: bool,
    price: Any,
    engine_parameters: dict[str, Any] | None = None,
) -> RunSummary:
    """Record a new run (its model, prompt and parameters) and return its empty summary (both engines)."""
    run_id = uuid.uuid4().hex
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
            "parameters": {
                **backend.parameters,
                **prompt.settings,
                "limit": limit,
                "force": force,
                "jobs": jobs,
                "cache": cache,
                "price_usd_per_1m_tokens": price,
                **(engine_parameters or {}),
            },
        }
    )
    return RunSummary(run_id=run_id, db_path=store.path, jobs=jobs)


def close_run(store: Store, run_id: str, summary: RunSummary, status: str, price: Any, t_run: float) -> None:
    """Settle a run's status, time and cost on `summary` and record its totals (both engines)."""
    summary.seconds = time.perf_counter() - t_run
    if status != "interrupted" and summary.count("failed"):
        status = "completed_with_failures"
    summary.status = status
    summary.cost_usd = costs.cost_usd(price, summary.prompt_tokens, summary.completion_tokens)
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
            "cost_usd": summary.cost_usd,
        },
    )


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
    jobs: int = 1,
    cache: bool | None = None,
    batch_size: int | None = None,
    max_batch_wait_s: float = 1.0,
) -> RunSummary:
    """Extract every new article of `folder` into `store`.

    jobs: articles extracted at once (worker threads; at most this many model
    requests in flight). cache: use the response cache (None: on for
    openai/ models only). batch_size / max_batch_wait_s: how many finished
    articles the writer gathers per transaction and how long a finished article
    may wait for its batch (default batch: `jobs`; 1 when jobs == 1).
    """
    notify = on_progress or (lambda kind, payload: None)
    jobs = max(1, int(jobs or 1))
    if backend.name == "local":
        jobs = 1  # one llama.cpp context generates one answer at a time
    use_cache = cache_enabled(backend, cache)
    price = costs.backend_price(backend)
    articles = ingest(folder, default_published=default_published, max_bytes=max_bytes)
    store.mark_interrupted_runs()
    summary = open_run(
        store, folder, backend, prompt, limit=limit, force=force, jobs=jobs, cache=use_cache, price=price
    )
    run_id = summary.run_id
    done = set() if force else store.completed_article_ids(backend.model, prompt.hash)

    # Decide up front what will be extracted, so progress and ETA are truthful.
    todo: list[Article] = []
    for article in articles:
        if article.ok and article.metadata.get("duplicate_of") is None and article.article_id not in done:
            if limit is None or len(todo) < limit:
                todo.append(article)
    notify("start", {"run_id": run_id, "total": len(todo), "files": len(articles), "jobs": jobs})

    t_run = time.perf_counter()
    status = "completed"
    writer = _Writer(
        store,
        summary,
        notify,
        batch_size=batch_size or (1 if jobs == 1 else jobs),
        max_wait_s=max_batch_wait_s,
    )
    try:
        snapshot = (
            store.cached_responses(backend.label, [a.article_id for a in todo if a.article_id])
            if use_cache and todo
            else None
        )
        selected = {id(a) for a in todo}
        work: list[tuple[int, Article]] = []
        for index, article in enumerate(articles):
            if id(article) in selected:
                work.append((index, article))
                continue
            item = not_extracted_rows(index, article, done, run_id)
            if item is not None:
                writer.add(item)
        writer.flush()

        def extract_one(index: int, article: Article) -> FinishedArticle:
            return extract_rows(index, article, prompt, backend, run_id, snapshot)

        if jobs == 1 or len(work) <= 1:
            for index, article in work:
                writer.add(extract_one(index, article))
            writer.flush()
        else:
            _run_concurrently(work, extract_one, jobs, writer)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except BaseException:
        status = "interrupted"  # the run stopped before its end; finished articles are kept
        raise
    finally:
        summary.outcomes = [summary_outcome for _, summary_outcome in sorted(writer.order.items())]
        close_run(store, run_id, summary, status, price, t_run)
    return summary


def _run_concurrently(
    work: list[tuple[int, Article]],
    extract_one: Callable[[int, Article], FinishedArticle],
    jobs: int,
    writer: _Writer,
) -> None:
    """Worker threads extract; this (main) thread alone writes, batch by batch."""
    todo: queue.Queue[tuple[int, Article]] = queue.Queue()
    for entry in work:
        todo.put(entry)
    results: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                index, article = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results.put(("ok", extract_one(index, article)))
            except BaseException as exc:  # a bug, not model misbehaviour: stop the run
                results.put(("error", exc))
                return

    # Daemon threads: an interrupted run must not wait for requests still in flight.
    threads = [threading.Thread(target=worker, name=f"extract-{i}", daemon=True) for i in range(min(jobs, len(work)))]
    for thread in threads:
        thread.start()
    remaining = len(work)
    try:
        while remaining:
            due = writer.seconds_until_due()
            try:
                # Poll: a blocked get() would not see Ctrl-C when the signal lands on a worker thread.
                kind, payload = results.get(timeout=_POLL_S if due is None else min(due, _POLL_S))
            except queue.Empty:
                if writer.seconds_until_due() == 0.0:
                    writer.flush()  # the oldest finished article has waited long enough
                continue
            if kind == "error":
                raise payload
            remaining -= 1
            writer.add(payload)
        writer.flush()
    except BaseException:
        stop.set()
        # Keep what is finished: it was paid for.
        try:
            while True:
                kind, payload = results.get_nowait()
                if kind == "ok":
                    writer.pending.append(payload)
        except queue.Empty:
            pass
        try:
            writer.flush()
        except Exception:
            pass
        raise


_POLL_S = 0.2
_GEOCODE_LOCK = threading.Lock()


def not_extracted_rows(index: int, article: Article, done: set[str], run_id: str) -> FinishedArticle | None:
    """The outcome of an article that is not sent to the model (bad file, duplicate, done), if recorded."""
    base = {"run_id": run_id, "article_id": article.article_id, "file_name": article.file_name}
    if not article.ok:
        return FinishedArticle(
            index,
            ArticleOutcome(article.file_name, "failed", error=article.error),
            {**base, "status": "failed", "error": article.error, "n_events": 0},
            article_row=article_row(article) if article.article_id else None,
        )
    duplicate_of = article.metadata.get("duplicate_of")
    if duplicate_of:
        reason = f"same text as {duplicate_of}"
        return FinishedArticle(
            index,
            ArticleOutcome(article.file_name, "skipped", error=reason),
            {**base, "status": "skipped", "error": reason, "n_events": 0},
        )
    if article.article_id in done:
        reason = "already extracted with this model and prompt (--force to redo)"
        return FinishedArticle(
            index,
            ArticleOutcome(article.file_name, "skipped", error=reason),
            {**base, "status": "skipped", "error": reason, "n_events": 0},
        )
    return None  # beyond --limit: left for a later run, not recorded


def extract_rows(
    index: int, article: Article, prompt: Prompt, backend: Backend, run_id: str, snapshot: dict[str, str] | None
) -> FinishedArticle:
    """Extract one article (any thread): model calls and row building, no database access."""
    session = (
        response_cache.CacheSession(snapshot, article_id=article.article_id, run_id=run_id)
        if snapshot is not None
        else None
    )
    with response_cache.activate(session):
        result = extract_article(article, prompt, backend, run_id)
    with _GEOCODE_LOCK:
        # Pure CPU (no gain from threads under the GIL), and the gazetteer loads lazily:
        # one thread builds it while the others wait, instead of all building it at once.
        rows = build_event_rows(result, article, run_id)
    status = "failed" if result.error else "ok"
    paid = sum(1 for c in result.calls if c.get("outcome") != "cached")
    return FinishedArticle(
        index,
        ArticleOutcome(
            article.file_name,
            status,
            n_events=len(rows) if status == "ok" else 0,
            seconds=result.seconds,
            error=result.error,
        ),
        {
            "run_id": run_id,
            "article_id": article.article_id,
            "file_name": article.file_name,
            "status": status,
            "error": result.error,
            "n_events": len(rows) if status == "ok" else 0,
            "n_calls": paid,
            "seconds": result.seconds,
        },
        article_row=article_row(article),
        calls=result.calls,
        events=rows if status == "ok" else [],
        cache_entries=session.new_entries if session is not None else [],
    )
