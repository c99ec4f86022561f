"""The Ray engine (`run-pipeline --engine ray`) against the fake OpenAI-compatible server over real HTTP.

A real local Ray runtime (2 CPUs, no dashboard) runs the workers; they write
Parquet shards and the driver merges them into a real DuckDB file. The same
corpus through both engines must give the same rows; a worker killed with
SIGKILL mid-run must leave nothing lost and nothing twice. The merge and the
shard writer are also tested without Ray. Speed lives in
benchmarks/ray_throughput.py.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline.backends import get_backend
from pipeline.distributed import shards as shard_files
from pipeline.distributed.reading import TODO_SCHEMA, article_to_row
from pipeline.distributed.worker import BackendSpec, ExtractBatches
from pipeline.errors import EXIT_BACKEND, BackendError
from pipeline.ingest import ingest
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from tests.support.fake_openai_server import FakeOpenAIServer, write_corpus

MODEL = "openai/fake-model"

try:
    import ray
    import ray.data  # noqa: F401

    RAY_MISSING = None
except ImportError as exc:  # pragma: no cover - the dev install has Ray
    ray = None
    RAY_MISSING = f"Ray is not installed ({exc}); pip install -e '.[ray]' to run the Ray engine tests"

needs_ray = pytest.mark.skipif(RAY_MISSING is not None, reason=RAY_MISSING or "")


@pytest.fixture(autouse=True)
def no_key_needed(monkeypatch):
    monkeypatch.delenv("CONFLICT_EVENTS_NO_CACHE", raising=False)


@pytest.fixture(scope="module")
def ray_runtime():
    if RAY_MISSING:
        pytest.skip(RAY_MISSING)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture
def prompt():
    return load_prompt("default")


def corpus_with_odd_files(folder: Path, n: int) -> Path:
    """n distinct articles, plus an empty file, a copy of the first article and one with no date."""
    names = write_corpus(folder, n)
    (folder / "empty.txt").write_text("")
    (folder / "zz_copy.txt").write_text((folder / names[0]).read_text())
    published = json.loads((folder / "published.json").read_text())
    (folder / "published.json").write_text(json.dumps({**published, "zz_copy.txt": published[names[0]]}))
    (folder / "undated.txt").write_text(
        "Two people were killed when gunmen opened fire on a bus near the town of Kidal, officials said.\n"
    )
    return folder


def run_in_process(db: Path, corpus: Path, url: str, prompt, jobs: int = 4):
    with Store(db) as store:
        return run_pipeline(corpus, store, get_backend(MODEL, base_url=url), prompt, jobs=jobs)


def run_on_ray(db: Path, corpus: Path, url: str, prompt, **options):
    from pipeline.distributed.engine import run_pipeline_ray

    spec = BackendSpec(MODEL, {"base_url": url})
    options = {"workers": 2, "concurrency": 2, "batch_size": 3, **options}
    with Store(db) as store:
        return run_pipeline_ray(corpus, store, spec.build(), prompt, spec=spec, **options)


def rows(db: Path, run_id: str) -> dict[str, list]:
    """Everything a run stored, without what differs by run (ids, timestamps, timings)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        out["events"] = con.execute(
            """SELECT a.file_name, e.* EXCLUDE (event_id, run_id, created_at)
               FROM events e JOIN articles a USING (article_id) WHERE e.run_id = ? ORDER BY 1, event_index""",
            [run_id],
        ).fetchall()
        out["run_articles"] = con.execute(
            """SELECT file_name, article_id, status, error, n_events, n_calls FROM run_articles
               WHERE run_id = ? ORDER BY file_name""",
            [run_id],
        ).fetchall()
        out["articles"] = con.execute("SELECT * EXCLUDE (first_seen_at) FROM articles ORDER BY article_id").fetchall()
        out["calls"] = con.execute(
            """SELECT article_id, stage, attempt, outcome, request::VARCHAR, response, error,
                      prompt_tokens, completion_tokens
               FROM llm_calls WHERE run_id = ? ORDER BY ALL""",
            [run_id],
        ).fetchall()
        # The completion itself carries the server's random ids: the key says what was asked.
        out["cache"] = con.execute(
            "SELECT cache_key, article_id, stage, prompt_tokens, completion_tokens FROM llm_cache ORDER BY cache_key"
        ).fetchall()
        return out
    finally:
        con.close()


# -- with a Ray runtime --------------------------------------------------------------------------


