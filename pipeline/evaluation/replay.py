"""Replay mode: today's extraction code over a stored run's logged model answers, no model call.

`replay_run` re-extracts every article a run extracted, answering each request
with the response the run logged for it (`pipeline.backends.replay`), optionally
with some of the staged design's code rules switched off
(`pipeline.extraction.rules`). `score_replay` scores the result against a gold
folder, so a code change or a rule's ablation is measured on every gold set in
seconds instead of a model run per set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.backends.base import Backend
from pipeline.backends.replay import logged_answers, make_replay_backend
from pipeline.evaluation.gold import load_gold
from pipeline.evaluation.scoring import RunScore, score_run
from pipeline.extraction import rules
from pipeline.extraction.article import extract_article
from pipeline.ingest import Article
from pipeline.prompts import load_prompt
from pipeline.runner import build_event_rows
from pipeline.store.database import Store
from pipeline.store.replay import logged_calls, run_articles, run_event_rows, run_info
from pipeline.store.rows import row_to_record


@dataclass
class ReplayedArticle:
    article: Article
    stored: list[dict[str, Any]]  # the run's events rows
    now: list[dict[str, Any]]  # the rows today's code builds from the same answers
    error: str | None = None


@dataclass
class ReplayResult:
    run_id: str
    prompt_changed: bool
    articles: list[ReplayedArticle] = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    live: int = 0  # misses answered by the fallback backend


def replay_run(
    db: str | Path,
    run_ref: str,
    *,
    without: Iterable[str] = (),
    prompt: str | None = None,
    more_answers: Mapping[str, tuple[str, str]] | None = None,
    fallback: Backend | None = None,
    on_answer: Callable[[str, str, str], None] | None = None,
) -> ReplayResult:
    """Re-extract a stored run's articles over its logged answers, with the rules `without` switched off.

    `prompt` (a name or path) replays with another prompt than the run's: requests that differ from the
    logged ones get no answer (a miss), so a prompt without a section the run used (e.g. `screen`)
    shows what the run would have given without that step. `more_answers` adds answers logged elsewhere
    (other runs, earlier live replays); with a `fallback` backend a miss is asked of it instead
    (`on_answer` sees each such answer, to keep it for the next replay).
    """
    with Store(db, read_only=True) as store:
        run_id = store.resolve_run(run_ref)
        info = run_info(store, run_id)
        answers = {**(more_answers or {}), **logged_answers(logged_calls(store, run_id))}
        articles = run_articles(store, run_id)
        stored = run_event_rows(store, run_id)
    loaded = load_prompt(prompt or info["prompt_name"])
    backend = make_replay_backend(
        None,
        answers=answers,
        model_id=info["model"],
        mode=info.get("instructor_mode"),
        run_id=run_id,
        fallback=fallback,
        on_answer=on_answer,
    )
    by_article: dict[str, list[dict[str, Any]]] = {}
    for row in stored:
        by_article.setdefault(row["article_id"], []).append(row)
    result = ReplayResult(run_id=run_id, prompt_changed=loaded.hash != info["prompt_hash"])
    with rules.disabled(without):
        for a in articles:
            meta = a["metadata"]
            article = Article(
                path=a["path"] or a["file_name"],
                file_name=a["file_name"],
                text=a["text"],
                article_id=a["article_id"],
                title=a["title"],
                published=a["published"],
                url=a["url"],
                source=a["source"],
                metadata=json.loads(meta) if isinstance(meta, str) else (meta or {}),
            )
            extracted = extract_article(article, loaded, backend, run_id)
            result.articles.append(
                ReplayedArticle(
                    article=article,
                    stored=by_article.get(a["article_id"], []),
                    now=build_event_rows(extracted, article, run_id),
                    error=extracted.error,
                )
            )
    result.hits = backend.parameters["stats"]["hits"]
    result.misses = backend.parameters["stats"]["misses"]
    result.live = backend.parameters["stats"]["live"]
    return result


def score_replay(result: ReplayResult, gold_dir: str | Path) -> RunScore:
    """Score the replayed events against the gold files of `gold_dir` (articles matched by file name)."""
    gold = load_gold(gold_dir)
    predicted = {
        a.article.file_name: [row_to_record(r) for r in a.now] for a in result.articles if a.article.file_name in gold
    }
    texts = {a.article.file_name: a.article.text for a in result.articles}
    return score_run({name: g for name, g in gold.items() if name in predicted}, predicted, texts)
