"""The `fake` backend: an offline, deterministic test double, registered as a plugin.

It is not part of the product. The tests register it through the same hook a
real backend plugin uses (`pipeline.backends.register_backend`, found through
the CONFLICT_EVENTS_PLUGINS environment variable that `tests/conftest.py` sets),
so `--model fake` works in-process and in the CLI subprocesses the tests start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import instructor
from openai.types.chat import ChatCompletion

from pipeline.backends import register_backend
from pipeline.backends.base import Backend, completion_from_text
from tests.support.fake_rules import answer


class FakeModel:
    """A stand-in model for tests.

    With `responses`, it returns them in order (strings are sent as they are,
    so tests can feed invalid JSON or schema violations). Without, it answers
    every request by a fixed rule from the request itself (see `fake_rules`).
    """

    def __init__(self, responses: list[str | Exception] | None = None, rule: Callable[[dict], str] | None = None):
        self.responses = list(responses or [])
        self.rule = rule
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def create(self, **kwargs: Any) -> ChatCompletion:
        with self._lock:
            self.requests.append(kwargs)
            if self.responses:
                item = self.responses.pop(0)
            elif self.rule is not None:
                item = self.rule(kwargs)
            else:
                item = answer(kwargs)
        if isinstance(item, Exception):
            raise item
        words = sum(len(str(m.get("content", "")).split()) for m in kwargs.get("messages", []))
        return completion_from_text(item, model="fake", prompt_tokens=words, completion_tokens=len(item.split()))


def make_fake_backend(model: str | None, **options: Any) -> Backend:
    fake = options.get("fake") or FakeModel()
    return Backend(
        name="fake",
        model=model or "rules",
        mode=instructor.Mode.JSON_SCHEMA,
        create=fake.create,
        parameters={"temperature": 0.0},
    )


register_backend("fake", make_fake_backend)
