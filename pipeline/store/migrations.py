"""Schema migrations of the DuckDB file: an ordered list of named functions.

Every open applies the ones not yet recorded in `_migrations`, in order, so any
older file is brought up to date. Append new migrations at the end; never edit
or reorder one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def m001_core_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE articles (
            article_id VARCHAR PRIMARY KEY,   -- sha256 of the normalised text, 16 hex chars
            file_name VARCHAR NOT NULL,       -- path relative to the input folder
            path VARCHAR,
            title VARCHAR,
            published DATE,
            url VARCHAR,
            source VARCHAR,
            text VARCHAR NOT NULL,
            n_chars INTEGER,
            metadata JSON,
            first_seen_at TIMESTAMP DEFAULT current_timestamp
        )
        """
    )
    con.execute(
        """
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            started_at TIMESTAMP,
            finished_at TIMESTAMP,
            status VARCHAR,            -- running | completed | completed_with_failures | interrupted
            input_path VARCHAR,
            backend VARCHAR,           -- local | openai | fake
            model VARCHAR,
            instructor_mode VARCHAR,
            prompt_name VARCHAR,
            prompt_hash VARCHAR,
            strategy VARCHAR,
            parameters JSON,
            n_articles INTEGER,
            n_ok INTEGER,
            n_failed INTEGER,
            n_skipped INTEGER,
            n_events INTEGER,
            n_calls INTEGER,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            seconds DOUBLE,
            cost_usd DOUBLE
        )
        """
    )
    con.execute(
        """
        CREATE TABLE run_articles (
            run_id VARCHAR NOT NULL,
            article_id VARCHAR,        -- null when the file never became an article
            file_name VARCHAR NOT NULL,
            status VARCHAR NOT NULL,   -- ok | failed | skipped
            error VARCHAR,
            n_events INTEGER,
            n_calls INTEGER,
            seconds DOUBLE,
            finished_at TIMESTAMP
        )
        """
    )
    con.execute(
        """
        CREATE TABLE llm_calls (
            call_id VARCHAR PRIMARY KEY,
            run_id VARCHAR,
            article_id VARCHAR,
            stage VARCHAR,             -- which pipeline step asked (e.g. extract, detect, fill)
            attempt INTEGER,           -- 1 for the first try of a request, 2.. for retries and re-asks
            started_at TIMESTAMP,
            latency_s DOUBLE,
            prefill_s DOUBLE,
            generate_s DOUBLE,
            model VARCHAR,
            request JSON,
            response VARCHAR,          -- raw text the model returned
            error VARCHAR,             -- transport error or validation error, when any
            outcome VARCHAR,           -- ok | validation_error | transport_error | cached
            prompt_tokens INTEGER,
            completion_tokens INTEGER
        )
        """
    )
    con.execute(
        """
        CREATE TABLE events (
            event_id VARCHAR PRIMARY KEY,
            run_id VARCHAR NOT NULL,
            article_id VARCHAR NOT NULL,
            event_index INTEGER,
            event_date DATE,
            event_end_date DATE,
            time_precision INTEGER,
            event_type VARCHAR,
            sub_event_type VARCHAR,
            actor1 VARCHAR,
            actor1_type VARCHAR,
            assoc_actors_1 VARCHAR[],
            actor2 VARCHAR,
            actor2_type VARCHAR,
            assoc_actors_2 VARCHAR[],
            country VARCHAR,
            admin1 VARCHAR,
            location VARCHAR,
            geo_precision INTEGER,
            latitude DOUBLE,
            longitude DOUBLE,
            fatalities INTEGER,
            civilian_targeting BOOLEAN,
            source VARCHAR,
            notes VARCHAR,
            evidence VARCHAR[],
            evidence_start INTEGER[],  -- char offsets of each evidence span in articles.text
            evidence_end INTEGER[],
            created_at TIMESTAMP DEFAULT current_timestamp
        )
        """
    )


