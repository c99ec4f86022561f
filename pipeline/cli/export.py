"""`export-events`: the stored events as JSONL, CSV, Parquet, ACLED's CSV or a PNG map.

The latest events of every article, or one run's (`--run`), written to
`--output` or standard output through `pipeline.export`.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.options import db_option, err, fail, handle_errors
from pipeline.errors import EXIT_USAGE

# -- export-events ---------------------------------------------------------------

EXPORT_FORMATS = ["jsonl", "csv", "parquet", "acled-csv", "map"]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one codebook-shaped object per event; csv/parquet: flat columns; "
    "acled-csv: ACLED's 31 columns in order; map: a PNG of the events as points (offline).",
)
@click.option(
    "--run",
    "run_id",
    default=None,
    help="Export one run (id or unique prefix); default: the latest events of every article.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write; default: standard output (not for parquet).",
)
@click.option(
    "--exclude-rejected",
    is_flag=True,
    help="Leave out the events whose latest reviewer decision is 'wrong' (see `review --apply`).",
)
@click.option(
    "--unique",
    is_flag=True,
    help="One row per real event: the unique events of the merge step (run-pipeline merges; "
    "merge-events re-merges), with every source in `source` and every article in `article`.",
)
@handle_errors
def export_events_command(
    db_path: str, fmt: str, run_id: str | None, output: str | None, exclude_rejected: bool, unique: bool
) -> None:
    """Export extracted events with the codebook's field names.

    Every object carries an `article` key with the article's file name. With
    --unique, the reports of one real event are one row (`unique_event_id`,
    the toll the merge chose with `fatalities_low/high/latest` and
    `fatalities_rule`, `articles`, `members`).
    """
    from pipeline.export import export_events
    from pipeline.store.database import Store

    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `run-pipeline FOLDER --db {db_path}` first", EXIT_USAGE)
    if fmt in ("parquet", "map") and not output:
        fail(f"{fmt} needs --output FILE", EXIT_USAGE)
    if unique and (run_id or exclude_rejected):
        fail(
            "--unique exports the merged latest events of every article: leave out --run and --exclude-rejected "
            "(or export them without --unique)",
            EXIT_USAGE,
        )
    with Store(db_path) as store:
        count = export_events(store, fmt, output, run_id, exclude_rejected=exclude_rejected, unique=unique)
    if output:
        err.print(f"Wrote {count} {'unique ' if unique else ''}events to {output}", highlight=False)
