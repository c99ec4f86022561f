"""Replaying a stored run over its logged answers rebuilds the same events with no model call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import instructor
import pytest

from pipeline.backends import get_backend
from pipeline.backends.base import Backend, completion_from_text, request_for_log
from pipeline.backends.replay import ReplayMiss, logged_answers, make_replay_backend, replay_key
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from pipeline.store.replay import logged_calls

ROOT = Path(__file__).resolve().parent.parent


def _run(seeds_dir: Path, db_path: Path) -> str:
    with Store(db_path) as store:
        return run_pipeline(seeds_dir, store, get_backend("fake"), load_prompt("default")).run_id


def test_replay_of_a_run_gives_identical_events(seeds_dir, db_path):
    run_id = _run(seeds_dir, db_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "replay.py"), "--db", str(db_path), "--run", run_id[:8]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 identical, 0 differ" in result.stdout and " 0 misses" in result.stdout


def test_a_request_the_run_never_made_is_a_miss_not_another_answer(seeds_dir, db_path):
    run_id = _run(seeds_dir, db_path)
    with Store(db_path, read_only=True) as store:
        answers = logged_answers(logged_calls(store, run_id))
    assert answers
    backend = make_replay_backend(None, answers=answers, model_id="rules")
    asked = {"model": "rules", "messages": [{"role": "user", "content": "a question nobody asked"}]}
    assert replay_key(request_for_log(asked)) not in answers
    with pytest.raises(ReplayMiss):
        backend.create(**asked)
    assert backend.parameters["stats"] == {"hits": 0, "misses": 1, "live": 0}


def test_with_a_fallback_a_miss_is_asked_of_it_and_kept_for_the_next_replay(seeds_dir, db_path):
    run_id = _run(seeds_dir, db_path)
    with Store(db_path, read_only=True) as store:
        answers = logged_answers(logged_calls(store, run_id))
    asked_of_fallback: list[str] = []

    def fallback_create(**kwargs):
        asked_of_fallback.append(kwargs["messages"][-1]["content"])
        return completion_from_text('{"answer": 1}', model="fallback")

    fallback = Backend(name="fallback", model="fallback", mode=instructor.Mode.JSON_SCHEMA, create=fallback_create)
    kept: list[tuple[str, str, str]] = []
    backend = make_replay_backend(
        None, answers=answers, model_id="rules", fallback=fallback, on_answer=lambda *a: kept.append(a)
    )
    asked = {"model": "rules", "messages": [{"role": "user", "content": "a question nobody asked"}]}
    first = backend.create(**asked)
    again = backend.create(**asked)  # now answered from the kept answer, not asked again
    assert first.choices[0].message.content == again.choices[0].message.content == '{"answer": 1}'
    assert asked_of_fallback == ["a question nobody asked"]
    assert kept == [(replay_key(request_for_log(asked)), '{"answer": 1}', "stop")]
    assert backend.parameters["stats"] == {"hits": 1, "misses": 0, "live": 1}