def m002_latest_events_view(con: duckdb.DuckDBPyConnection) -> None:
    # The latest successful extraction of each article, whatever run it came from.
    con.execute(
        """
        CREATE VIEW latest_article_runs AS
        SELECT ra.article_id, ra.run_id, ra.finished_at
        FROM run_articles ra
        WHERE ra.status = 'ok' AND ra.article_id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY ra.article_id ORDER BY ra.finished_at DESC) = 1
        """
    )
    con.execute(
        """
        CREATE VIEW latest_events AS
        SELECT e.*, a.file_name AS article
        FROM events e
        JOIN latest_article_runs l USING (article_id, run_id)
        JOIN articles a USING (article_id)
        """
    )


def m003_eval_tables(con: duckdb.DuckDBPyConnection) -> None:
    # Results of `run-eval`: one eval_id per invocation (one report), one row per
    # scored run (report column) and one per (run, gold article).
    con.execute(
        """
        CREATE TABLE eval_runs (
            eval_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,       -- the run shown as the report column
            gold_path VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp,
            slot_f1 DOUBLE,
            event_precision DOUBLE,
            event_recall DOUBLE,
            event_f1 DOUBLE,
            fatalities_mae DOUBLE,
            grounding_rate DOUBLE,
            field_accuracy JSON,           -- field -> accuracy on matched required events
            metrics JSON,                  -- RunScore summary, column stats, label, model, prompt, position
            PRIMARY KEY (eval_id, run_id)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE eval_articles (
            eval_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            article VARCHAR NOT NULL,      -- gold article file name
            tp INTEGER,
            fp INTEGER,
            fn INTEGER,
            slot_f1 DOUBLE,
            details JSON,                  -- ArticleScore.to_dict() plus the run that supplied the events
            PRIMARY KEY (eval_id, run_id, article)
        )
        """
    )


def m004_llm_cache(con: duckdb.DuckDBPyConnection) -> None:
    # Response cache (pipeline/extraction/cache.py): one row per distinct model request ever
    # answered; a rerun of an unchanged request is served from here, not paid again.
    con.execute(
        """
        CREATE TABLE llm_cache (
            cache_key VARCHAR PRIMARY KEY, -- sha256 of model, server, messages, schema and parameters
            model VARCHAR,                 -- backend label, e.g. openai/gpt-4o-mini
            article_id VARCHAR,            -- the article the request was about (its text hash)
            stage VARCHAR,
            prompt_hash VARCHAR,           -- sha256 of the system message(s)
            schema_hash VARCHAR,           -- sha256 of response_format / tools / tool_choice
            params_hash VARCHAR,           -- sha256 of the generation parameters
            parameters JSON,
            completion JSON,               -- the full ChatCompletion as the server returned it
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            run_id VARCHAR,                -- the run that paid for it
            call_id VARCHAR,               -- its llm_calls row
            created_at TIMESTAMP
        )
        """
    )


