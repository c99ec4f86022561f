"""The commands end to end on the offline fake backend, through the real CLI."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
from click.testing import CliRunner

from pipeline.cli.export import export_events_command
from pipeline.cli.run import run_pipeline_command
from schemas import ConflictEvent

BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)


def test_every_command_has_help():
    runner = CliRunner()
    for command in (run_pipeline_command, export_events_command):
        result = runner.invoke(command, ["--help"])
        assert result.exit_code == 0
        assert "Usage:" in result.output and len(result.output) > 300


def test_run_on_seeds_then_rerun_skips_then_force(seeds_dir, db_path):
    first = run(BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q")
    assert first.returncode == 0, first.stderr
    assert "5 extracted" in first.stdout and str(db_path.resolve()) in first.stdout.replace("\n", "")
    con = duckdb.connect(str(db_path))
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert n_events > 0
    assert con.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == 5
    con.close()

    again = run(BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q")
    assert again.returncode == 0 and "0 extracted" in again.stdout and "5 skipped" in again.stdout

    forced = run(
        BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q", "--force"
    )
    assert forced.returncode == 0 and "5 extracted" in forced.stdout
    con = duckdb.connect(str(db_path))
    assert con.execute("SELECT count(*) FROM latest_events").fetchone()[0] == n_events  # latest run only
    assert con.execute("SELECT count(DISTINCT run_id) FROM runs").fetchone()[0] == 3


def test_limit(seeds_dir, db_path):
    result = run(
        BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q", "--limit", "2"
    )
    assert result.returncode == 0 and "2 extracted" in result.stdout


def test_missing_folder_exits_2(db_path):
    result = run(BIN / "run-pipeline", "/no/such/folder", "--db", db_path, "--model", "fake")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_unknown_prompt_and_model_are_clear(seeds_dir, db_path):
    bad_prompt = run(BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "nope")
    assert bad_prompt.returncode == 2 and "available" in bad_prompt.stderr
    bad_model = run(BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "gpt9")
    assert bad_model.returncode == 4 and "openai/<model>" in bad_model.stderr


def test_openai_without_key_says_how_to_fix(seeds_dir, db_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(
        run_pipeline_command, [str(seeds_dir), "--db", str(db_path), "--model", "openai/gpt-4o-mini"]
    )
    assert result.exit_code == 4
    assert "OPENAI_API_KEY" in result.output


def test_bad_files_are_recorded_and_run_continues(tmp_path, db_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "Clashes east of Khan Sheikhun killed at least 29 regime forces and 31 rebels on Tuesday, a monitor said."
    )
    (folder / "empty.txt").write_text("")
    (folder / "published.json").write_text(json.dumps({"good.txt": "2019-08-27", "empty.txt": "2019-08-27"}))
    result = run(BIN / "run-pipeline", folder, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q")
    assert result.returncode == 1  # an article failed
    assert "1 extracted, 1 failed" in result.stdout
    con = duckdb.connect(str(db_path))
    rows = dict(con.execute("SELECT file_name, coalesce(error, status) FROM run_articles").fetchall())
    assert rows == {"good.txt": "ok", "empty.txt": "file is empty"}


def test_export_jsonl_has_codebook_fields(seeds_dir, db_path, tmp_path):
    assert (
        run(BIN / "run-pipeline", seeds_dir, "--db", db_path, "--model", "fake", "--prompt", "naive", "-q").returncode
        == 0
    )
    out = tmp_path / "events.jsonl"
    result = run(BIN / "export-events", "--db", db_path, "--format", "jsonl", "--output", out)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records
    fields = set(ConflictEvent.model_fields)
    for record in records:
        assert fields <= set(record)
        assert record["article"].endswith(".txt")
        ConflictEvent.model_validate({k: record[k] for k in fields})
    for fmt, name in (("csv", "e.csv"), ("parquet", "e.parquet")):
        assert run(BIN / "export-events", "--db", db_path, "--format", fmt, "-o", tmp_path / name).returncode == 0
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{tmp_path / 'e.parquet'}'").fetchone()[0] == len(records)


def test_export_missing_db(tmp_path):
    result = run(BIN / "export-events", "--db", tmp_path / "none.duckdb")
    assert result.returncode == 2 and "run-pipeline" in result.stderr
