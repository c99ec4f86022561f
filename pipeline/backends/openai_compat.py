"""The `openai` backend: OpenAI, or any OpenAI-compatible server given `base_url`.

`MODES` are the ways instructor can ask for structured output (`--mode`). The
API key is read from the environment and never recorded; the client makes no
retries of its own, so every attempt goes through `CallLog` and is logged.

Several servers of one model (`base_urls`, several `--base-url`): each request
goes to the server with the fewest requests in flight. The run records them all
(`base_urls`); the response cache keys on the first (`base_url`), so an answer
is found again whichever server gave it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import instructor
from openai.types.chat import ChatCompletion

from pipeline.backends.base import Backend
from pipeline.backends.redact import register_secret
from pipeline.errors import BackendError

# ---------------------------------------------------------------------------
# openai and compatible servers
# ---------------------------------------------------------------------------

# How instructor asks for structured output (`--mode`); recorded with the run
# (runs.instructor_mode and parameters.mode). Pick what the server constrains:
#
#   json_schema  response_format={"type": "json_schema", ...}. OpenAI (default
#                there: strict structured outputs), vLLM (guided decoding),
#                llama.cpp server, Ollama >= 0.5, `serve-model`.
#   tools        one forced function call whose arguments are the JSON. Default
#                for --base-url servers: the most widely supported (vLLM with
#                a named tool_choice, llama.cpp server with --jinja, LM Studio,
#                `serve-model`).
#   json         response_format={"type": "json_object"} plus the schema in the
#                prompt: any server with a JSON mode but no schema support.
#   md_json      the schema in the prompt, JSON parsed out of the text: the
#                last resort for servers with no structured output at all.
#
# Whatever the mode, every answer is validated against the schema and re-asked
# on failure, so a weaker mode costs re-asks, not wrong rows.
MODES = {
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
DEFAULT_TIMEOUT_S = 120.0


def _public_url(url: str | None) -> str | None:
    """The base URL as recorded: without user:password@ and without query secrets."""
    if not url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def make_openai_backend(model: str | None, **options: Any) -> Backend:
    """OpenAI, or any OpenAI-compatible server with `base_url`.

    Options: base_url, base_urls (several servers of the same model: the load is
    spread over them; base_url defaults to the first), api_key_env (default OPENAI_API_KEY; the key is read
    from the environment and never recorded), mode (see MODES), timeout
    (seconds per request), no_seed (for servers that reject `seed`).
    Transport retries are not the client's (max_retries=0) but extract.CallLog's,
    so every attempt is logged.
    """
    from openai import OpenAI

    if not model:
        raise BackendError("name the model: --model openai/<model>, e.g. openai/gpt-4o-mini")
    base_urls = [u.strip() for u in options.get("base_urls") or [] if u and u.strip()]
    base_url = (options.get("base_url") or "").strip() or (base_urls[0] if base_urls else None)
    if base_url and base_url not in base_urls:
        base_urls.insert(0, base_url)
    key_env = options.get("api_key_env") or "OPENAI_API_KEY"
    api_key = os.environ.get(key_env)
    register_secret(api_key)
    if not api_key:
        if base_url:
            api_key = "not-needed"  # local servers accept any key
        else:
            raise BackendError(
                f"No key found - set {key_env} or pass --api-key-env NAME (or --base-url for a local server)"
            )
    mode_name = options.get("mode") or ("json_schema" if not base_url else "tools")
    if mode_name not in MODES:
        raise BackendError(f"unknown --mode {mode_name!r}; choose one of {', '.join(MODES)}")
    timeout = float(options.get("timeout") or DEFAULT_TIMEOUT_S)
    clients = [
        OpenAI(
            api_key=api_key,
            base_url=url,
            timeout=timeout,
            max_retries=0,  # transport retries are ours (tenacity), so every attempt is recorded
        )
        for url in (base_urls or [None])
    ]
    pick = _LeastBusy(len(clients))
    no_seed = bool(options.get("no_seed"))

    def create(**kwargs: Any) -> ChatCompletion:
        if no_seed:
            kwargs.pop("seed", None)
        index = pick.acquire()
        try:
            return clients[index].chat.completions.create(**kwargs)
        finally:
            pick.release(index)

    def close() -> None:
        for client in clients:
            client.close()

    parameters: dict[str, Any] = {
        "base_url": _public_url(base_url),
        "mode": mode_name,
        "temperature": 0.0,
        "api_key_env": key_env,  # the variable's name, never its value
        "timeout": timeout,
    }
    if len(base_urls) > 1:
        parameters["base_urls"] = [_public_url(u) for u in base_urls]

    return Backend(
        name="openai",
        model=model,
        mode=MODES[mode_name],
        create=create,
        parameters=parameters,
        close=close,
    )


class _LeastBusy:
    """Which of n servers gets the next request: the one with the fewest in flight (ties: round robin)."""

    def __init__(self, n: int):
        self.in_flight = [0] * n
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            n = len(self.in_flight)
            order = [(self._next + i) % n for i in range(n)]
            index = min(order, key=lambda i: self.in_flight[i])
            self.in_flight[index] += 1
            self._next = (index + 1) % n
            return index

    def release(self, index: int) -> None:
        with self._lock:
            self.in_flight[index] -= 1
