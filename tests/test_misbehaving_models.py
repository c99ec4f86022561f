"""Misbehaving models, scripted through the fake backend.

Whatever the model sends back - invalid JSON, schema violations, evidence that
is not in the article, a sub-type of the wrong type, a date after publication,
a generation that runs into the token limit, an exception - the pipeline must:
re-ask with the validation error, then record the article as failed with the
raw output of every attempt kept in `llm_calls`; never crash the run; never
store an event that fails the codebook checks.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import instructor
import pytest

from pipeline.backends import get_backend
from pipeline.backends.base import Backend, completion_from_text
from pipeline.extraction.article import extract_article
from pipeline.ingest import Article, article_id_for
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from schemas import ConflictEvent
from schemas.grounding import find_span
from tests.support.fake_backend import FakeModel
from tests.support.fake_rules import answer

TEXT = (
    "Clashes east of Khan Sheikhun killed at least 29 regime forces and 31 rebels on Tuesday, "
    "the Syrian Observatory for Human Rights said."
)
PUBLISHED = "2019-08-27"
GOOD = {
    "event_date": "2019-08-27",
    "event_end_date": None,
    "time_precision": 1,
    "event_type": "Battles",
    "sub_event_type": "Armed clash",
    "actor1": {"name": "Military Forces of Syria", "actor_type": "state_forces"},
    "assoc_actors_1": [],
    "actor2": {"name": "Rebel groups", "actor_type": "rebel_group"},
    "assoc_actors_2": [],
    "country": "Syria",
    "admin1": "Idlib",
    "location": "Khan Sheikhun",
    "geo_precision": 2,
    "fatalities": 60,
    "civilian_targeting": False,
    "source": "Syrian Observatory for Human Rights",
    "notes": "Clashes east of Khan Sheikhun.",
    "evidence": ["Clashes east of Khan Sheikhun killed at least 29 regime forces"],
}


def events(*changed: dict) -> str:
    return json.dumps({"events": list(changed)})


def good(**changes) -> dict:
    event = copy.deepcopy(GOOD)
    event.update(changes)
    return event


def missing(*keys: str) -> dict:
    return {k: v for k, v in GOOD.items() if k not in keys}


# name -> (what the model keeps answering, words the re-ask and the failure must carry)
BAD_OUTPUTS = {
    "invalid_json": ('Sure! Here are the events: {"events": [{"event_date": 2019-08-27', "Invalid JSON"),
    "empty_output": ("", "Invalid JSON"),
    "prose_not_json": ("I could not find any events in this article.", "Invalid JSON"),
    "missing_fields": (events(missing("event_type", "actor1", "evidence")), "Field required"),
    "unknown_event_type": (events(good(event_type="Massacre")), "Input should be"),
    "extra_field": (json.dumps({"events": [GOOD], "confidence": 0.9}), "Extra inputs are not permitted"),
    "negative_fatalities": (events(good(fatalities=-5)), "greater than or equal to 0"),
    "too_many_events": (events(*[GOOD] * 13), "at most 12"),
    "evidence_not_in_article": (events(good(evidence=["Rebels shot down a Russian jet over Idlib"])), "copied exactly"),
    "sub_type_of_another_type": (events(good(sub_event_type="Air/drone strike")), "belongs to event_type"),
    "date_after_publication": (events(good(event_date="2019-09-10")), "after the article's publication date"),
    "end_before_start": (events(good(event_end_date="2019-08-20")), "event_end_date is before event_date"),
}


def one_article_folder(tmp_path: Path, text: str = TEXT, name: str = "a.txt") -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    meta = folder / "published.json"
    data = json.loads(meta.read_text()) if meta.exists() else {}
    data[name] = PUBLISHED
    meta.write_text(json.dumps(data))
    return folder


def article() -> Article:
    return Article(
        path="a.txt",
        file_name="a.txt",
        text=TEXT,
        article_id=article_id_for(TEXT),
        published=date.fromisoformat(PUBLISHED),
    )


def stored(store: Store, sql: str) -> list[tuple]:
    return store.con.execute(sql).fetchall()


@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_bad_output_is_reasked_then_recorded_with_raw_output(tmp_path, case):
    output, words = BAD_OUTPUTS[case]
    fake = FakeModel([output] * 10)
    with Store(tmp_path / "db.duckdb") as store:
        summary = run_pipeline(
            one_article_folder(tmp_path), store, get_backend("fake", fake=fake), load_prompt("naive")
        )
        (outcome,) = summary.outcomes
        assert outcome.status == "failed" and outcome.error.startswith("model output failed validation")
        assert summary.status == "completed_with_failures"

        n = len(fake.requests)
        assert n >= 2, "the model was not re-asked"
        # The re-ask carries the validation error back to the model.
        for request in fake.requests[1:]:
            assert words in request["messages"][-1]["content"], request["messages"][-1]["content"][:300]
        # Every attempt is logged with the raw output and the validation error.
        calls = stored(store, "SELECT attempt, outcome, response, error FROM llm_calls ORDER BY attempt")
        assert [c[0] for c in calls] == list(range(1, n + 1))
        assert all(c[1] == "validation_error" and c[2] == output and words in c[3] for c in calls), calls
        # Nothing of it became an event.
        assert stored(store, "SELECT count(*) FROM events") == [(0,)]
        assert stored(store, "SELECT status, n_events FROM run_articles") == [("failed", 0)]


@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_failure_message_explains_what_was_wrong(case):
    output, words = BAD_OUTPUTS[case]
    result = extract_article(article(), load_prompt("naive"), get_backend("fake", fake=FakeModel([output] * 10)), "run")
    assert "<failed_attempts>" not in result.error
    assert words in result.error, result.error


@pytest.mark.parametrize(
    "case", ["invalid_json", "evidence_not_in_article", "sub_type_of_another_type", "date_after_publication"]
)
def test_model_that_corrects_itself_after_the_reask_is_accepted(tmp_path, case):
    output, words = BAD_OUTPUTS[case]
    fake = FakeModel([output, events(GOOD)])
    with Store(tmp_path / "db.duckdb") as store:
        summary = run_pipeline(
            one_article_folder(tmp_path), store, get_backend("fake", fake=fake), load_prompt("naive")
        )
        assert [o.status for o in summary.outcomes] == ["ok"] and summary.n_events == 1
        assert words in fake.requests[1]["messages"][-1]["content"]
        calls = stored(store, "SELECT outcome, response FROM llm_calls ORDER BY attempt")
        assert calls == [("validation_error", output), ("ok", events(GOOD))]
        (evidence, start, end) = stored(store, "SELECT evidence[1], evidence_start[1], evidence_end[1] FROM events")[0]
        assert TEXT[start:end] == evidence


# --------------------------------------------------------------------------- runaway generation

TRUNCATED = '{"events": [{"event_date": "2019-08-27", "time_precision": 1, "notes": "' + "the clashes continued " * 400


def runaway_backend(text: str = TRUNCATED) -> tuple[Backend, list[dict]]:
    requests: list[dict] = []

    def create(**kwargs):
        requests.append(kwargs)
        return completion_from_text(
            text, model="runaway", completion_tokens=kwargs.get("max_tokens") or 0, finish_reason="length"
        )

    return Backend(name="fake", model="runaway", mode=instructor.Mode.JSON_SCHEMA, create=create), requests


def test_endless_generation_is_a_recorded_failure_with_the_raw_output(tmp_path):
    backend, requests = runaway_backend()
    with Store(tmp_path / "db.duckdb") as store:
        summary = run_pipeline(one_article_folder(tmp_path), store, backend, load_prompt("naive"))
        (outcome,) = summary.outcomes
        assert outcome.status == "failed" and "token limit" in outcome.error
        calls = stored(store, "SELECT response, error, completion_tokens FROM llm_calls")
        assert len(calls) == len(requests) >= 1
        for response, error, tokens in calls:
            assert response == TRUNCATED  # the raw output is kept for inspection
            assert "max_tokens" in error and tokens == 2000
        assert stored(store, "SELECT count(*) FROM events") == [(0,)]
        assert stored(store, "SELECT error FROM run_articles")[0][0] == outcome.error


def test_endless_generation_is_not_logged_as_ok(tmp_path):
    backend, _ = runaway_backend()
    result = extract_article(article(), load_prompt("naive"), backend, "run")
    assert result.error and all(c["outcome"] != "ok" for c in result.calls)
    assert not result.first_try_valid


# --------------------------------------------------------------------------- exceptions and a whole run


BACKEND_ERRORS = [ValueError("the model server returned garbage"), RuntimeError("CUDA error: out of memory")]


@pytest.mark.parametrize("exc", BACKEND_ERRORS, ids=lambda e: type(e).__name__)
def test_backend_exception_fails_the_article_not_the_run(tmp_path, exc):
    fake = FakeModel([exc])
    with Store(tmp_path / "db.duckdb") as store:
        summary = run_pipeline(
            one_article_folder(tmp_path), store, get_backend("fake", fake=fake), load_prompt("naive")
        )
        (outcome,) = summary.outcomes
        assert outcome.status == "failed" and str(exc) in outcome.error
        (call,) = stored(store, "SELECT outcome, error FROM llm_calls")
        assert call[0] == "transport_error" and type(exc).__name__ in call[1] and str(exc) in call[1]


@pytest.mark.parametrize("exc", BACKEND_ERRORS, ids=lambda e: type(e).__name__)
def test_backend_exception_is_not_called_a_validation_failure(exc):
    result = extract_article(article(), load_prompt("naive"), get_backend("fake", fake=FakeModel([exc])), "run")
    assert "validation" not in result.error and type(exc).__name__ in result.error, result.error


def test_a_run_of_misbehaving_answers_goes_on_and_stores_only_valid_events(tmp_path):
    """Four articles: the model breaks on three of them; the other is extracted normally."""
    texts = {
        "a_bad_json.txt": "Shelling killed four civilians in Kafr Nabl on Wednesday, a monitor said in a statement.",
        "b_good.txt": TEXT,
        "c_runaway.txt": "An air strike killed 12 civilians in a market in Maarat al-Numan on Saturday, a monitor said.",
        "d_ungrounded.txt": "Clashes near Kafr Zita killed 9 fighters on Thursday, according to a war monitor.",
    }
    folder = tmp_path / "in"
    for name, text in texts.items():
        one_article_folder(tmp_path, text, name)

    def create(**kwargs):
        user = kwargs["messages"][1]["content"]
        if "Kafr Nabl" in user:
            return completion_from_text('{"events": [', model="m")
        if "Maarat" in user:
            return completion_from_text(TRUNCATED, model="m", finish_reason="length")
        if "Kafr Zita" in user:
            return completion_from_text(events(good(evidence=["Clashes near Kafr Zita killed 90 fighters"])), model="m")
        return completion_from_text(answer(kwargs), model="m")

    backend = Backend(name="fake", model="misbehaving", mode=instructor.Mode.JSON_SCHEMA, create=create)
    with Store(tmp_path / "db.duckdb") as store:
        summary = run_pipeline(folder, store, backend, load_prompt("naive"))
        statuses = {o.file_name: o.status for o in summary.outcomes}
        assert statuses == {
            "a_bad_json.txt": "failed",
            "b_good.txt": "ok",
            "c_runaway.txt": "failed",
            "d_ungrounded.txt": "failed",
        }
        rows = stored(store, "SELECT a.text, e.* FROM events e JOIN articles a USING (article_id)")
        assert rows and all(r[0] == TEXT for r in rows)
        cur = store.con.execute("SELECT a.text, a.published, e.* FROM events e JOIN articles a USING (article_id)")
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            record = dict(zip(names, row, strict=True))
            for span in record["evidence"]:
                assert find_span(record["text"], span) is not None
            ConflictEvent.model_validate(
                {
                    **{k: record[k] for k in ConflictEvent.model_fields if k not in ("actor1", "actor2")},
                    "actor1": {"name": record["actor1"], "actor_type": record["actor1_type"]},
                    "actor2": {"name": record["actor2"], "actor_type": record["actor2_type"]}
                    if record["actor2"]
                    else None,
                },
                context={"text": record["text"], "published": record["published"]},
            )
        # Every failed article keeps the raw text of each attempt.
        raw = stored(store, "SELECT count(*) FROM llm_calls WHERE response IS NULL OR response = ''")
        assert raw == [(0,)]
