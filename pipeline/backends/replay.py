"""replay: answer every request with the response a logged run gave to the same request.

No model is loaded or called. Each `llm_calls` row keeps the request as sent
(`request_for_log`) and the raw response, so re-running the extraction code over
a run's articles with this backend reproduces that run exactly, unless the code
now asks something it did not ask then. That makes two checks cheap:

- a behaviour-neutral change (a refactoring) must give identical events;
- an ablation (a code rule switched off) changes only what the code does with
  the same answers.

A request the run never made raises `ReplayMiss`, so the article fails with a
reason naming it instead of silently getting another answer, unless a
`fallback` backend is given: then the miss is asked of that backend (the real
model) and its answer joins the answers, so a code change that adds a question
costs only the new questions, not a whole run (`benchmarks/sets_report.py --live`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import instructor
from openai.types.chat import ChatCompletion

from pipeline.backends.base import Backend, completion_from_text, request_for_log
from pipeline.errors import BackendError


class ReplayMiss(RuntimeError):
    """The code asked something the replayed run never asked."""


def replay_key(request: Mapping[str, Any]) -> str:
    """A stable key for one logged request (the dict `request_for_log` returns)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def logged_answers(calls: Iterable[tuple[Mapping[str, Any], str, str]]) -> dict[str, tuple[str, str]]:
    """replay_key(request) -> (raw response, finish reason), from the logged calls of a run
    (`pipeline.store.replay.logged_calls`); of two calls with the same request the later one wins."""
    return {replay_key(request): (response, finish_reason) for request, response, finish_reason in calls}


def make_replay_backend(model: str | None, **options: Any) -> Backend:
    """Options: `answers` (replay_key -> (raw response, finish reason), from `logged_answers`),
    `model_id` (the replayed run's model id, recorded as this backend's model), `mode` (its instructor mode),
    `fallback` (a Backend that answers the requests the run never made; without it a miss raises
    `ReplayMiss`) and `on_answer` (called with (key, response, finish reason) for each fallback answer)."""
    answers: Mapping[str, tuple[str, str]] | None = options.get("answers")
    if answers is None:
        raise BackendError("the replay backend needs the logged answers of a run (see benchmarks/replay.py)")
    model_id = str(options.get("model_id") or model or "replay")
    fallback: Backend | None = options.get("fallback")
    on_answer = options.get("on_answer")
    stats = {"hits": 0, "misses": 0, "live": 0}

    def create(**kwargs: Any) -> ChatCompletion:
        key = replay_key(request_for_log(kwargs))
        if key not in answers and fallback is not None:
            completion = fallback.create(**kwargs)
            choice = completion.choices[0]
            text, finish = choice.message.content or "", str(choice.finish_reason or "stop")
            stats["live"] += 1
            if isinstance(answers, dict):
                answers[key] = (text, finish)
            if on_answer is not None:
                on_answer(key, text, finish)
            return completion
        if key not in answers:
            stats["misses"] += 1
            last = str((kwargs.get("messages") or [{}])[-1].get("content", ""))[-160:]
            raise ReplayMiss(f"no logged answer for this request (its last line: {last!r})")
        stats["hits"] += 1
        text, finish_reason = answers[key]
        return completion_from_text(text, model=model_id, finish_reason=finish_reason)

    mode = options.get("mode") or instructor.Mode.JSON_SCHEMA
    return Backend(
        name="replay",
        model=model_id,
        mode=mode if isinstance(mode, instructor.Mode) else instructor.Mode(mode),
        create=create,
        parameters={"replayed_run": options.get("run_id"), "stats": stats},
    )