@needs_ray
@pytest.mark.slow
def test_both_engines_store_the_same_rows(ray_runtime, tmp_path, prompt):
    corpus = corpus_with_odd_files(tmp_path / "corpus", 10)
    with FakeOpenAIServer(latency=0.02) as server:
        local = run_in_process(tmp_path / "local.duckdb", corpus, server.url, prompt)
        on_ray = run_on_ray(tmp_path / "ray.duckdb", corpus, server.url, prompt)
    a, b = rows(tmp_path / "local.duckdb", local.run_id), rows(tmp_path / "ray.duckdb", on_ray.run_id)
    assert a["events"], "the corpus has events"
    for table in a:
        assert a[table] == b[table], table
    statuses = {name: status for name, _, status, *_ in b["run_articles"]}
    assert statuses["empty.txt"] == "failed" and statuses["undated.txt"] == "failed"
    assert statuses["zz_copy.txt"] == "skipped"
    assert [(o.file_name, o.status, o.n_events) for o in on_ray.outcomes] == [
        (o.file_name, o.status, o.n_events) for o in local.outcomes
    ]
    assert (on_ray.n_calls, on_ray.prompt_tokens, on_ray.completion_tokens) == (
        local.n_calls,
        local.prompt_tokens,
        local.completion_tokens,
    )
    assert not shard_files.shard_root(tmp_path / "ray.duckdb").exists(), "merged shards are removed"
    con = duckdb.connect(str(tmp_path / "ray.duckdb"), read_only=True)
    status, parameters = con.execute("SELECT status, parameters FROM runs WHERE run_id = ?", [on_ray.run_id]).fetchone()
    con.close()
    assert status == "completed_with_failures"
    assert json.loads(parameters)["engine"] == "ray"


@needs_ray
@pytest.mark.slow
def test_rerun_on_ray_skips_everything_and_a_forced_rerun_is_answered_by_the_cache(ray_runtime, tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 6)
    db = tmp_path / "events.duckdb"
    with FakeOpenAIServer() as server:
        first = run_on_ray(db, corpus, server.url, prompt)
        asked = server.stats["requests"]
        again = run_on_ray(db, corpus, server.url, prompt)
        forced = run_on_ray(db, corpus, server.url, prompt, force=True)
        assert server.stats["requests"] == asked, "no request after the first run"
    assert first.count("ok") == 6 and first.n_calls == asked
    assert again.count("skipped") == 6 and again.n_calls == 0
    assert forced.count("ok") == 6 and forced.n_calls == 0 and forced.n_cached == first.n_calls
    assert rows(db, forced.run_id)["events"] == rows(db, first.run_id)["events"]


@needs_ray
@pytest.mark.slow
def test_limit_and_an_empty_folder_on_ray(ray_runtime, tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 5)
    (tmp_path / "empty").mkdir()
    db = tmp_path / "events.duckdb"
    with FakeOpenAIServer() as server:
        nothing = run_on_ray(db, tmp_path / "empty", server.url, prompt)
        two = run_on_ray(db, corpus, server.url, prompt, limit=2)
        rest = run_on_ray(db, corpus, server.url, prompt)
    assert nothing.status == "completed" and nothing.outcomes == []
    assert [o.status for o in two.outcomes] == ["ok", "ok"], "beyond --limit: left for a later run, not recorded"
    assert rest.count("skipped") == 2 and rest.count("ok") == 3


