"""API keys never reach DuckDB, logs, reports or exports.

A local stand-in for an OpenAI-compatible server answers `run-pipeline
--model openai/... --base-url ...` (a real subprocess, the real OpenAI client).
For one article it answers 401 with an error body that echoes the key in full,
as some servers do; for the others, the fake rules' answer. Then every file the
run produced - the DuckDB file (and its WAL), stdout and stderr, the exports in
every format, an evaluation report - is searched for the key, both as raw bytes
and, for the database, row by row through SQL (DuckDB compresses strings, so a
byte search alone could miss one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from pipeline.backends import get_backend
from pipeline.backends.redact import redact
from pipeline.evaluation.gold import load_gold
from pipeline.evaluation.report import render_html, render_markdown
from pipeline.evaluation.scoring import score_run
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from tests.support.fake_rules import answer

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
REJECTED_ARTICLE = "retake two villages"  # words of seeds/002_...: the server answers 401 for it

SK_KEY = "sk-proj-T3stKey0123456789abcdefSECRETvalue"
GATEWAY_KEY = "gw_live_5f3a9c0e7b2d4e6f8a1b3c5d7e9f0a2b"  # a gateway token, not OpenAI-shaped


class FakeOpenAI(BaseHTTPRequestHandler):
    """POST /v1/chat/completions like OpenAI, in json_schema mode."""

    seen_keys: list[str] = []

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        FakeOpenAI.seen_keys.append(key)
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        if REJECTED_ARTICLE in user:
            status, payload = (
                401,
                {
                    "error": {
                        "message": f"Incorrect API key provided: {key}. You can find your API key in your account settings.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        else:
            status, payload = (
                200,
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer(body)}}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                },
            )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def leaks(key: str, files: list[Path], texts: dict[str, str], db_path: Path | None) -> list[str]:
    """Where the key (or any 12-character piece of it) shows up."""
    pieces = {key[i : i + 12] for i in range(0, len(key) - 11)}
    found = []
    for path in files:
        raw = path.read_bytes()
        if any(piece.encode() in raw for piece in pieces):
            found.append(f"{path.name} (bytes)")
    for name, text in texts.items():
        if any(piece in text for piece in pieces):
            found.append(name)
    if db_path is not None:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            for table in tables:
                for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
                    flat = " ".join(map(str, row))
                    if any(piece in flat for piece in pieces):
                        found.append(f"table {table}: {flat[:200]}")
                        break
        finally:
            con.close()
    return found


def run_everything(
    key_env: str, key: str, server: str, out: Path
) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """The run, every export and a report, all written below `out`."""
    db = out / "events.duckdb"
    env = {**os.environ, key_env: key}
    run = subprocess.run(
        [
            str(BIN / "run-pipeline"),
            str(ROOT / "seeds"),
            "--db",
            str(db),
            "--model",
            "openai/test-model",
            "--base-url",
            server,
            "--api-key-env",
            key_env,
            "--mode",
            "json_schema",
            "--prompt",
            "naive",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    texts = {"run stdout": run.stdout, "run stderr": run.stderr}
    for fmt, name in (("jsonl", "e.jsonl"), ("csv", "e.csv"), ("parquet", "e.parquet"), ("acled-csv", "acled.csv")):
        exported = subprocess.run(
            [str(BIN / "export-events"), "--db", str(db), "--format", fmt, "-o", str(out / name)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert exported.returncode == 0, exported.stderr
        texts[f"export {fmt} stderr"] = exported.stderr
    # An evaluation report of the run against the gold files of the seeds.
    with Store(db, read_only=True) as store:
        records = store.events_as_records()
        (run_id, model, backend, prompt_name, prompt_hash) = store.con.execute(
            "SELECT run_id, model, backend, prompt_name, prompt_hash FROM runs"
        ).fetchone()
    preds: dict[str, list] = {}
    for record in records:
        preds.setdefault(record["article"], []).append(record)
    gold = {name: g for name, g in load_gold(ROOT / "evals" / "gold").items() if (ROOT / "seeds" / name).exists()}
    score = score_run(gold, preds, {name: (ROOT / "seeds" / name).read_text() for name in gold})
    column = {
        "label": "run",
        "run_id": run_id,
        "model": model,
        "backend": backend,
        "prompt_name": prompt_name,
        "prompt_hash": prompt_hash,
        "score": score.to_dict(),
        "stats": {},
    }
    (out / "report.html").write_text(render_html([column]))
    (out / "report.md").write_text(render_markdown([column]))
    return run, texts


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("OPENAI_API_KEY", SK_KEY), id="openai_shaped_key"),
        pytest.param(("GATEWAY_TOKEN", GATEWAY_KEY), id="other_shaped_key"),
    ],
)
def finished_run(request, server, tmp_path_factory):
    """One run with the key, its exports and a report; every artefact below `out`."""
    key_env, key = request.param
    out = tmp_path_factory.mktemp("secrets")
    FakeOpenAI.seen_keys.clear()
    run, texts = run_everything(key_env, key, server, out)
    assert key in FakeOpenAI.seen_keys  # the key was really sent
    return key, out, run, texts


def test_run_used_the_key_and_recorded_the_401(finished_run):
    key, out, run, _ = finished_run
    assert run.returncode == 1, run.stderr  # the 401 article failed, the others went through
    con = duckdb.connect(str(out / "events.duckdb"), read_only=True)
    (error,) = con.execute("SELECT error FROM run_articles WHERE status = 'failed'").fetchone()
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    assert "401" in error and "AuthenticationError" in error, error
    assert n_events > 0


def test_key_is_not_in_the_database(request, finished_run):
    key, out, _, _ = finished_run
    db = out / "events.duckdb"
    assert leaks(key, sorted(out.glob("events.duckdb*")), {}, db) == []


def test_key_is_not_in_exports_or_reports(finished_run):
    key, out, _, texts = finished_run
    files = [out / name for name in ("e.jsonl", "e.csv", "e.parquet", "acled.csv", "report.html", "report.md")]
    assert all(f.stat().st_size > 0 for f in files)
    assert leaks(key, files, {k: v for k, v in texts.items() if k.startswith("export")}, None) == []


def test_key_is_not_in_the_logs(request, finished_run):
    key, _, run, _ = finished_run
    pieces = {key[i : i + 12] for i in range(0, len(key) - 11)}
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        assert not any(p in text for p in pieces), f"key in {name}"


def test_credentials_in_the_base_url_are_not_recorded(tmp_path, server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    secret = "s3cretPassw0rdInTheUrl"
    url = server.replace("http://", f"http://analyst:{secret}@") + f"?api_key={secret}"
    backend = get_backend("openai/test-model", base_url=url, mode="json_schema")
    with Store(tmp_path / "db.duckdb") as store:
        summary = run_pipeline(ROOT / "seeds", store, backend, load_prompt("naive"), limit=1)
    assert summary.count("ok") == 1
    db = tmp_path / "db.duckdb"
    assert leaks(secret, sorted(tmp_path.glob("db.duckdb*")), {}, db) == []


def test_redact_masks_openai_shaped_keys():
    text = f"Error code: 401 - Incorrect API key provided: {SK_KEY}."
    assert SK_KEY not in redact(text) and "sk-***" in redact(text)
    assert "Bearer" not in redact("nothing to hide") and redact("nothing to hide") == "nothing to hide"
