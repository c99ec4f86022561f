"""Response cache: never pay twice for the same model call.

Every completed model response is kept in the DuckDB table `llm_cache`, keyed
by a hash of everything that decides the answer:

- the model (backend label, e.g. ``openai/gpt-4o-mini``) and the server
  (base URL, instructor mode, backend parameters);
- the messages: the prompt (system message, hashed again as ``prompt_hash``),
  the article text (the ``article_id`` is the hash of the normalised text),
  and, for an instructor re-ask, the failed answer and the error it got;
- the response schema (``schema_hash``: response_format / tools / tool_choice);
- the generation parameters (temperature, max_tokens, seed, ...).

Change any of them (edit the prompt, the schema, max_tokens, the model) and
the key changes, so a stale answer is never served. Rerunning an unchanged run
replays every answer from the cache - including answers that failed validation,
so instructor's re-asks replay too - and makes zero model calls. Cached calls
are still logged in `llm_calls`, with outcome 'cached' and no tokens (nothing
was paid for them).

Threading: DuckDB has one writer, and the pipeline writes only from its main
thread. So worker threads never touch the database: the runner loads a
read-only *snapshot* of the relevant entries at run start, each article's
extraction runs inside a `CacheSession` (made current through a context
variable that `extract.CallLog` consults), and the session's new entries travel
back to the main thread with the article's result and are written in the same
transaction as the article's calls and events.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai.types.chat import ChatCompletion

from pipeline.backends.redact import redact

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.backends.base import Backend

# Request keys that do not change the answer (transport details) or that are
# hashed separately (messages, schema).
_NOT_PARAMETERS = {
    "messages",
    "response_format",
    "tools",
    "tool_choice",
    "extra_headers",
    "extra_query",
    "timeout",
    "stream",
    "model",
    "user",
}
_SCHEMA_KEYS = ("response_format", "tools", "tool_choice")
# Backend parameters that do not change the answer.
# base_urls: several servers of one model answer alike; the key keeps the first (base_url).
_NOT_BACKEND_PARAMETERS = {"n_threads", "timeout", "api_key_env", "base_urls"}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha(value: Any) -> str:
    return hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheKey:
    key: str
    model: str
    prompt_hash: str
    schema_hash: str
    params_hash: str
    parameters: dict[str, Any]


def request_key(backend: Backend, kwargs: Mapping[str, Any]) -> CacheKey:
    """The cache key of one request to one backend."""
    messages = list(kwargs.get("messages") or [])
    system = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "system"]
    parameters = {k: v for k, v in kwargs.items() if k not in _NOT_PARAMETERS}
    parameters["request_model"] = kwargs.get("model")
    parameters["mode"] = backend.mode.value
    parameters["backend"] = {k: v for k, v in sorted(backend.parameters.items()) if k not in _NOT_BACKEND_PARAMETERS}
    parameters = json.loads(redact(_canonical(parameters)))
    prompt_hash = _sha(system)
    schema_hash = _sha({k: kwargs.get(k) for k in _SCHEMA_KEYS})
    params_hash = _sha(parameters)
    key = _sha(
        {
            "model": backend.label,
            "prompt": prompt_hash,
            "schema": schema_hash,
            "params": params_hash,
            "messages": _sha(messages),
        }
    )
    return CacheKey(key, backend.label, prompt_hash, schema_hash, params_hash, parameters)


@dataclass
class CacheSession:
    """One article's view of the cache: a shared read-only snapshot plus its own new entries."""

    snapshot: Mapping[str, str]
    article_id: str | None = None
    run_id: str | None = None
    new_entries: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0
    _own: dict[str, str] = field(default_factory=dict)

    def key(self, backend: Backend, kwargs: Mapping[str, Any]) -> CacheKey:
        return request_key(backend, kwargs)

    def lookup(self, key: CacheKey) -> ChatCompletion | None:
        text = self._own.get(key.key) or self.snapshot.get(key.key)
        if text is None:
            return None
        try:
            completion = ChatCompletion.model_validate_json(text)
        except Exception:  # an unreadable entry is a miss, never a failure
            return None
        self.hits += 1
        return completion

    def remember(self, key: CacheKey, completion: ChatCompletion, call_row: Mapping[str, Any]) -> None:
        text = completion.model_dump_json()
        self._own[key.key] = text
        usage = completion.usage
        self.new_entries.append(
            {
                "cache_key": key.key,
                "model": key.model,
                "article_id": call_row.get("article_id") or self.article_id,
                "stage": call_row.get("stage"),
                "prompt_hash": key.prompt_hash,
                "schema_hash": key.schema_hash,
                "params_hash": key.params_hash,
                "parameters": _canonical(key.parameters),
                "completion": text,
                "prompt_tokens": usage.prompt_tokens if usage else None,
                "completion_tokens": usage.completion_tokens if usage else None,
                "run_id": call_row.get("run_id") or self.run_id,
                "call_id": call_row.get("call_id"),
                "created_at": call_row.get("started_at"),
            }
        )


_CURRENT: contextvars.ContextVar[CacheSession | None] = contextvars.ContextVar("response_cache", default=None)


def current() -> CacheSession | None:
    """The cache session of the article being extracted in this thread, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def activate(session: CacheSession | None) -> Iterator[CacheSession | None]:
    """Make `session` the current one in this thread (None: no caching)."""
    token = _CURRENT.set(session)
    try:
        yield session
    finally:
        _CURRENT.reset(token)
