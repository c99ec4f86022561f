"""Remote models through real HTTP and the real openai client, against the fake server.

Every test starts its own FakeOpenAIServer on 127.0.0.1 (random port) and
points the pipeline at it with `openai/fake-model` + base_url, as an analyst
would point it at vLLM or OpenAI. No timed assertions: speed lives in
benchmarks/remote_throughput.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import httpx
import openai
import pytest
from click.testing import CliRunner
from tenacity import RetryCallState

from pipeline import costs  # noqa: E402
from pipeline.backends import get_backend
from pipeline.backends.base import completion_from_text
from pipeline.backends.server import make_server
from pipeline.cli.serve import serve_model_command
from pipeline.extraction.caller import MAX_RETRY_AFTER_S, WaitHonouringRetryAfter, is_transient
from pipeline.prompts import load_prompt  # noqa: E402
from pipeline.runner import run_pipeline  # noqa: E402
from pipeline.store.database import Store
from tests.support.fake_backend import FakeModel
from tests.support.fake_openai_server import FakeOpenAIServer, write_corpus  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = "sk-test-0123456789abcdefSECRETKEY"
MODEL = "openai/fake-model"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("CONFLICT_EVENTS_NO_CACHE", raising=False)
    monkeypatch.delenv(costs.PRICES_ENV, raising=False)


@pytest.fixture
def server():
    with FakeOpenAIServer(retry_after=1, timeout_sleep=2.0) as srv:
        yield srv


@pytest.fixture
def prompt():
    return load_prompt("naive")


def backend_for(srv: FakeOpenAIServer, **options):
    return get_backend(MODEL, base_url=srv.url, **options)


def run(store_path, folder, srv, prompt, **kwargs):
    options = kwargs.pop("backend_options", {})
    with Store(store_path) as store:
        return run_pipeline(folder, store, backend_for(srv, **options), prompt, **kwargs)


def query(db_path, sql, params=None):
    con = duckdb.connect(str(db_path))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def calls_of(db_path, run_id):
    rows = query(
        db_path,
        "SELECT attempt, outcome, error, request::VARCHAR, started_at, latency_s FROM llm_calls WHERE run_id = ? "
        "ORDER BY started_at, attempt",
        [run_id],
    )
    return [
        dict(zip(("attempt", "outcome", "error", "request", "started_at", "latency_s"), r, strict=True)) for r in rows
    ]


def event_keys(db_path, run_id=None):
    """Events as comparable tuples (article, index and every codebook field), sorted."""
    where = "WHERE e.run_id = ?" if run_id else "JOIN latest_article_runs l USING (article_id, run_id)"
    rows = query(
        db_path,
        f"""SELECT a.file_name, e.event_index, e.event_date, e.event_type, e.sub_event_type, e.actor1, e.actor2,
                   e.fatalities, e.civilian_targeting, e.evidence
            FROM events e JOIN articles a USING (article_id) {where}""",
        [run_id] if run_id else [],
    )
    return sorted(tuple(json.dumps(v, default=str) for v in r) for r in rows)


# -- the whole run through HTTP ------------------------------------------------------------


def test_cli_run_on_seeds_extracts_all_five_and_records_the_mode(seeds_dir, db_path, server):
    result = subprocess.run(
        [
            str(BIN / "run-pipeline"),
            str(seeds_dir),
            "--db",
            str(db_path),
            "--model",
            MODEL,
            "--base-url",
            server.url,
            "--prompt",
            "naive",
            "-q",
            "--jobs",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "5 extracted" in result.stdout
    assert "$0.0000" in result.stdout  # a model on this machine, not in the price table: free
    ((mode, backend, model, n_ok, params),) = query(
        db_path, "SELECT instructor_mode, backend, model, n_ok, parameters::VARCHAR FROM runs"
    )
    assert (mode, backend, model, n_ok) == ("tool_call", "openai", "fake-model", 5)
    assert json.loads(params)["mode"] == "tools" and json.loads(params)["jobs"] == 3
    assert query(db_path, "SELECT count(*) FROM events")[0][0] == 15
    assert server.stats["requests"] == 5
    # the key went over HTTP as a bearer token, and nowhere else
    assert all(h.get("Authorization") == f"Bearer {SECRET}" for h in server.headers)


@pytest.mark.parametrize("mode", ["json_schema", "tools", "json", "md_json"])
def test_every_instructor_mode_works_and_is_recorded(seeds_dir, db_path, server, prompt, mode):
    summary = run(db_path, seeds_dir, server, prompt, backend_options={"mode": mode}, limit=2)
    assert summary.count("ok") == 2, [o.error for o in summary.outcomes]
    params = json.loads(query(db_path, "SELECT parameters::VARCHAR FROM runs")[0][0])
    assert params["mode"] == mode


# -- transport retries ---------------------------------------------------------------------


def test_429_with_retry_after_is_retried_and_both_attempts_logged(seeds_dir, db_path, server, prompt):
    server.fail_next(["429"])
    summary = run(db_path, seeds_dir, server, prompt, limit=1)
    assert summary.count("ok") == 1
    calls = calls_of(db_path, summary.run_id)
    assert [(c["attempt"], c["outcome"]) for c in calls] == [(1, "transport_error"), (2, "ok")]
    assert "RateLimitError" in calls[0]["error"] and "429" in calls[0]["error"]
    # Retry-After: 1 was honoured (a lower bound: the retry cannot start earlier)
    gap = (calls[1]["started_at"] - calls[0]["started_at"]).total_seconds()
    assert gap >= 0.95
    assert server.stats["requests"] == 2
    assert summary.n_calls == 2


def test_500s_are_retried(seeds_dir, db_path, server, prompt):
    server.fail_next(["500", "500"])
    summary = run(db_path, seeds_dir, server, prompt, limit=1)
    assert summary.count("ok") == 1
    calls = calls_of(db_path, summary.run_id)
    assert [c["outcome"] for c in calls] == ["transport_error", "transport_error", "ok"]
    assert all("InternalServerError" in c["error"] for c in calls[:2])


def test_timeout_and_dropped_connection_are_retried(seeds_dir, db_path, server, prompt):
    server.fail_next(["timeout", "disconnect"])
    summary = run(db_path, seeds_dir, server, prompt, limit=1, backend_options={"timeout": 0.5})
    assert summary.count("ok") == 1
    calls = calls_of(db_path, summary.run_id)
    assert [c["outcome"] for c in calls] == ["transport_error", "transport_error", "ok"]
    assert "APITimeoutError" in calls[0]["error"]
    assert "APIConnectionError" in calls[1]["error"]


def test_persistent_failure_gives_up_with_a_transport_message(seeds_dir, db_path, server, prompt, monkeypatch):
    import pipeline.extraction.caller as extract

    monkeypatch.setattr(extract, "MAX_TRANSPORT_ATTEMPTS", 3)
    server.retry_after = 0
    server.fail_next(["429", "429", "429"])
    summary = run(db_path, seeds_dir, server, prompt, limit=1)
    assert summary.count("failed") == 1
    error = summary.outcomes[0].error
    assert error.startswith("RateLimitError") and "validation" not in error
    assert [c["outcome"] for c in calls_of(db_path, summary.run_id)] == ["transport_error"] * 3


def test_wait_honours_retry_after_with_a_cap():
    def state_with(headers: dict[str, str], attempt: int = 1) -> RetryCallState:
        request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
        response = httpx.Response(429, headers=headers, request=request)
        exc = openai.RateLimitError("slow down", response=response, body=None)
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        state.set_exception((type(exc), exc, None))
        return state

    wait = WaitHonouringRetryAfter()
    assert 7.0 <= wait(state_with({"Retry-After": "7"})) <= 20.0
    assert 2.5 <= wait(state_with({"retry-after-ms": "2500"})) <= 20.0
    assert wait(state_with({"Retry-After": "86400"})) == MAX_RETRY_AFTER_S  # capped
    assert 0.0 <= wait(state_with({})) <= 0.5  # no hint: jittered backoff, first step
    assert all(0.0 <= wait(state_with({}, attempt=10)) <= 20.0 for _ in range(20))  # capped backoff


def test_which_errors_are_transient():
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")

    def status_error(code: int) -> openai.APIStatusError:
        return openai.APIStatusError("x", response=httpx.Response(code, request=request), body=None)

    assert is_transient(openai.APITimeoutError(request=request))
    assert is_transient(openai.APIConnectionError(request=request))
    assert all(is_transient(status_error(code)) for code in (408, 409, 429, 500, 502, 503))
    assert not any(is_transient(status_error(code)) for code in (400, 401, 403, 404, 422))
    assert not is_transient(ValueError("not transport"))


# -- validation re-asks ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["malformed_json", "schema_violation"])
def test_bad_output_is_reasked_and_recorded_as_validation_error(seeds_dir, db_path, server, prompt, kind):
    server.fail_next([kind])
    summary = run(db_path, seeds_dir, server, prompt, limit=1)
    assert summary.count("ok") == 1 and summary.n_events == 3
    calls = calls_of(db_path, summary.run_id)
    assert [(c["attempt"], c["outcome"]) for c in calls] == [(1, "validation_error"), (2, "ok")]
    assert calls[0]["error"]
    # the re-ask carries the failed answer and the error back to the model
    assert len(json.loads(calls[1]["request"])["messages"]) > len(json.loads(calls[0]["request"])["messages"])


def test_transport_retries_and_reasks_are_separate(seeds_dir, db_path, server, prompt):
    server.fail_next(["500", "schema_violation", "429"])
    server.retry_after = 0
    summary = run(db_path, seeds_dir, server, prompt, limit=1)
    assert summary.count("ok") == 1
    outcomes = [c["outcome"] for c in calls_of(db_path, summary.run_id)]
    assert outcomes == ["transport_error", "validation_error", "transport_error", "ok"]


def test_article_with_template_syntax_reaches_the_model_verbatim(tmp_path, server, prompt):
    # instructor renders messages as Jinja templates when a validation context is passed
    folder = tmp_path / "in"
    folder.mkdir()
    text = (
        "Clashes near the town killed 12 fighters on Tuesday, a monitor said. "
        "A banner read {{ name }} and {% if x %} in the square."
    )
    (folder / "a.txt").write_text(text)
    (folder / "published.json").write_text(json.dumps({"a.txt": "2019-08-27"}))
    summary = run(tmp_path / "x.duckdb", folder, server, prompt)
    assert summary.count("ok") == 1, summary.outcomes[0].error
    user = [m for m in server.requests[0]["messages"] if m["role"] == "user"][0]["content"]
    assert "{{ name }} and {% if x %}" in user


# -- concurrency -----------------------------------------------------------------------------


def test_jobs_4_gives_the_same_events_as_jobs_1_even_with_failures(tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 24)
    with FakeOpenAIServer() as calm:
        one = run(tmp_path / "one.duckdb", corpus, calm, prompt, jobs=1)
    with FakeOpenAIServer(failure_rate=0.25, failure_kinds=("429", "500"), retry_after=0, seed=7) as flaky:
        four = run(tmp_path / "four.duckdb", corpus, flaky, prompt, jobs=4)
        assert flaky.stats["429"] + flaky.stats["500"] > 0
    assert one.count("ok") == four.count("ok") == 24
    assert [o.file_name for o in four.outcomes] == sorted(p.name for p in corpus.glob("*.txt"))  # input order
    ones = event_keys(tmp_path / "one.duckdb", one.run_id)
    fours = event_keys(tmp_path / "four.duckdb", four.run_id)
    assert ones == fours and len(fours) == 72 and len(set(fours)) == len(fours)
    db = tmp_path / "four.duckdb"
    assert query(db, "SELECT count(*), count(DISTINCT article_id) FROM run_articles WHERE status = 'ok'")[0] == (24, 24)
    # every attempt is in llm_calls: one row per request the server saw
    assert query(db, "SELECT count(*) FROM llm_calls")[0][0] == flaky.stats["requests"]


def test_requests_in_flight_are_bounded_by_jobs(tmp_path, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 12)
    in_flight = {"now": 0, "max": 0}
    lock = threading.Lock()
    fake = FakeModel()
    gate = threading.Event()

    def create(**kwargs):
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        gate.wait(0.05)
        try:
            return fake.create(**kwargs)
        finally:
            with lock:
                in_flight["now"] -= 1

    backend = get_backend("fake", fake=fake)
    backend.create = create
    with Store(tmp_path / "x.duckdb") as store:
        summary = run_pipeline(corpus, store, backend, prompt, jobs=3)
    assert summary.count("ok") == 12
    assert 1 <= in_flight["max"] <= 3


def test_interrupted_concurrent_run_keeps_finished_articles_and_rerun_completes(tmp_path, server, prompt):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 16)
    db = tmp_path / "x.duckdb"
    seen = []

    def stop_after_first(kind, payload):
        if kind == "article":
            seen.append(payload)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(db, corpus, server, prompt, jobs=4, on_progress=stop_after_first)
    ((status, n_ok),) = query(db, "SELECT status, n_ok FROM runs")
    assert status == "interrupted" and n_ok >= 1
    saved = query(db, "SELECT count(*) FROM run_articles WHERE status = 'ok'")[0][0]
    assert saved >= 1
    rest = run(db, corpus, server, prompt, jobs=4)
    assert rest.count("ok") + rest.count("skipped") == 16 and rest.count("skipped") == saved
    keys = event_keys(db)  # the latest extraction of every article
    assert len(keys) == 48 and len(set(keys)) == 48


# -- cache -------------------------------------------------------------------------------------


def test_rerun_makes_zero_model_calls(seeds_dir, db_path, server, prompt):
    server.fail_next([None, "malformed_json"])  # the second article needs a re-ask
    first = run(db_path, seeds_dir, server, prompt, jobs=2)
    assert first.count("ok") == 5
    requests = server.stats["requests"]
    assert requests == 6

    again = run(db_path, seeds_dir, server, prompt, jobs=2)  # unchanged: every article skipped
    assert again.count("skipped") == 5 and again.n_calls == 0

    forced = run(db_path, seeds_dir, server, prompt, jobs=2, force=True)  # redo all: the cache answers
    assert forced.count("ok") == 5 and forced.n_calls == 0 and forced.n_cached == 6
    assert server.stats["requests"] == requests
    outcomes = query(db_path, "SELECT outcome, count(*) FROM llm_calls WHERE run_id = ? GROUP BY ALL", [forced.run_id])
    assert outcomes == [("cached", 6)]  # zero rows with outcome != 'cached'
    assert event_keys(db_path, forced.run_id) == event_keys(db_path, first.run_id)
    ((cost, pt),) = query(db_path, "SELECT cost_usd, prompt_tokens FROM runs WHERE run_id = ?", [forced.run_id])
    assert pt == 0 and cost == 0.0


def test_cache_key_changes_with_prompt_and_settings(tmp_path, seeds_dir, db_path, server, prompt):
    run(db_path, seeds_dir, server, prompt, limit=2)
    assert server.stats["requests"] == 2
    edited = tmp_path / "edited.md"
    edited.write_text(Path(prompt.path).read_text().replace("max_tokens: 2000", "max_tokens: 1900"))
    run(db_path, seeds_dir, server, load_prompt(str(edited)), limit=2)
    assert server.stats["requests"] == 4  # new settings: new calls
    run(db_path, seeds_dir, server, prompt, limit=2, force=True, backend_options={"mode": "json_schema"})
    assert server.stats["requests"] == 6  # another schema mode: new calls
    run(db_path, seeds_dir, server, prompt, limit=2, force=True, cache=False)
    assert server.stats["requests"] == 8  # cache off


def test_cache_is_per_model(seeds_dir, db_path, server, prompt):
    run(db_path, seeds_dir, server, prompt, limit=1)
    with Store(db_path) as store:
        other = get_backend("openai/other-model", base_url=server.url)
        run_pipeline(seeds_dir, store, other, prompt, limit=1)
    assert server.stats["requests"] == 2


# -- cost ----------------------------------------------------------------------------------------


def test_cost_is_computed_from_the_price_table(tmp_path, seeds_dir, db_path, server, prompt, monkeypatch):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"models": {"fake-model": {"input": 1.5, "output": 6.0}}}))
    monkeypatch.setenv(costs.PRICES_ENV, str(table))
    server.fail_next(["500"])  # a failed attempt has no tokens and costs nothing
    summary = run(db_path, seeds_dir, server, prompt)
    pt, ct = query(db_path, "SELECT sum(prompt_tokens), sum(completion_tokens) FROM llm_calls")[0]
    assert pt > 0 and ct > 0
    expected = (pt * 1.5 + ct * 6.0) / 1e6
    ((cost, run_pt, run_ct),) = query(db_path, "SELECT cost_usd, prompt_tokens, completion_tokens FROM runs")
    assert (run_pt, run_ct) == (pt, ct)
    assert cost == pytest.approx(expected) and summary.cost_usd == pytest.approx(expected)


def test_price_lookup_rules(tmp_path):
    prices = costs.load_prices()
    assert costs.price_for("gpt-4o-mini", prices) == {"input": 0.15, "output": 0.60}
    assert costs.price_for("gpt-4o-mini-2024-07-18", prices) == prices["gpt-4o-mini"]  # dated snapshot
    assert costs.price_for("gpt-4o-2024-08-06", prices) == prices["gpt-4o"]
    assert costs.run_price("openai", "no-such-model") is None  # unknown: NULL, never a guess
    assert costs.cost_usd(None, 10, 10) is None
    assert costs.run_price("local", "qwen2.5-coder-1.5b") == {"input": 0.0, "output": 0.0}
    assert costs.run_price("fake", "rules") == {"input": 0.0, "output": 0.0}
    assert costs.run_price("openai", "llama3", "http://127.0.0.1:11434/v1") == {"input": 0.0, "output": 0.0}
    assert costs.run_price("openai", "llama3", "https://api.together.xyz/v1") is None
    assert costs.cost_usd(prices["gpt-4o-mini"], 1_000_000, 1_000_000) == pytest.approx(0.75)


def test_unknown_price_leaves_cost_null(seeds_dir, db_path, prompt, monkeypatch):
    backend = get_backend("fake")
    backend.name = "openai"  # pretend: a remote model missing from the table
    backend.model = "mystery-model"
    with Store(db_path) as store:
        summary = run_pipeline(seeds_dir, store, backend, prompt, limit=1)
    assert summary.cost_usd is None
    assert query(db_path, "SELECT cost_usd FROM runs")[0][0] is None


# -- secrets ---------------------------------------------------------------------------------------


def test_api_key_never_reaches_the_database(seeds_dir, db_path, server, prompt):
    server.fail_next(["echo_auth", "429", "malformed_json"])  # a server that even quotes the key back
    server.retry_after = 0
    first = run(db_path, seeds_dir, server, prompt, jobs=2)
    assert first.count("failed") == 1 and first.count("ok") == 4
    run(db_path, seeds_dir, server, prompt, force=True)
    con = duckdb.connect(str(db_path))
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        assert {"runs", "llm_calls", "llm_cache", "run_articles"} <= set(tables)
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
                text = json.dumps(row, default=str)
                assert SECRET not in text and SECRET[3:] not in text, table
        errors = [
            r[0] for r in con.execute("SELECT error FROM llm_calls WHERE error LIKE '%Incorrect API key%'").fetchall()
        ]
        assert errors and all("sk-***" in e for e in errors)
    finally:
        con.close()
    assert SECRET.encode() not in db_path.read_bytes()


# -- backend resolution --------------------------------------------------------------------------


def test_backend_resolution_with_base_url(monkeypatch):
    url = "http://user:pw@127.0.0.1:9/v1/"
    assert get_backend("qwen2.5:7b", base_url=url).label == "openai/qwen2.5:7b"
    slashed = get_backend("meta-llama/Llama-3.1-8B-Instruct", base_url=url)
    assert slashed.label == "openai/meta-llama/Llama-3.1-8B-Instruct"
    assert slashed.parameters["base_url"] == "http://127.0.0.1:9/v1"  # no credentials recorded
    served = get_backend("local", base_url=url, mode=None)
    assert served.name == "openai" and served.mode.value == "json_schema_mode"
    assert get_backend("openai/gpt-4o-mini").mode.value == "json_schema_mode"
    assert get_backend("openai/x", base_url=url).mode.value == "tool_call"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert get_backend("openai/x", base_url=url).name == "openai"  # local servers need no key


# -- serve-model -----------------------------------------------------------------------------------


@pytest.fixture
def stub_server():
    """serve-model's HTTP layer over a stub model (the fake backend), never the real Llama."""
    fake = FakeModel()
    srv = make_server(fake.create, "stub-model", port=0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv, fake
    srv.shutdown()
    srv.server_close()


def test_serve_model_answers_openai_requests(stub_server):
    srv, fake = stub_server
    client = openai.OpenAI(base_url=srv.url, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["stub-model"]
    schema = {"title": "ArticleEvents", "type": "object", "properties": {"events": {"type": "array"}}}
    text = "Publication date: 2019-08-27\n\nArticle:\nClashes killed 29 fighters near the town on Tuesday."
    completion = client.chat.completions.create(
        model="stub-model",
        messages=[{"role": "user", "content": text}],
        response_format={"type": "json_schema", "json_schema": {"name": "ArticleEvents", "schema": schema}},
        max_tokens=100,
    )
    assert completion.model == "stub-model"
    assert len(json.loads(completion.choices[0].message.content)["events"]) == 1
    assert fake.requests[-1]["max_tokens"] == 100 and "model" not in fake.requests[-1]
    stream = client.chat.completions.create(
        model="stub-model",
        messages=[{"role": "user", "content": text}],
        stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "ArticleEvents", "schema": schema}},
    )
    assert json.loads("".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))["events"]
    with pytest.raises(openai.NotFoundError, match="stub-model"):  # another model's name: refused, not misrecorded
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])


