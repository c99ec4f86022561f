"""`merge-events`: merge the stored events of every article into unique events (again).

`run-pipeline` merges after each extraction; this command re-merges a DuckDB file,
for instance with another threshold (`pipeline.merge.stage.merge_store` does the work).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from pipeline.cli.options import db_option, err, fail, handle_errors
from pipeline.errors import EXIT_USAGE


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Pair score at or above which two compatible reports are linked "
    "[default: 0.70, MergeSettings in pipeline/merge/settings.py]. Higher merges less.",
)
@click.option(
    "--toll-rule",
    type=click.Choice(["latest", "lowest", "highest"]),
    default="latest",
    show_default=True,
    help="The merged row's fatalities: the latest report that gives a toll (ACLED's practice of revising "
    "the figure when later reports update it), or the lowest or highest figure reported.",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build every unique event again from scratch (automatic when the settings differ from the last "
    "merge's). By default new events join the stored unique events.",
)
@click.option(
    "--show", type=click.IntRange(min=0), default=10, show_default=True, help="Print this many merged events."
)
@handle_errors
def merge_events_command(db_path: str, threshold: float | None, toll_rule: str, rebuild: bool, show: int) -> None:
    """Merge the reports several articles give of one real event into unique events.

    Reads the latest extraction of every article, groups the events that report
    the same real event (same country, dates at most a day apart, compatible
    event types, the same place, compatible actors and tolls; every pair in a
    group must be compatible), and writes the tables unique_events,
    unique_event_members and unique_event_links. A rerun changes nothing; new
    articles' events join the stored unique events. The views events_per_day,
    fatalities_by_admin1 and actor_dyads then count each real event once.

    \b
    Examples:
        merge-events --db conflict_events.duckdb
        merge-events --db conflict_events.duckdb --threshold 0.8     # stricter, rebuilds
        export-events --db conflict_events.duckdb --unique --format acled-csv -o acled.csv
    """
    from dataclasses import replace

    from pipeline.merge.settings import DEFAULT_SETTINGS
    from pipeline.merge.stage import merge_store
    from pipeline.store import unique
    from pipeline.store.database import Store

    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `run-pipeline FOLDER --db {db_path}` first", EXIT_USAGE)
    settings = replace(DEFAULT_SETTINGS.with_threshold(threshold), toll_rule=toll_rule)
    with Store(db_path) as store:
        summary = merge_store(store, settings, rebuild=rebuild, on_progress=lambda m: err.print(m, highlight=False))
        rows = [r for r in unique.unique_records(store) if (r.get("n_events") or 0) > 1]
    out = Console(soft_wrap=True)
    out.print(f"Merged: {summary.line()}.", highlight=False)
    if show and rows:
        rows.sort(key=lambda r: (-(r.get("n_articles") or 0), str(r.get("event_date")), r["unique_event_id"]))
        out.print(f"Unique events reported by several articles ({len(rows)}; the first {min(show, len(rows))}):")
        for r in rows[:show]:
            place = ", ".join(str(x) for x in (r.get("location"), r.get("admin1"), r.get("country")) if x)
            out.print(
                f"  {r['unique_event_id'][:9]} {r.get('event_date') or '?'} {r.get('sub_event_type') or '?'} · "
                f"{place or '?'} · {r.get('fatalities')} dead (reported {r.get('fatalities_low')}-"
                f"{r.get('fatalities_high')}) · {', '.join(r.get('articles') or [])}",
                highlight=False,
            )
    out.print(f"Unique events are in {Path(db_path).resolve()} (SELECT * FROM unique_events).", highlight=False)
