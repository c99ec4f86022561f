"""Crash safety and the database lock, with real processes.

A run that analysts leave overnight can die at any moment (OOM killer, a
reboot, Ctrl-C). These tests start `run-pipeline` (the fake backend, the naive
prompt) in a subprocess, stop it at a chosen point of a chosen article, and
check what a user finds afterwards: a DuckDB file that opens, every article
that was finished still there, nothing half-written, the dead run marked
'interrupted', and a rerun that completes the rest without duplicating events.

To stop the process at a known point, a small driver script wraps the real CLI
entry point and makes it hang at one place (inside the store transaction of the
third article, or inside its model call). It writes a marker file when it gets
there; the test then sends the signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.backends import get_backend
from pipeline.errors import DatabaseLocked
from pipeline.export import export_events
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
HANG_AT = 3  # the third of the five seed articles

DRIVER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path

    import tests.support.fake_backend as backends
    from pipeline.cli import run as cli
    from pipeline.store import database as store

    # A job started in the background by a non-interactive shell inherits SIGINT
    # as ignored; restore the terminal behaviour so Ctrl-C is tested the same way
    # however the test suite itself was launched.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    marker = Path(os.environ["HANG_MARKER"])
    where = os.environ["HANG_WHERE"]
    hang_at = int(os.environ["HANG_AT"])
    seen = {"run_articles": 0, "calls": 0}

    def hang(what):
        marker.write_text(what)
        time.sleep(600)

    real_insert = store.insert_rows

    def insert_rows(con, table, rows):
        if table == "run_articles":
            seen["run_articles"] += 1
            if where == "transaction" and seen["run_articles"] == hang_at:
                # Inside Store.write_articles: this article's llm_calls and
                # events are inserted, its run_articles row and COMMIT are not.
                hang("in transaction")
        return real_insert(con, table, rows)

    store.insert_rows = insert_rows

    real_create = backends.FakeModel.create

    def create(self, **kwargs):
        seen["calls"] += 1
        if where == "model" and seen["calls"] == hang_at:
            hang("in model call")
        return real_create(self, **kwargs)

    backends.FakeModel.create = create
    sys.argv = ["run-pipeline", *sys.argv[1:]]
    cli.run_pipeline_command()
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # as under cron: no terminal width
    env.update(extra)
    return env


def _run_cli(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=_env())


def _start_and_stop(
    seeds_dir: Path, db_path: Path, tmp_path: Path, where: str, sig: int
) -> subprocess.CompletedProcess:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(driver),
            str(seeds_dir),
            "--db",
            str(db_path),
            "--model",
            "fake",
            "--prompt",
            "naive",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
        env=_env(HANG_MARKER=str(marker), HANG_WHERE=where, HANG_AT=str(HANG_AT)),
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"run-pipeline ended before reaching the hang point:\n{out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail("run-pipeline never reached the hang point")
            time.sleep(0.1)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def reference_events(tmp_path_factory) -> int:
    """How many events an uninterrupted run stores for the seeds (in-process, same fake)."""
    path = tmp_path_factory.mktemp("reference") / "ref.duckdb"
    with Store(path) as store:
        summary = run_pipeline(ROOT / "seeds", store, get_backend("fake"), load_prompt("naive"))
        assert summary.count("ok") == 5
        return summary.n_events


def _query(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("where", ["transaction", "model"])
def test_sigkill_mid_run_loses_nothing_and_rerun_completes(seeds_dir, db_path, tmp_path, where, reference_events):
    killed = _start_and_stop(seeds_dir, db_path, tmp_path, where, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL

    # The file opens (read-only even: the WAL replays) and holds exactly the finished articles.
    assert db_path.exists()
    ((run_id, status),) = _query(db_path, "SELECT run_id, status FROM runs")
    assert status == "running"  # nobody could mark it: the process died
    done = _query(db_path, "SELECT file_name, status FROM run_articles ORDER BY file_name")
    assert [s for _, s in done] == ["ok"] * (HANG_AT - 1)
    finished = {f for f, _ in done}
    # Nothing of the article that was in flight: its events and calls were in an uncommitted transaction.
    assert _query(db_path, "SELECT count(*) FROM llm_calls")[0][0] == HANG_AT - 1
    in_events = {
        r[0] for r in _query(db_path, "SELECT DISTINCT a.file_name FROM events JOIN articles a USING (article_id)")
    }
    assert in_events <= finished
    events_before = _query(db_path, "SELECT event_id FROM events ORDER BY event_id")

    rerun = _run_cli(BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{5 - (HANG_AT - 1)} extracted" in rerun.stdout and f"{HANG_AT - 1} skipped" in rerun.stdout

    runs = dict(_query(db_path, "SELECT run_id, status FROM runs"))
    assert runs.pop(run_id) == "interrupted"
    assert list(runs.values()) == ["completed"]
    # No lost articles: the first run's events are still there, untouched.
    after = {r[0] for r in _query(db_path, "SELECT event_id FROM events")}
    assert {e for (e,) in events_before} <= after
    # No duplicates: as many events as one clean run, one extraction per article.
    assert _query(db_path, "SELECT count(*) FROM events")[0][0] == reference_events
    assert _query(db_path, "SELECT count(*) FROM latest_events")[0][0] == reference_events
    assert (
        _query(
            db_path,
            "SELECT count(*) FROM (SELECT article_id, event_index FROM latest_events GROUP BY ALL HAVING count(*) > 1)",
        )[0][0]
        == 0
    )
    per_article = _query(db_path, "SELECT article_id, count(*) FROM run_articles WHERE status = 'ok' GROUP BY ALL")
    assert len(per_article) == 5 and all(n == 1 for _, n in per_article)
    # And the events export in full.
    with Store(db_path) as store:
        assert export_events(store, "jsonl", str(tmp_path / "out.jsonl")) == reference_events


def test_ctrl_c_marks_the_run_interrupted_and_keeps_finished_articles(seeds_dir, db_path, tmp_path):
    stopped = _start_and_stop(seeds_dir, db_path, tmp_path, "model", signal.SIGINT)
    assert stopped.returncode == 130
    assert "Traceback" not in stopped.stderr
    assert "rerun the same command" in stopped.stderr
    (status,) = _query(db_path, "SELECT status FROM runs")[0]
    assert status == "interrupted"
    assert _query(db_path, "SELECT count(*) FROM run_articles WHERE status = 'ok'")[0][0] == HANG_AT - 1
    assert _query(db_path, "SELECT n_ok FROM runs")[0][0] == HANG_AT - 1


# --------------------------------------------------------------------------- the lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    import duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
    print("holding", flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def held_db(tmp_path):
    """A DuckDB file held open by another process (DuckDB's lock is per process)."""
    path = tmp_path / "a folder with a rather long name to make the message long" / "events.duckdb"
    path.parent.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield path
    finally:
        holder.kill()
        holder.wait()


def test_store_raises_database_locked_naming_the_file(held_db):
    with pytest.raises(DatabaseLocked) as info:
        Store(held_db)
    message = str(info.value)
    assert str(held_db) in message and "--db" in message and "Wait for it to finish" in message


def test_locked_database_exits_3_with_a_message_and_no_traceback(held_db, seeds_dir):
    result = _run_cli(BIN / "run-pipeline", seeds_dir, "--db", held_db, "--model", "fake", "--prompt", "naive", "-q")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert str(held_db) in result.stderr.replace("\n", "")  # the file is named...
    assert "--db" in result.stderr and "Wait for it to finish" in result.stderr.replace("\n", " ")  # ...and what to do


def test_locked_database_message_is_one_line(held_db, seeds_dir):
    result = _run_cli(BIN / "run-pipeline", seeds_dir, "--db", held_db, "--model", "fake", "--prompt", "naive", "-q")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error:") and str(held_db) in lines[0]


def test_export_on_a_locked_database_exits_3(held_db):
    result = _run_cli(BIN / "export-events", "--db", held_db)
    assert result.returncode == 3 and "Traceback" not in result.stderr