def test_serve_model_rejects_bad_requests(stub_server):
    srv, _ = stub_server
    base = srv.url.removesuffix("/v1")
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/nope").status_code == 404
        bad_json = http.post("/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
        assert bad_json.status_code == 400 and "not JSON" in bad_json.json()["error"]["message"]
        no_messages = http.post("/v1/chat/completions", json={"model": "m"})
        assert no_messages.status_code == 400
        # a model error becomes an OpenAI-shaped error, and the server keeps serving
        failing = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
        assert failing.status_code == 400 and "no rule" in failing.json()["error"]["message"]
        assert http.get("/v1/models").status_code == 200


def test_pipeline_runs_against_serve_model(seeds_dir, db_path, stub_server, prompt):
    srv, fake = stub_server
    with Store(db_path) as store:
        backend = get_backend("openai/stub-model", base_url=srv.url, mode="json_schema")
        summary = run_pipeline(seeds_dir, store, backend, prompt, jobs=2)
    assert summary.count("ok") == 5 and summary.n_events == 15
    assert len(fake.requests) == 5


def test_serve_model_help():
    result = CliRunner().invoke(serve_model_command, ["--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output and "--port" in result.output and "OpenAI-compatible" in result.output


def test_serve_model_stub_completion_shape():
    completion = completion_from_text('{"events": []}', model="m", prompt_tokens=3, completion_tokens=2)
    srv = make_server(lambda **kw: completion, "m", port=0)
    try:
        assert srv.url.startswith("http://127.0.0.1:")
    finally:
        srv.server_close()
