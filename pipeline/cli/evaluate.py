"""`run-eval`: score runs or (prompt, model) pairs against the gold set and write a report.

Exit codes as in pipeline.cli: 0 success; 1 some articles failed to extract
(the report is still written); 2 bad usage or input (unknown run, missing
gold folder or database); 3 database locked; 4 model cannot be set up;
130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.cli.options import (
    db_option,
    fail,
    handle_errors,
    model_options,
    prompt_option,
)
from pipeline.errors import EXIT_FAILED_ARTICLES, EXIT_USAGE

DEFAULT_OUT = "reports/eval"


def _repeatable(decorator: Callable[[Any], Any], name: str, extra_help: str) -> Callable[[Any], Any]:
    """Apply a shared option decorator from pipeline.cli, making its option `name` repeatable (no default)."""

    def apply(func: Any) -> Any:
        func = decorator(func)
        params = func.__click_params__
        for i, p in enumerate(params):
            if p.name == name:
                help_text = (p.help or "").rstrip()
                params[i] = click.Option([*p.opts, p.name], multiple=True, help=f"{help_text} {extra_help}")
        return func

    return apply


def _fmt(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option(
    "--gold",
    "gold_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Folder of gold files (one <article>.json per article, see CODEBOOK.md). "
    "[default: the shipped evals/gold, wherever run-eval is started]",
)
@click.option(
    "--articles",
    "articles_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Folder of the gold articles (with published.json); read when prompts/models run. "
    "[default: the articles beside --gold (its sibling folder `articles`)]",
)
@click.option(
    "--run",
    "runs",
    multiple=True,
    metavar="RUN_ID",
    help="Score a run already in the database (id or unique prefix); no model calls. Repeatable.",
)
@_repeatable(
    prompt_option,
    "prompt_name",
    "Repeatable: every prompt runs with every model. Default: default (none when only --run is given).",
)
@_repeatable(model_options, "model", "Repeatable. Default: local (none when only --run is given).")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Evaluate only the first N gold articles (by file name)."
)
@click.option(
    "--out",
    default=DEFAULT_OUT,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report path without suffix: writes OUT.md and OUT.html.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Extract again articles already done with the same model and prompt (default: reuse them).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display; print only the summary.")
@handle_errors
def run_eval_command(
    db_path: str,
    gold_dir: Path,
    articles_dir: Path,
    runs: tuple[str, ...],
    prompt_name: tuple[str, ...],
    model: tuple[str, ...],
    base_url: str | None,
    api_key_env: str,
    mode: str | None,
    limit: int | None,
    out: Path,
    force: bool,
    quiet: bool,
) -> None:
    """Score extractions against the gold annotations and write a Markdown + HTML report.

    \b
    With --run: score runs already in the database (events matched to gold
    files by article file name), no model calls.
    With --prompt/--model: run the pipeline on the gold articles for every
    (prompt, model) pair, then score. Articles already extracted with the same
    model and prompt are reused (the latest successful extraction of each),
    unless --force.

    Results go to the tables eval_runs and eval_articles, and to OUT.md and
    OUT.html (one column per run, in the order given: --run first, then the
    pairs, models outer, prompts inner). When the gold folder has a
    clusters.json beside it (a gold clustering of its events into real
    events), the merge step is scored too: on the gold events, and end to end
    on every column's events (pairwise link and B-cubed F1, wrong links with
    hard negatives first). Examples:

    \b
        run-eval --gold ../shared/dev2/gold --articles ../shared/dev2/articles --prompt default --prompt peer
        run-eval --run 3f2a --run 9c1b --out reports/compare
        run-eval --prompt default --prompt naive --model local
    """
    from pipeline.errors import EvalError
    from pipeline.evaluation.harness import run_eval
    from pipeline.paths import evals_dir
    from pipeline.prompts import PromptError, load_prompt
    from pipeline.store.database import Store

    gold_dir = gold_dir or evals_dir() / "gold"
    articles_dir = articles_dir or Path(gold_dir).parent / "articles"

    if runs and not Path(db_path).exists():
        fail(
            f"{db_path}: no such database; create it with `run-pipeline {articles_dir} --db {db_path}` "
            f"or score a model directly: `run-eval --model local --db {db_path}`",
            EXIT_USAGE,
        )
    if not Path(gold_dir).is_dir():
        fail(f"gold folder {gold_dir} not found (pass --gold DIR with one <article>.json per article)", EXIT_USAGE)

    try:
        prompts = [load_prompt(name) for name in prompt_name]  # a bad name fails before anything starts
    except PromptError as exc:
        fail(str(exc), EXIT_USAGE)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("articles · {task.fields[events]} events"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    )
    state: dict[str, Any] = {"label": "", "task": None, "events": 0, "live": False}

    def on_progress(kind: str, payload: Any) -> None:
        if quiet:
            return
        if kind == "loading":
            console.print(f"Loading model [bold]{payload}[/] ...", highlight=False)
        elif kind == "pair":
            state["label"] = f"{payload['prompt']} × {payload['model']}"
            todo = payload["pending"]
            console.print(
                f"{state['label']}: {todo} of {payload['total']} articles to extract"
                + ("" if todo else " (reusing earlier extractions)"),
                highlight=False,
            )
        elif kind == "start":
            if not state["live"]:  # started on first use: an early error prints no empty progress line
                progress.start()
                state["live"] = True
            state["events"] = 0
            state["task"] = progress.add_task(state["label"] or "extract", total=payload["total"], events=0)
        elif kind == "article" and state["task"] is not None:
            if payload.status == "skipped":
                return
            if payload.status == "failed":
                console.print(f"[yellow]failed[/] {payload.file_name}: {payload.error}", highlight=False)
            state["events"] += payload.n_events
            progress.update(state["task"], advance=1, events=state["events"])

    def stop_progress() -> None:
        if state["live"]:
            progress.stop()
            state["live"] = False

    store = Store(db_path)
    try:
        outcome = run_eval(
            store,
            gold_dir,
            runs=runs,
            prompts=prompts,
            models=model,
            articles_dir=articles_dir,
            limit=limit,
            force=force,
            out=out,
            backend_options={"base_url": base_url, "api_key_env": api_key_env, "mode": mode},
            on_progress=on_progress,
        )
    except EvalError as exc:
        stop_progress()
        fail(str(exc), EXIT_USAGE)
    finally:
        stop_progress()
        store.close()

    for column in outcome.columns:
        for note in column.notes:
            console.print(f"[yellow]note[/] {note}", highlight=False)
    _print_summary(outcome)
    if outcome.n_failed:
        sys.exit(EXIT_FAILED_ARTICLES)


def _print_summary(outcome: Any) -> None:
    out = Console()
    n_articles = outcome.columns[0].score.n_articles if outcome.columns else 0
    table = Table(
        title=f"Evaluation {outcome.eval_id[:12]} · {n_articles} gold articles",
        box=None,
        pad_edge=False,
        header_style="bold",
    )
    table.add_column("run", no_wrap=True, overflow="ellipsis")
    table.add_column("run id", no_wrap=True)
    for name in ("slot F1", "ev P", "ev R", "ev F1", "MAE", "ground", "s/art"):
        table.add_column(name, justify="right", no_wrap=True)
    for c in outcome.columns:
        s = c.score
        spa = c.stats.get("seconds_per_article")
        table.add_row(
            c.label,
            c.run_id[:8],
            _fmt(s.slot_f1),
            _fmt(s.precision),
            _fmt(s.recall),
            _fmt(s.f1),
            _fmt(s.fatalities_mae, 1),
            _fmt(s.grounding_rate),
            _fmt(spa, 1 if spa and spa >= 10 else 2),
        )
    out.print(table)
    out.print(
        "ev P/R/F1: events · MAE: fatalities · ground: evidence grounding rate · s/art: seconds per article",
        style="dim",
        highlight=False,
        soft_wrap=True,
    )
    merges = ([("gold events as input", outcome.merge_gold)] if outcome.merge_gold else []) + [
        (f"{c.label} (end to end)", c.merge) for c in outcome.columns if c.merge
    ]
    for label, m in merges:
        out.print(
            f"Merging, {label}: pairwise P {_fmt(m['precision'])} R {_fmt(m['recall'])} F1 {_fmt(m['f1'])} · "
            f"B-cubed F1 {_fmt(m['bcubed_f1'])} · hard negatives merged {m['hard_negatives_merged']} · "
            f"{m['n_unique_events']} unique events of {m['n_events']} (gold clusters {m['n_gold_clusters_all']})",
            highlight=False,
            soft_wrap=True,
        )
    if outcome.md_path:
        out.print(f"Report: {outcome.md_path}  {outcome.html_path}", highlight=False, soft_wrap=True)
    if outcome.review_path:
        out.print(
            f"Review page (linked from the report's articles): {outcome.review_path}", highlight=False, soft_wrap=True
        )
    out.print(
        f"Scores stored in eval_runs / eval_articles (eval_id {outcome.eval_id}).", highlight=False, soft_wrap=True
    )