def m005_geo_columns_and_views(con: duckdb.DuckDBPyConnection) -> None:
    # How each event's coordinates were found (exact, fuzzy, admin1_centroid, ...) and how sure.
    con.execute("ALTER TABLE events ADD COLUMN geo_method VARCHAR")
    con.execute("ALTER TABLE events ADD COLUMN geo_confidence DOUBLE")
    # latest_events was created with e.*; recreate it so it carries the new columns.
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_events AS
        SELECT e.*, a.file_name AS article
        FROM events e
        JOIN latest_article_runs l USING (article_id, run_id)
        JOIN articles a USING (article_id)
        """
    )
    # Views analysts ask for first; all read the latest extraction of each article.
    con.execute(
        """
        CREATE VIEW events_per_day AS
        SELECT event_date, count(*) AS events, sum(fatalities) AS fatalities
        FROM latest_events GROUP BY event_date ORDER BY event_date
        """
    )
    con.execute(
        """
        CREATE VIEW fatalities_by_admin1 AS
        SELECT country, coalesce(admin1, '(unknown)') AS admin1, count(*) AS events, sum(fatalities) AS fatalities
        FROM latest_events GROUP BY ALL ORDER BY fatalities DESC, events DESC
        """
    )
    con.execute(
        """
        CREATE VIEW actor_dyads AS
        SELECT least(actor1, coalesce(actor2, '')) AS side_a,
               nullif(greatest(actor1, coalesce(actor2, '')), '') AS side_b,
               count(*) AS events, sum(fatalities) AS fatalities,
               min(event_date) AS first_date, max(event_date) AS last_date
        FROM latest_events GROUP BY ALL ORDER BY events DESC, fatalities DESC
        """
    )
    con.execute(
        """
        CREATE VIEW latest_run_per_article AS
        SELECT a.file_name AS article, l.article_id, l.run_id, r.model, r.prompt_name, l.finished_at
        FROM latest_article_runs l JOIN articles a USING (article_id) JOIN runs r USING (run_id)
        ORDER BY a.file_name
        """
    )


def m006_event_rules(con: duckdb.DuckDBPyConnection) -> None:
    # The extractor's code rules that changed each event (provenance; see pipeline/extraction/rules.py).
    con.execute("ALTER TABLE events ADD COLUMN rules VARCHAR[]")
    # latest_events was created with e.*; recreate it so it carries the new column.
    con.execute(
        """
        CREATE OR REPLACE VIEW latest_events AS
        SELECT e.*, a.file_name AS article
        FROM events e
        JOIN latest_article_runs l USING (article_id, run_id)
        JOIN articles a USING (article_id)
        """
    )


def m008_reviews(con: duckdb.DuckDBPyConnection) -> None:
    # Reviewer decisions from the review page (`review --apply`): append-only, one row per decision;
    # an event's standing is its latest decision. review_id hashes the decision, so re-applying a
    # decisions file adds nothing.
    con.execute(
        """
        CREATE TABLE reviews (
            review_id VARCHAR PRIMARY KEY, -- sha256 of the decision's content, 16 hex chars
            event_id VARCHAR NOT NULL,     -- events.event_id
            run_id VARCHAR,
            article_id VARCHAR,
            verdict VARCHAR NOT NULL,      -- correct | wrong | fix
            field VARCHAR,                 -- the corrected field (fix only), a column name of events
            value JSON,                    -- its corrected value (fix only)
            note VARCHAR,
            reviewer VARCHAR,
            decided_at TIMESTAMP,          -- when the reviewer decided (from the page)
            applied_at TIMESTAMP,          -- when `review --apply` stored it
            source_file VARCHAR            -- the decisions file it came from
        )
        """
    )


# The merge step's tables (pipeline/merge, pipeline/store/unique.py): one row per real event that
# several articles may report, its member events, the scored links between them and each merge.
_UNIQUE_COLUMNS = """
    event_date, event_end_date, time_precision, event_type, sub_event_type,
    actor1, actor1_type, assoc_actors_1, actor2, actor2_type, assoc_actors_2,
    country, admin1, location, geo_precision, latitude, longitude,
    fatalities, civilian_targeting, notes
