import subprocess
import sys
import textwrap

import duckdb
import pytest

from pipeline.errors import DatabaseLocked
from pipeline.store.database import Store
from pipeline.store.migrations import MIGRATIONS
from pipeline.store.rows import ArticleWrite, insert_rows


def test_migrations_apply_once_in_order(db_path):
    Store(db_path).close()
    Store(db_path).close()  # reopening applies nothing twice
    con = duckdb.connect(str(db_path))
    names = [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY applied_at, name").fetchall()]
    assert sorted(names) == sorted(m.__name__ for m in MIGRATIONS)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"articles", "runs", "run_articles", "llm_calls", "events", "latest_events"} <= tables


def test_arrow_insert_handles_lists_dates_and_nulls(db_path):
    with Store(db_path) as store:
        rows = [
            {
                "event_id": "e1",
                "run_id": "r",
                "article_id": "a",
                "event_date": "2019-08-27",
                "assoc_actors_1": ["Ansar al-Din"],
                "evidence": ["x"],
                "evidence_start": [1],
                "evidence_end": [2],
                "actor2": None,
                "fatalities": 60,
            },
            {
                "event_id": "e2",
                "run_id": "r",
                "article_id": "a",
                "event_date": "2019-08-26",
                "assoc_actors_1": [],
                "evidence": [],
                "evidence_start": [],
                "evidence_end": [],
                "actor2": "Civilians",
                "fatalities": 0,
            },
        ]
        assert insert_rows(store.con, "events", rows) == 2
        got = store.con.execute(
            "SELECT event_id, assoc_actors_1, event_date::VARCHAR, fatalities FROM events ORDER BY 1"
        ).fetchall()
        assert got == [("e1", ["Ansar al-Din"], "2019-08-27", 60), ("e2", [], "2019-08-26", 0)]


def test_article_result_is_atomic(db_path):
    with Store(db_path) as store:
        bad_event = {"event_id": "e1", "run_id": "r", "article_id": "a", "fatalities": "not a number"}
        with pytest.raises(duckdb.ConversionException):
            store.write_articles(
                [
                    ArticleWrite(
                        {"run_id": "r", "article_id": "a", "file_name": "f", "status": "ok"},
                        calls=[{"call_id": "c1", "run_id": "r"}],
                        events=[bad_event],
                    )
                ]
            )
        assert store.con.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == 0
        assert store.con.execute("SELECT count(*) FROM run_articles").fetchone()[0] == 0


def test_second_process_gets_a_lock_error(db_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(db_path)!r})
            print("ready", flush=True)
            sys.stdin.readline()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLocked) as info:
            Store(db_path)
        assert str(db_path) in str(info.value) and "--db" in str(info.value)
    finally:
        holder.communicate("\n", timeout=30)


def test_interrupted_runs_are_marked(db_path):
    with Store(db_path) as store:
        store.start_run({"run_id": "r1", "model": "m", "prompt_hash": "h"})
        assert store.mark_interrupted_runs() == 1
        assert store.con.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