def _extract_worker_pids() -> list[int]:
    """Processes of the Ray actors that extract (Ray titles them ray::MapWorker(...ExtractBatches))."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("ray::") and "ExtractBatches" in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


@needs_ray
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker's process through /proc")
def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(ray_runtime, tmp_path, prompt):
    n = 24
    corpus = tmp_path / "corpus"
    write_corpus(corpus, n)
    killed: list[int] = []
    merged: list[str] = []
    merged_when_killed: list[int] = []

    def kill_a_worker(kind, payload):
        # Called by the driver after each merge: at the first, SIGKILL one extracting worker.
        if kind != "article":
            return
        merged.append(payload.file_name)
        if not killed:
            pids = _extract_worker_pids()
            assert pids, "the extracting workers are running"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
            merged_when_killed.append(len(merged))

    with FakeOpenAIServer(latency=0.3) as server:
        reference = run_in_process(tmp_path / "local.duckdb", corpus, server.url, prompt, jobs=8)
        before = server.stats["requests"]
        db = tmp_path / "ray.duckdb"
        summary = run_on_ray(db, corpus, server.url, prompt, batch_size=2, on_progress=kill_a_worker)
        asked = server.stats["requests"] - before
        rerun = run_on_ray(db, corpus, server.url, prompt)
    assert killed and not Path(f"/proc/{killed[0]}").exists(), "a worker was killed"
    assert len(merged) - merged_when_killed[0] >= n // 2, "mid-run: most articles were merged after the kill"
    assert summary.status == "completed" and summary.count("ok") == n
    a, b = rows(tmp_path / "local.duckdb", reference.run_id), rows(db, summary.run_id)
    for table in a:
        assert a[table] == b[table], table  # 0 lost, 0 duplicated: the same rows as the undisturbed run
    assert asked > summary.n_calls, "the killed worker's batch was retried: its requests were made again"
    assert rerun.count("skipped") == n and rerun.n_calls == 0
    con = duckdb.connect(str(db), read_only=True)
    per_article = con.execute(
        "SELECT count(*), count(DISTINCT article_id) FROM run_articles WHERE status = 'ok'"
    ).fetchone()
    con.close()
    assert per_article == (n, n)
    assert not shard_files.shard_root(db).exists()


def _leftover_shard(db: Path, corpus: Path, url: str, prompt, n_articles: int) -> tuple[str, Path]:
    """What a driver stopped before its merge leaves: a started run and a finished shard of it."""
    import pyarrow as pa

    run_id = "0" * 24 + "leftover"
    articles = [a for a in ingest(corpus) if a.ok][:n_articles]
    with Store(db) as store:
        store.start_run(
            {
                "run_id": run_id,
                "backend": "openai",
                "model": "fake-model",
                "prompt_name": prompt.name,
                "prompt_hash": prompt.hash,
                "strategy": prompt.strategy,
            }
        )
        schemas = store.shard_schemas()
    worker = ExtractBatches(
        BackendSpec(MODEL, {"base_url": url}), prompt, run_id, str(shard_files.shard_root(db) / run_id), schemas, 2
    )
    batch = pa.Table.from_pylist(
        [{**article_to_row(i, a), "cache": "{}"} for i, a in enumerate(articles)], schema=TODO_SCHEMA
    )
    (shard,) = worker(batch).column("shard").to_pylist()
    (shard_files.shard_root(db) / run_id / f"abc{shard_files.TMP_MARK}1-x").mkdir()  # a killed write
    return run_id, Path(shard)


@needs_ray
@pytest.mark.slow
def test_a_rerun_merges_the_finished_shards_of_a_stopped_run_first(ray_runtime, tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 8)
    db = tmp_path / "events.duckdb"
    with FakeOpenAIServer() as server:
        old_run, shard = _leftover_shard(db, corpus, server.url, prompt, 3)
        in_shard = server.stats["requests"]
        summary = run_on_ray(db, corpus, server.url, prompt)
        asked = server.stats["requests"] - in_shard
    assert summary.count("skipped") == 3 and summary.count("ok") == 5
    assert asked == summary.n_calls, "the shard's articles were not asked again"
    con = duckdb.connect(str(db), read_only=True)
    by_run = dict(con.execute("SELECT run_id, count(*) FROM run_articles WHERE status = 'ok' GROUP BY 1").fetchall())
    ok = con.execute("SELECT count(DISTINCT article_id) FROM run_articles WHERE status = 'ok'").fetchone()[0]
    con.close()
    assert by_run == {old_run: 3, summary.run_id: 5} and ok == 8
    assert not shard_files.shard_root(db).exists(), "merged shards and the half-written one are gone"


@needs_ray
@pytest.mark.slow
def test_cli_engine_ray_with_two_servers_and_relative_paths(ray_runtime, tmp_path, monkeypatch):
    from pipeline.cli.run import run_pipeline_command

    monkeypatch.chdir(tmp_path)  # the folder and the database as a user types them: relative
    write_corpus(tmp_path / "corpus", 6)
    with FakeOpenAIServer() as one, FakeOpenAIServer() as two:
        result = CliRunner().invoke(
            run_pipeline_command,
            [
                "corpus",
                "--db",
                "events.duckdb",
                "--model",
                MODEL,
                "--base-url",
                one.url,
                "--base-url",
                two.url,
                "--engine",
                "ray",
                "--ray-workers",
                "2",
                "--jobs",
                "4",
                "--ray-batch-size",
                "3",
                "--quiet",
            ],
        )
        assert result.exit_code == 0, result.output
        assert one.stats["requests"] > 0 and two.stats["requests"] > 0, "both servers answered"
    assert "6 extracted" in result.output
    con = duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True)
    parameters = json.loads(con.execute("SELECT parameters FROM runs").fetchone()[0])
    paths = {r[0] for r in con.execute("SELECT path FROM articles").fetchall()}
    con.close()
    assert parameters["base_urls"] == [one.url, two.url] and parameters["base_url"] == one.url
    assert parameters["workers"] == 2 and parameters["concurrency"] == 2
    assert all(p.startswith("corpus/") for p in paths), "paths recorded as given, as in process"
    assert not (tmp_path / "events.duckdb.shards").exists()


# -- without Ray ------------------------------------------------------------------------------


def test_merging_a_shard_twice_stores_each_article_once(tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 4)
    db = tmp_path / "events.duckdb"
    with FakeOpenAIServer() as server:
        run_id, shard = _leftover_shard(db, corpus, server.url, prompt, 4)
    assert sorted(p.name for p in shard.iterdir()) == sorted(
        f"{t}.parquet" for t in ("run_articles", "articles", "llm_calls", "events", "llm_cache")
    )
    assert pq.read_table(shard / "run_articles.parquet").num_rows == 4
    with Store(db) as store:
        first = store.merge_shards([shard])
        counts = {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in shard_files_tables()}
        second = store.merge_shards([shard, shard])
        again = {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in shard_files_tables()}
        events = store.events_as_records(run_id)
    assert len(first.articles) == 4 and first.calls > 0
    assert second.articles == [] and second.calls == 0
    assert counts == again and counts["run_articles"] == 4 and counts["events"] == len(events) > 0


def shard_files_tables():
    from pipeline.store.shards import SHARD_TABLES

    return SHARD_TABLES


def test_a_shard_is_whole_or_absent(tmp_path, monkeypatch):
    with Store(tmp_path / "x.duckdb") as store:
        schemas = store.shard_schemas()
    folder = tmp_path / "shards" / "run"
    row = {"run_id": "run", "article_id": "a", "file_name": "a.txt", "status": "ok", "n_events": 0}

    def broken(table, path, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(shard_files.pq, "write_table", broken)
    with pytest.raises(OSError):
        shard_files.write_shard(folder, "k1", {"run_articles": [row]}, schemas)
    assert list(folder.iterdir()) == [], "nothing half-written is left"
    monkeypatch.undo()
    final = shard_files.write_shard(folder, "k1", {"run_articles": [row]}, schemas)
    assert shard_files.finished_shards(tmp_path / "shards") == [final]
    # A second attempt of the same batch keeps the finished shard.
    assert shard_files.write_shard(folder, "k1", {"run_articles": [{**row, "status": "failed"}]}, schemas) == final
    assert pq.read_table(final / "run_articles.parquet").column("status").to_pylist() == ["ok"]


def test_missing_ray_is_a_backend_error_that_says_how_to_install(monkeypatch, tmp_path):
    from pipeline.cli.run import run_pipeline_command
    from pipeline.distributed.engine import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendError) as info:
        import_ray()
    assert info.value.exit_code == EXIT_BACKEND and "pip install -e '.[ray]'" in str(info.value)
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 1)
    result = CliRunner().invoke(
        run_pipeline_command, [str(corpus), "--db", str(tmp_path / "x.duckdb"), "--engine", "ray", "--model", MODEL]
    )
    assert result.exit_code == EXIT_BACKEND
    assert "needs Ray" in result.output and not (tmp_path / "x.duckdb").exists()


def test_the_embedded_model_is_refused_on_ray_before_it_loads(tmp_path):
    from pipeline.cli.run import run_pipeline_command

    if RAY_MISSING:
        pytest.skip(RAY_MISSING)
    result = CliRunner().invoke(
        run_pipeline_command, [str(tmp_path), "--db", str(tmp_path / "x.duckdb"), "--engine", "ray"]
    )
    assert result.exit_code == EXIT_BACKEND and "--base-url" in result.output


def test_several_base_urls_share_the_load_and_the_cache(tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 6)
    db = tmp_path / "events.duckdb"
    with FakeOpenAIServer(latency=0.05) as one, FakeOpenAIServer(latency=0.05) as two:
        backend = get_backend(MODEL, base_url=one.url, base_urls=[one.url, two.url])
        assert backend.parameters["base_urls"] == [one.url, two.url]
        with Store(db) as store:
            first = run_pipeline(corpus, store, backend, prompt, jobs=4)
        assert one.stats["requests"] > 0 and two.stats["requests"] > 0
        assert one.stats["requests"] + two.stats["requests"] == first.n_calls
        # The cache keys on the first server: the same run against it alone is answered from the cache.
        with Store(db) as store:
            again = run_pipeline(corpus, store, get_backend(MODEL, base_url=one.url), prompt, jobs=4, force=True)
        assert again.n_calls == 0 and again.n_cached == first.n_calls
