"""Evaluation runs: score extractions in the store against a gold folder.

Two ways to get a report column (one scored run):

* ``score_stored_run(store, run_id, gold)``: the events of a run already in the
  store, matched to the gold files by the article file name the run recorded
  (``run_articles.file_name``, i.e. ``articles.file_name`` when the file was
  ingested; a bare base name also matches a gold file). No model calls.
* ``run_pair(store, gold, articles, prompt, model_spec, ...)``: run the
  pipeline (``runner.run_pipeline``) on the gold articles with one prompt and
  one model, then score. Articles already extracted successfully with the same
  model and prompt hash are not extracted again (unless ``force``): for each
  gold article the events come from the *latest successful* ``run_articles``
  row whose run used that model and prompt hash. When nothing is left to
  extract no run is started (the backend is not even loaded) and the column
  shows the latest of the runs the events came from. With ``force`` every
  article is extracted again and only the new run's events count.

``run_eval`` strings these together: every ``--run`` first, then every
(model, prompt) pair; it stores the scores (``save_eval``: tables
``eval_runs`` / ``eval_articles``, one ``eval_id`` per call) and writes the
Markdown and HTML reports (``write_report``) through ``pipeline.evaluation.report``.
Every query it needs is a function of ``pipeline.store.evals``.

Column statistics (``column_stats``) come from the store, over the
``run_articles`` rows that supplied the column (for a stored run: all of its
rows):

* ``first_try_valid_rate``: share of articles sent to the model (status ok,
  or failed after at least one call) none of whose ``llm_calls`` has outcome
  ``validation_error``;
* ``retries``: ``llm_calls`` rows with ``attempt > 1``;
* ``seconds_per_article``: mean ``run_articles.seconds`` over ok articles;
* ``prompt_tokens`` / ``completion_tokens``: sums over those ``llm_calls``;
* ``n_articles``: ok articles; ``n_failed``: failed articles;
* ``cost_usd``: ``runs.cost_usd`` of the column's run (may be NULL).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import EvalError, UnknownRun
from pipeline.errors import UnknownRun as StoreUnknownRun
from pipeline.evaluation import merging
from pipeline.evaluation.gold import load_gold
from pipeline.evaluation.report import render_html, render_markdown
from pipeline.evaluation.scoring import AliasTable, RunScore, score_run
from pipeline.ingest import Article, ingest
from pipeline.prompts import Prompt, load_prompt
from pipeline.store import evals
from pipeline.store.database import Store
from pipeline.store.evals import latest_extractions
from pipeline.store.rows import utcnow

__all__ = [
    "EvalError",
    "UnknownRun",
    "EvalColumn",
    "EvalOutcome",
    "load_gold_folder",
    "resolve_run",
    "expected_model_id",
    "select_articles",
    "latest_extractions",
    "column_stats",
    "score_stored_run",
    "run_pair",
    "save_eval",
    "load_eval_columns",
    "write_report",
    "run_eval",
]

ProgressCallback = Callable[[str, Any], None]


# --------------------------------------------------------------------------- columns


@dataclass
class EvalColumn:
    """One scored run: a column of the report and a row of ``eval_runs``."""

    run_id: str
    model: str | None
    backend: str | None
    prompt_name: str | None
    prompt_hash: str | None
    score: RunScore
    stats: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)  # gold article -> run that supplied its events
    label: str = ""
    n_failed: int = 0  # articles that failed in a run started for this column
    new_run: bool = False  # a run was started for this column
    notes: list[str] = field(default_factory=list)  # warnings worth printing
    predictions: dict[str, list[dict]] = field(default_factory=dict, repr=False)  # gold article -> events scored
    merge: dict[str, Any] | None = None  # merge scores end to end (`merging.score_predicted_merge`)

    @property
    def model_label(self) -> str:
        if self.backend and self.model:
            return f"{self.backend}/{self.model}"
        return self.model or self.backend or "?"

    def report_column(self) -> dict[str, Any]:
        """The column dict ``pipeline.evaluation.report`` renders."""
        return {
            "label": self.label or self.run_id[:12],
            "run_id": self.run_id,
            "model": self.model,
            "backend": self.backend,
            "prompt_name": self.prompt_name,
            "prompt_hash": self.prompt_hash,
            "score": self.score.to_dict(),
            "stats": dict(self.stats),
            "sources": dict(self.sources),
            "merge": self.merge,
        }


@dataclass
class EvalOutcome:
    eval_id: str
    gold_path: str
    columns: list[EvalColumn]
    md_path: Path | None = None
    html_path: Path | None = None
    review_path: Path | None = None  # the review page the report's per-article rows link to
    merge_gold: dict[str, Any] | None = None  # merge scores on gold events as input (clusters.json beside the gold)

    @property
    def n_failed(self) -> int:
        return sum(c.n_failed for c in self.columns)


# --------------------------------------------------------------------------- gold and runs


def load_gold_folder(path: str | Path, limit: int | None = None) -> dict[str, dict]:
    """Gold files keyed by article file name; the first ``limit`` articles (by name) when given."""
    folder = Path(path)
    if not folder.is_dir():
        raise EvalError(f"gold folder {folder} not found (pass --gold DIR with one <article>.json per article)")
    try:
        gold = load_gold(folder)
    except (ValueError, OSError) as exc:
        raise EvalError(f"gold folder {folder}: {exc}") from None
    if not gold:
        raise EvalError(f"gold folder {folder} holds no gold files (*.json with an 'events' list)")
    if limit is not None:
        gold = {name: gold[name] for name in sorted(gold)[:limit]}
    return gold


def resolve_run(store: Store, ref: str) -> str:
    """A run id from its full id or a unique prefix (`Store.resolve_run`, as an eval error)."""
    try:
        return store.resolve_run(ref)
    except StoreUnknownRun as exc:
        raise UnknownRun(str(exc)) from None


def expected_model_id(spec: str | None, base_url: str | None = None) -> str | None:
    """The model id a ``--model`` spec records in ``runs.model``, without loading the model.

    Mirrors ``backends.get_backend``'s name resolution; ``None`` when unsure
    (the backend is then built, and the runner decides what is already done).
    """
    from pipeline.backends import BACKENDS, load_plugins

    load_plugins()
    from pipeline.backends.model_files import DEFAULT_LOCAL_MODEL, LOCAL_MODELS

    spec = (spec or "local").strip()
    if base_url and "/" not in spec and spec not in BACKENDS:
        spec = f"openai/{spec}"
    name, _, model = spec.partition("/")
    if name not in BACKENDS:
        return spec if spec in LOCAL_MODELS else None
    if name == "local":
        return model or DEFAULT_LOCAL_MODEL
    if name == "fake":
        return model or "rules"
    if name == "openai":
        return model or None
    return None


def _gold_name(name: str, gold: dict[str, dict]) -> str | None:
    """The gold article a recorded file name stands for: exact, else by base name."""
    if name in gold:
        return name
    base = Path(name).name
    return base if base in gold else None


def column_stats(store: Store, rows: Sequence[tuple[str, str]], run_id: str | None) -> dict[str, Any]:
    """Reliability and cost of the ``run_articles`` rows ``(run_id, article_id)`` (see module docstring)."""
    stats: dict[str, Any] = {
        "first_try_valid_rate": None,
        "retries": 0,
        "seconds_per_article": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "n_articles": 0,
        "n_failed": 0,
        "cost_usd": None,
    }
    if run_id is not None:
        stats["cost_usd"] = evals.run_cost(store, run_id)
    rows = [(r, a) for r, a in rows if r and a]
    if not rows:
        return stats
    n_ok, n_failed, spa, n_asked, n_valid = evals.article_outcomes(store, rows)
    calls = evals.call_totals(store, rows)
    stats.update(
        n_articles=int(n_ok or 0),
        n_failed=int(n_failed or 0),
        seconds_per_article=float(spa) if spa is not None else None,
        first_try_valid_rate=(n_valid / n_asked) if n_asked else None,
        retries=int(calls[0] or 0),
        prompt_tokens=int(calls[1] or 0),
        completion_tokens=int(calls[2] or 0),
    )
    return stats


def _column_meta(store: Store, run_id: str) -> dict[str, Any]:
    run = evals.run_row(store, run_id)
    return {
        "model": run.get("model"),
        "backend": run.get("backend"),
        "prompt_name": run.get("prompt_name"),
        "prompt_hash": run.get("prompt_hash"),
    }


# --------------------------------------------------------------------------- scoring a stored run


def score_stored_run(
    store: Store, run_id: str, gold: dict[str, dict], *, aliases: AliasTable | None = None
) -> EvalColumn:
    """Score the events of one stored run against ``gold`` (no model calls)."""
    rows = evals.run_articles(store, run_id)
    predictions: dict[str, list[dict]] = {}
    article_of: dict[str, str] = {}
    skipped: list[str] = []
    unscored = 0
    for file_name, article_id, status in rows:
        name = _gold_name(file_name, gold)
        if name is None:
            unscored += status == "ok"
            continue
        if status == "ok" and article_id:
            records = evals.article_events(store, run_id, article_id)
            for r in records:
                r["article"] = name
            predictions[name] = records
            article_of[name] = article_id
        elif status == "skipped":
            skipped.append(name)
    texts_by_id = evals.article_texts(store, list(article_of.values()))
    texts = {name: texts_by_id[aid] for name, aid in article_of.items() if aid in texts_by_id}
    score = score_run(gold, predictions, texts, aliases=aliases)
    stat_rows = evals.run_article_keys(store, run_id)
    column = EvalColumn(
        run_id=run_id,
        score=score,
        stats=column_stats(store, stat_rows, run_id),
        sources={name: run_id for name in predictions},
        predictions=predictions,
        **_column_meta(store, run_id),
    )
    missing = [n for n in gold if n not in predictions]
    if skipped:
        column.notes.append(
            f"run {run_id[:12]} skipped {len(skipped)} gold article(s) already extracted by an earlier run; "
            "they are scored as having no events (score the pair with --prompt/--model to reuse them)"
        )
    elif missing:
        column.notes.append(
            f"run {run_id[:12]} has no extraction of {len(missing)} of {len(gold)} gold articles "
            "(scored as having no events)"
        )
    if unscored:
        column.notes.append(f"run {run_id[:12]}: {unscored} extracted article(s) have no gold file (not scored)")
    return column


# --------------------------------------------------------------------------- running a (prompt, model) pair


def select_articles(articles_dir: str | Path, gold: dict[str, dict]) -> tuple[list[Article], bool]:
    """The articles of the folder that have a gold file, and whether the folder holds exactly those.

    Raises EvalError when the folder is missing or holds none of the gold articles.
    """
    folder = Path(articles_dir)
    if not folder.exists():
        raise EvalError(f"articles folder {folder} not found (pass --articles DIR with the gold articles)")
    articles = ingest(folder)
    selected = [a for a in articles if _gold_name(a.file_name, gold) is not None]
    if not selected:
        raise EvalError(
            f"{folder} holds none of the {len(gold)} gold articles (file names must match the gold files' 'article')"
        )
    exact = len(selected) == len(articles) and all(a.published is not None for a in selected)
    return selected, exact


@contextmanager
def _staged(selected: Sequence[Article], gold: dict[str, dict]) -> Iterator[Path]:
    """A temporary folder holding only the selected articles, dated from the folder or the gold file."""
    tmp = Path(tempfile.mkdtemp(prefix="run-eval-"))
    try:
        dates: dict[Path, dict[str, str]] = {}
        for a in selected:
            target = tmp / a.file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(a.path, target)
            gname = _gold_name(a.file_name, gold)
            published = a.published or (gold.get(gname or "", {}).get("published") if gname else None)
            if published:
                dates.setdefault(target.parent, {})[target.name] = str(published)[:10]
        for folder, mapping in dates.items():
            (folder / "published.json").write_text(json.dumps(mapping, indent=1), encoding="utf-8")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_pair(
    store: Store,
    gold: dict[str, dict],
    articles_dir: str | Path,
    prompt: Prompt,
    model_spec: str,
    *,
    make_backend: Callable[[str], Any],
    force: bool = False,
    selection: tuple[list[Article], bool] | None = None,
    base_url: str | None = None,
    on_progress: ProgressCallback | None = None,
    aliases: AliasTable | None = None,
) -> EvalColumn:
    """Extract the gold articles with one prompt and one model (reusing earlier extractions), then score."""
    from pipeline.runner import run_pipeline

    notify = on_progress or (lambda kind, payload: None)
    selected, exact = selection or select_articles(articles_dir, gold)
    names_of: dict[str, list[str]] = {}  # article_id -> gold names (two files may hold one text)
    for a in selected:
        if a.article_id:
            names_of.setdefault(a.article_id, []).append(_gold_name(a.file_name, gold) or a.file_name)
    ids = list(names_of)

    model_id = expected_model_id(model_spec, base_url)
    if force or model_id is None:
        pending = list(selected)
    else:
        done = store.completed_article_ids(model_id, prompt.hash)
        pending = [a for a in selected if a.article_id not in done]

    new_run: str | None = None
    backend_name: str | None = None
    n_failed = 0
    notify("pair", {"prompt": prompt.name, "model": model_spec, "pending": len(pending), "total": len(selected)})
    if pending:
        backend = make_backend(model_spec)
        model_id, backend_name = backend.model, backend.name
        if exact:
            summary = run_pipeline(articles_dir, store, backend, prompt, force=force, on_progress=on_progress)
        else:
            with _staged(selected, gold) as folder:
                summary = run_pipeline(folder, store, backend, prompt, force=force, on_progress=on_progress)
            # Record the real folder and files, not the temporary copy.
            evals.record_source_paths(
                store,
                summary.run_id,
                str(Path(articles_dir).resolve()),
                [(a.article_id, a.path) for a in pending if a.article_id],
            )
        new_run = summary.run_id
        n_failed = summary.count("failed")

    assert model_id is not None
    sources_by_id = latest_extractions(store, model_id, prompt.hash, ids, run_id=new_run if force else None)
    predictions: dict[str, list[dict]] = {}
    sources: dict[str, str] = {}
    for article_id, src_run in sources_by_id.items():
        records = evals.article_events(store, src_run, article_id)
        for name in names_of[article_id]:
            predictions[name] = [{**r, "article": name} for r in records]
            sources[name] = src_run
    texts = {name: t for aid, t in evals.article_texts(store, list(sources_by_id)).items() for name in names_of[aid]}
    score = score_run(gold, predictions, texts, aliases=aliases)

    stat_rows = [(run, aid) for aid, run in sources_by_id.items()]
    if new_run:
        stat_rows += evals.failed_article_keys(store, new_run)
    column_run = new_run
    if column_run is None:
        if not sources_by_id:
            raise EvalError(f"no extraction of the gold articles with {model_spec} and prompt {prompt.name}")
        column_run = evals.latest_finished_run(store, sorted(set(sources_by_id.values())))
    meta = _column_meta(store, column_run)
    column = EvalColumn(
        run_id=column_run,
        score=score,
        stats=column_stats(store, stat_rows, column_run),
        sources=sources,
        n_failed=n_failed,
        new_run=new_run is not None,
        model=meta["model"] or model_id,
        backend=meta["backend"] or backend_name,
        prompt_name=prompt.name,
        prompt_hash=prompt.hash,
        predictions=predictions,
    )
    reused = sum(1 for run in sources.values() if run != new_run)
    if reused:
        column.notes.append(
            f"{prompt.name} × {model_spec}: reused earlier extractions of {reused} of "
            f"{len(gold)} articles (--force to extract again)"
        )
    if n_failed:
        column.notes.append(f"{prompt.name} × {model_spec}: {n_failed} article(s) failed in run {column_run[:12]}")
    return column


# --------------------------------------------------------------------------- persistence and reports


def _label_columns(columns: Sequence[EvalColumn]) -> None:
    base = [f"{c.prompt_name or '?'} · {c.model_label}" for c in columns]
    for c, b in zip(columns, base, strict=True):
        if not c.label:
            c.label = b if base.count(b) == 1 else f"{b} · {c.run_id[:8]}"


def save_eval(store: Store, eval_id: str, gold_path: str | Path, columns: Sequence[EvalColumn]) -> None:
    """Write one ``eval_runs`` row per column and one ``eval_articles`` row per (column, gold article)."""
    now = utcnow()
    run_rows, article_rows = [], []
    for position, c in enumerate(columns):
        d = c.score.to_dict()
        articles = d.pop("articles")
        report = c.report_column()
        meta = {k: report[k] for k in ("label", "model", "backend", "prompt_name", "prompt_hash")}
        run_rows.append(
            {
                "eval_id": eval_id,
                "run_id": c.run_id,
                "gold_path": str(Path(gold_path).resolve()),
                "created_at": now,
                "slot_f1": c.score.slot_f1,
                "event_precision": c.score.precision,
                "event_recall": c.score.recall,
                "event_f1": c.score.f1,
                "fatalities_mae": c.score.fatalities_mae,
                "grounding_rate": c.score.grounding_rate,
                "field_accuracy": json.dumps(c.score.field_accuracy),
                "metrics": json.dumps(
                    {
                        "position": position,
                        **meta,
                        "score": d,
                        "stats": c.stats,
                        "sources": c.sources,
                        "new_run": c.new_run,
                        "merge": c.merge,
                    },
                    default=str,
                ),
            }
        )
        for name, a in articles.items():
            article_rows.append(
                {
                    "eval_id": eval_id,
                    "run_id": c.run_id,
                    "article": name,
                    "tp": a["tp"],
                    "fp": a["fp"],
                    "fn": a["fn"],
                    "slot_f1": a["slot_f1"],
                    "details": json.dumps({**a, "source_run_id": c.sources.get(name)}, default=str),
                }
            )
    evals.save_eval_rows(store, run_rows, article_rows)


def load_eval_columns(store: Store, eval_id: str | None = None) -> list[dict[str, Any]]:
    """Report columns of a stored evaluation (the latest when ``eval_id`` is None), in their order."""
    if eval_id is None:
        eval_id = evals.latest_eval_id(store)
        if eval_id is None:
            return []
    rows = evals.eval_run_metrics(store, eval_id)
    columns = []
    for run_id, metrics in rows:
        m = json.loads(metrics)
        details = evals.eval_article_details(store, eval_id, run_id)
        score = dict(m["score"])
        score["articles"] = {}
        for name, text in details:
            a = json.loads(text)
            a.pop("source_run_id", None)
            score["articles"][name] = a
        columns.append(
            {
                "position": m.get("position", 0),
                "run_id": run_id,
                "label": m.get("label"),
                "model": m.get("model"),
                "backend": m.get("backend"),
                "prompt_name": m.get("prompt_name"),
                "prompt_hash": m.get("prompt_hash"),
                "score": score,
                "stats": m.get("stats") or {},
                "merge": m.get("merge"),
            }
        )
    columns.sort(key=lambda c: c.pop("position"))
    return columns


def report_base(out: str | Path) -> Path:
    """``out`` without a .md/.html suffix: the reports are ``<base>.md``, ``<base>.html``, ``<base>.review.html``."""
    out = Path(out)
    return out.with_suffix("") if out.suffix.lower() in (".md", ".html", ".htm") else out


def write_report(
    columns: Sequence[dict[str, Any]],
    out: str | Path,
    review_page: str | None = None,
    merge_gold: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``<out>.md`` and ``<out>.html``; a .md/.html suffix on ``out`` is dropped first.

    review_page: the review page (a path relative to the report) its per-article rows link to.
    merge_gold: the merge scores on gold events as input (shown with the columns' end-to-end ones).
    """
    out = report_base(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out.with_name(out.name + ".md"), out.with_name(out.name + ".html")
    md_path.write_text(render_markdown(list(columns), merge_gold=merge_gold), encoding="utf-8")
    html_path.write_text(render_html(list(columns), review_page=review_page, merge_gold=merge_gold), encoding="utf-8")
    return md_path, html_path


def write_review_page(store: Store, columns: Sequence[EvalColumn], out: str | Path) -> Path | None:
    """The review page of the runs that supplied the columns' events, beside the report
    (``<out>.review.html``); None when no column has a run."""
    from pipeline.export.review import write_review

    runs = sorted({r for c in columns for r in c.sources.values()} | {c.run_id for c in columns if c.sources})
    if not runs:
        return None
    base = report_base(out)
    page = write_review(store, base.with_name(base.name + ".review.html"), runs)
    return page.path


# --------------------------------------------------------------------------- the whole evaluation


def run_eval(
    store: Store,
    gold_dir: str | Path,
    *,
    runs: Sequence[str] = (),
    prompts: Sequence[str | Prompt] = (),
    models: Sequence[str] = (),
    articles_dir: str | Path | None = None,
    limit: int | None = None,
    force: bool = False,
    out: str | Path | None = None,
    backend_options: dict[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    aliases: AliasTable | None = None,
) -> EvalOutcome:
    """Score ``runs`` (ids or prefixes), then every (model, prompt) pair; store, report.

    With no runs, prompts or models, the pair ("default" prompt, "local"
    model) is run. Given prompts without models use "local"; models without
    prompts use "default". ``limit`` keeps the first N gold articles (by name).
    Everything is checked (runs, prompts, folders) before any model is loaded.
    """
    from pipeline.backends import get_backend

    gold = load_gold_folder(gold_dir, limit)
    run_ids: list[str] = []
    for ref in runs:
        rid = resolve_run(store, ref)
        if rid not in run_ids:
            run_ids.append(rid)

    pairs: list[tuple[Prompt, str]] = []
    if prompts or models or not runs:
        loaded = [p if isinstance(p, Prompt) else load_prompt(p) for p in (prompts or ["default"])]
        for model in models or ["local"]:
            for prompt in loaded:
                if not any(p.hash == prompt.hash and m == model for p, m in pairs):
                    pairs.append((prompt, model))
    selection = None
    if pairs:
        if articles_dir is None:
            raise EvalError("running prompts and models needs the articles folder (--articles DIR)")
        selection = select_articles(articles_dir, gold)

    options = dict(backend_options or {})
    backends: dict[str, Any] = {}

    def make_backend(spec: str) -> Any:
        if spec not in backends:
            if on_progress:
                on_progress("loading", spec)
            backends[spec] = get_backend(spec, **options)
        return backends[spec]

    columns: list[EvalColumn] = []
    try:
        for rid in run_ids:
            columns.append(score_stored_run(store, rid, gold, aliases=aliases))
        for prompt, model in pairs:
            assert articles_dir is not None
            column = run_pair(
                store,
                gold,
                articles_dir,
                prompt,
                model,
                make_backend=make_backend,
                force=force,
                selection=selection,
                base_url=options.get("base_url"),
                on_progress=on_progress,
                aliases=aliases,
            )
            same = next((c for c in columns if c.run_id == column.run_id), None)
            if same is not None:
                same.notes.extend(column.notes)
                same.notes.append(
                    f"{prompt.name} × {model}: its latest run {column.run_id[:12]} is already a column; shown once"
                )
                continue
            columns.append(column)
    finally:
        for b in backends.values():
            try:
                b.close()
            except Exception:
                pass

    _label_columns(columns)
    outcome = EvalOutcome(eval_id=uuid.uuid4().hex, gold_path=str(gold_dir), columns=columns)
    outcome.merge_gold = score_merging(gold_dir, gold, columns, aliases=aliases)
    save_eval(store, outcome.eval_id, gold_dir, columns)
    if out is not None:
        outcome.review_path = write_review_page(store, columns, out)
        outcome.md_path, outcome.html_path = write_report(
            [c.report_column() for c in columns],
            out,
            outcome.review_path.name if outcome.review_path else None,
            merge_gold=outcome.merge_gold,
        )
    return outcome


def score_merging(
    gold_dir: str | Path, gold: dict[str, dict], columns: Sequence[EvalColumn], *, aliases: AliasTable | None = None
) -> dict[str, Any] | None:
    """When the gold folder has a ``clusters.json`` beside it: score the merge step on the gold events
    (returned) and end to end on each column's predicted events (``column.merge``). None without one."""
    path = merging.clusters_path(gold_dir)
    if not path.is_file():
        return None
    try:
        clusters = merging.load_clusters(path)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise EvalError(f"{path}: not a clusters file ({exc})") from None
    for c in columns:
        matches = {name: [(m.gold_index, m.pred_index) for m in a.matches] for name, a in c.score.articles.items()}
        c.merge = merging.score_predicted_merge(
            gold, clusters, c.predictions, matches, aliases=aliases, label=c.label
        ).to_dict()
        c.merge["n_gold_clusters_all"] = clusters.n_clusters
    result = merging.score_gold_merge(gold, clusters, aliases=aliases).to_dict()
    result["n_gold_clusters_all"] = clusters.n_clusters
    return result
