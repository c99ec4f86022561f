"""`review`: a page to check every event against its article, and the reviewer's decisions back into the store.

Three jobs, one command (`pipeline.export.review` does the work):

    review --db FILE [--run ID] [-o review.html]     write the page
    review --db FILE --apply decisions.json          store the page's downloaded decisions
    review --db FILE --to-gold DIR                   reviewed articles as gold files for run-eval
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.options import db_option, err, fail, handle_errors
from pipeline.errors import EXIT_USAGE


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option(
    "--run",
    "run_refs",
    multiple=True,
    help="Show this run's articles (id or unique prefix; repeatable). "
    "Default: the latest outcome of every article (its latest extraction, or its latest failure).",
)
@click.option(
    "--unique",
    is_flag=True,
    help="Require the unique-event tables of the merge step and show, on every event, the other "
    "articles that report it. Without the flag they are shown whenever the tables exist.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("review.html"),
    show_default=True,
    help="The HTML file to write (self-contained: open it from disk, no network needed).",
)
@click.option(
    "--apply",
    "decisions_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Store the decisions JSON the page downloaded in the `reviews` table (appended; "
    "decisions already stored are skipped, so applying a file twice adds nothing).",
)
@click.option(
    "--to-gold",
    "gold_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a gold file (CODEBOOK.md's format) for every article whose events all have a "
    "decision: wrong events left out, fixed fields corrected. Score against it with run-eval --gold DIR.",
)
@handle_errors
def review_command(
    db_path: str,
    run_refs: tuple[str, ...],
    unique: bool,
    output: Path,
    decisions_file: Path | None,
    gold_dir: Path | None,
) -> None:
    """Review extracted events against their articles in a browser, and keep the decisions.

    The page lists the articles (search, and filters by country, event type,
    date, fatalities and status); each article's text has every evidence span
    highlighted in its event type's colour and linked to its event card (every
    codebook field, the geocode on a small offline map, the code rules that
    changed the event). Mark events correct or wrong, or fix a field, then
    "Download decisions" and store them with --apply. Then
    `export-events --exclude-rejected` leaves out the events whose latest
    decision is wrong.

    \b
    Examples:
      review --db conflict_events.duckdb -o review.html
      review --db conflict_events.duckdb --run 3fa2 -o run-3fa2.html
      review --db conflict_events.duckdb --apply ~/Downloads/decisions.json
      review --db conflict_events.duckdb --to-gold reviewed/gold
    """
    from pipeline.export import review
    from pipeline.store.database import Store

    if not Path(db_path).exists():
        fail(f"{db_path}: no such database; run `run-pipeline FOLDER --db {db_path}` first", EXIT_USAGE)
    if decisions_file is not None and gold_dir is not None:
        fail("--apply and --to-gold are separate steps: apply the decisions first, then write gold", EXIT_USAGE)
    with Store(db_path) as store:
        if decisions_file is not None:
            applied = review.apply_decisions(store, decisions_file)
            err.print(
                f"Stored {applied.n_new} new decisions of {applied.n_decisions} in {db_path} "
                f"({applied.n_decisions - applied.n_new} already stored; {applied.n_events} events)",
                highlight=False,
            )
            return
        if gold_dir is not None:
            gold = review.write_gold(store, gold_dir)
            err.print(f"Wrote {len(gold.written)} gold files to {gold_dir}", highlight=False)
            if gold.partial:
                err.print(
                    f"Left out {len(gold.partial)} articles with events nobody decided on: "
                    + ", ".join(gold.partial[:5])
                    + (" ..." if len(gold.partial) > 5 else ""),
                    highlight=False,
                )
            return
        page = review.write_review(store, output, run_refs, unique=unique)
    size = page.n_bytes / 1e6
    err.print(
        f"Wrote {page.path} ({page.n_articles} articles, {page.n_failed} failed, {page.n_events} events, "
        f"{size:.1f} MB{', unique events shown' if page.unique else ''}); open it in a browser",
        highlight=False,
    )


if __name__ == "__main__":
    review_command()