"""


def m009_unique_events(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE unique_events (
            unique_event_id VARCHAR PRIMARY KEY, -- 'u' + 15 hex chars, kept when later reports join
            event_date DATE,
            event_end_date DATE,
            time_precision INTEGER,
            event_type VARCHAR,
            sub_event_type VARCHAR,
            actor1 VARCHAR,
            actor1_type VARCHAR,
            assoc_actors_1 VARCHAR[],
            actor2 VARCHAR,
            actor2_type VARCHAR,
            assoc_actors_2 VARCHAR[],
            country VARCHAR,
            admin1 VARCHAR,
            location VARCHAR,
            geo_precision INTEGER,
            latitude DOUBLE,
            longitude DOUBLE,
            geo_method VARCHAR,
            fatalities INTEGER,          -- the figure fatalities_rule picks
            fatalities_low INTEGER,      -- lowest figure reported (0 when none reports deaths)
            fatalities_high INTEGER,
            fatalities_latest INTEGER,   -- the latest-published report that gives a figure
            fatalities_rule VARCHAR,
            civilian_targeting BOOLEAN,
            sources VARCHAR,             -- every member's source and article outlet, '; '-separated
            articles VARCHAR[],          -- member articles' file names, in publication order
            notes VARCHAR,
            evidence VARCHAR[],
            n_events INTEGER,
            n_articles INTEGER,
            first_published DATE,
            last_published DATE,
            min_link_score DOUBLE,       -- weakest link inside the cluster (NULL for one report)
            created_at TIMESTAMP,
            updated_at TIMESTAMP
        )
        """
    )
    con.execute(
        """
        CREATE TABLE unique_event_members (
            unique_event_id VARCHAR NOT NULL,
            event_id VARCHAR NOT NULL,   -- events.event_id
            article_id VARCHAR NOT NULL,
            link_score DOUBLE,           -- its best link to another member (NULL when alone)
            joined_at TIMESTAMP,
            PRIMARY KEY (event_id)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE unique_event_links (
            unique_event_id VARCHAR NOT NULL,
            event_a VARCHAR NOT NULL,    -- event ids, event_a < event_b
            event_b VARCHAR NOT NULL,
            score DOUBLE,
            PRIMARY KEY (event_a, event_b)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE merge_runs (
            merge_id VARCHAR PRIMARY KEY,
            started_at TIMESTAMP,
            seconds DOUBLE,
            mode VARCHAR,                -- incremental | rebuild
            settings JSON,
            settings_hash VARCHAR,
            n_events INTEGER,            -- events considered (latest extraction of every article)
            n_new_events INTEGER,        -- events not in a unique event before
            n_unique INTEGER,
            n_changed INTEGER,           -- unique events written, changed or removed
            n_pairs INTEGER              -- pairs scored after blocking
        )
        """
    )
    # Unique events where a merge made them, and every latest event no merge has placed yet as its
    # own: the views count each real event once, and work before any merge.
    con.execute(
        f"""
        CREATE VIEW deduplicated_events AS
        SELECT u.unique_event_id, {_UNIQUE_COLUMNS}, u.n_events, u.n_articles
        FROM unique_events u
        WHERE EXISTS (
            SELECT 1 FROM unique_event_members m JOIN latest_events l USING (event_id)
            WHERE m.unique_event_id = u.unique_event_id
        )
        UNION ALL
        SELECT e.event_id AS unique_event_id, {_UNIQUE_COLUMNS}, 1 AS n_events, 1 AS n_articles
        FROM latest_events e
        WHERE e.event_id NOT IN (SELECT event_id FROM unique_event_members)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW events_per_day AS
        SELECT event_date, count(*) AS events, sum(fatalities) AS fatalities
        FROM deduplicated_events GROUP BY event_date ORDER BY event_date
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW fatalities_by_admin1 AS
        SELECT country, coalesce(admin1, '(unknown)') AS admin1, count(*) AS events, sum(fatalities) AS fatalities
        FROM deduplicated_events GROUP BY ALL ORDER BY fatalities DESC, events DESC
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW actor_dyads AS
        SELECT least(actor1, coalesce(actor2, '')) AS side_a,
               nullif(greatest(actor1, coalesce(actor2, '')), '') AS side_b,
               count(*) AS events, sum(fatalities) AS fatalities,
               min(event_date) AS first_date, max(event_date) AS last_date
        FROM deduplicated_events GROUP BY ALL ORDER BY events DESC, fatalities DESC
        """
    )


MIGRATIONS: list[Migration] = [
    m001_core_tables,
    m002_latest_events_view,
    m003_eval_tables,
    m004_llm_cache,
    m005_geo_columns_and_views,
    m006_event_rules,
    m008_reviews,
    m009_unique_events,
]


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    done = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for migration in MIGRATIONS:
        if migration.__name__ in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration(con)
            con.execute("INSERT INTO _migrations (name) VALUES (?)", [migration.__name__])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.__name__)
    return applied
