"""Backends: where model calls go. All of them look like OpenAI's chat API.

Every backend exposes `create(**openai_kwargs) -> openai ChatCompletion`, so one
extraction path (instructor patched over that create) serves all of them:

- ``local`` / ``local/<key>``: the embedded GGUF model through llama-cpp-python,
  in process. Instructor's JSON_SCHEMA mode sends an OpenAI ``json_schema``
  response_format, which llama-cpp-python ignores; this backend turns the
  schema into a llama.cpp grammar itself, so output is constrained token by
  token and cannot be anything but schema-shaped JSON.
- ``openai/<model>``: OpenAI (key from OPENAI_API_KEY or --api-key-env), or any
  OpenAI-compatible server (vLLM, Ollama, llama.cpp server) with --base-url.
- ``fake`` / ``fake/<name>``: deterministic, offline, for tests; registered and
  called exactly like the real ones.

Backends are looked up by name in `BACKENDS`, so adding one is one function.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import instructor
from openai.types.chat import ChatCompletion

from .models import DEFAULT_LOCAL_MODEL, LOCAL_MODELS, ensure_model_file


class BackendError(Exception):
    """A backend cannot be set up (missing key, missing model, bad name)."""


@dataclass
class Backend:
    name: str  # local | openai | fake
    model: str  # the model id recorded with every run
    mode: instructor.Mode
    create: Callable[..., ChatCompletion]
    parameters: dict[str, Any] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None

    @property
    def label(self) -> str:
        return f"{self.name}/{self.model}"


def completion_from_text(text: str, model: str, prompt_tokens: int = 0, completion_tokens: int = 0,
                         finish_reason: str = "stop", timings: dict[str, float] | None = None) -> ChatCompletion:
    """Build an OpenAI ChatCompletion around raw model text."""
    completion = ChatCompletion.model_validate(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish_reason,
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )
    if timings:
        # Extra, non-OpenAI detail (prefill vs generation seconds) for the call log.
        object.__setattr__(completion, "_timings", timings)
    return completion


def schema_from_request(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema an instructor request asks for, in JSON_SCHEMA or TOOLS mode."""
    fmt = kwargs.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["schema"]
    if fmt.get("type") == "json_object" and "schema" in fmt:
        return fmt["schema"]
    tools = kwargs.get("tools") or []
    if tools:
        return tools[0]["function"]["parameters"]
    return None


# ---------------------------------------------------------------------------
# local: llama-cpp-python
# ---------------------------------------------------------------------------

class LocalLlama:
    """In-process llama.cpp model with grammar-constrained JSON output.

    Keeps one Llama instance; llama.cpp reuses the evaluated prefix of the
    previous prompt, so prompts are built static part first, article last.
    A lock serialises calls: one context cannot serve two generations at once.
    """

    def __init__(self, key: str, n_ctx: int = 4096, n_threads: int | None = None, seed: int = 0):
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BackendError(
                "the embedded model needs llama-cpp-python: run `make setup`, or "
                "pip install 'llama-cpp-python==0.3.36'"
            ) from exc
        self._llama_cpp = llama_cpp
        self.key = key
        self.path = ensure_model_file(key)
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        # Greedy grammar-constrained picks check the grammar on a shortlist of
        # the best tokens before the whole vocabulary: same tokens, about a
        # third less generation time (see llama_sampling).
        from .llama_sampling import make_llama_class

        self.llm = make_llama_class(llama_cpp)(
            model_path=str(self.path),
            n_ctx=n_ctx,
            n_threads=self.n_threads,
            n_batch=512,
            seed=seed,
            verbose=False,
        )
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    def grammar_for(self, schema: dict[str, Any]) -> Any:
        # The grammar fixes the order the model writes the fields in, and that
        # order is part of the prompt design (anchor quote first, then type,
        # actors, place, numbers): build it from the schema as declared. Only
        # the cache key is order-independent.
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = self._llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return self._grammars[key]

    def _perf(self) -> tuple[float, float] | None:
        """(prefill ms, generation ms) since the last reset, from llama.cpp's counters."""
        try:
            data = self._llama_cpp.llama_perf_context(self.llm._ctx.ctx)
            return float(data.t_p_eval_ms), float(data.t_eval_ms)
        except Exception:  # counters are an optional extra; never fail a call over them
            return None

    def _perf_reset(self) -> None:
        try:
            self._llama_cpp.llama_perf_context_reset(self.llm._ctx.ctx)
        except Exception:
            pass

    def create(self, **kwargs: Any) -> ChatCompletion:
        schema = schema_from_request(kwargs)
        grammar = self.grammar_for(schema) if schema is not None else None
        messages = kwargs["messages"]
        with self._lock:
            self._perf_reset()
            result = self.llm.create_chat_completion(
                messages=messages,
                grammar=grammar,
                max_tokens=kwargs.get("max_tokens") or kwargs.get("max_completion_tokens") or 1024,
                temperature=kwargs.get("temperature", 0.0),
                top_p=kwargs.get("top_p", 1.0),
                seed=kwargs.get("seed", 0),
                repeat_penalty=kwargs.get("repeat_penalty", 1.0),
            )
            perf = self._perf()
        choice = result["choices"][0]
        text = choice["message"].get("content") or ""
        if kwargs.get("tools"):
            # TOOLS mode: hand the constrained JSON back as the forced tool call.
            name = kwargs["tools"][0]["function"]["name"]
            completion = ChatCompletion.model_validate(
                {
                    **{k: result[k] for k in ("id", "object", "created", "model")},
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": choice.get("finish_reason") or "stop",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": f"call_{uuid.uuid4().hex[:8]}",
                                        "type": "function",
                                        "function": {"name": name, "arguments": text},
                                    }
                                ],
                            },
                        }
                    ],
                    "usage": result.get("usage"),
                }
            )
            return completion
        usage = result.get("usage") or {}
        timings = {"prefill_s": perf[0] / 1000, "generate_s": perf[1] / 1000} if perf else None
        return completion_from_text(
            text,
            model=self.key,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=choice.get("finish_reason") or "stop",
            timings=timings,
        )

    def close(self) -> None:
        try:
            self.llm.close()
        except Exception:
            pass


_LOCAL_CACHE: dict[tuple[str, int], LocalLlama] = {}


@atexit.register
def _close_local_models() -> None:
    # Free llama.cpp contexts before interpreter teardown: llama-cpp-python's own
    # destructor runs too late there and prints a TypeError on exit.
    for llm in _LOCAL_CACHE.values():
        llm.close()
    _LOCAL_CACHE.clear()


def make_local_backend(model: str | None, **options: Any) -> Backend:
    key = model or DEFAULT_LOCAL_MODEL
    if key not in LOCAL_MODELS:
        raise BackendError(f"unknown local model {key!r}; choose one of: {', '.join(LOCAL_MODELS)}")
    n_ctx = int(options.get("n_ctx") or 4096)
    # Loading the model costs seconds; one process keeps one instance per model.
    if (key, n_ctx) not in _LOCAL_CACHE:
        _LOCAL_CACHE[(key, n_ctx)] = LocalLlama(key, n_ctx=n_ctx, n_threads=options.get("threads"))
    llm = _LOCAL_CACHE[(key, n_ctx)]
    return Backend(
        name="local",
        model=key,
        mode=instructor.Mode.JSON_SCHEMA,
        create=llm.create,
        parameters={"n_ctx": n_ctx, "n_threads": llm.n_threads, "temperature": 0.0, "seed": 0},
    )


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

    Options: base_url, api_key_env (default OPENAI_API_KEY; the key is read
    from the environment and never recorded), mode (see MODES), timeout
    (seconds per request), no_seed (for servers that reject `seed`).
    Transport retries are not the client's (max_retries=0) but extract.CallLog's,
    so every attempt is logged.
    """
    from openai import OpenAI

    if not model:
        raise BackendError("name the model: --model openai/<model>, e.g. openai/gpt-4o-mini")
    base_url = (options.get("base_url") or "").strip() or None
    key_env = options.get("api_key_env") or "OPENAI_API_KEY"
    api_key = os.environ.get(key_env)
    register_secret(api_key)
    if not api_key:
        if base_url:
            api_key = "not-needed"  # local servers accept any key
        else:
            raise BackendError(f"No key found - set {key_env} or pass --api-key-env NAME (or --base-url for a local server)")
    mode_name = options.get("mode") or ("json_schema" if not base_url else "tools")
    if mode_name not in MODES:
        raise BackendError(f"unknown --mode {mode_name!r}; choose one of {', '.join(MODES)}")
    timeout = float(options.get("timeout") or DEFAULT_TIMEOUT_S)
    client = OpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,  # transport retries are ours (tenacity), so every attempt is recorded
    )
    no_seed = bool(options.get("no_seed"))

    def create(**kwargs: Any) -> ChatCompletion:
        if no_seed:
            kwargs.pop("seed", None)
        return client.chat.completions.create(**kwargs)

    return Backend(
        name="openai",
        model=model,
        mode=MODES[mode_name],
        create=create,
        parameters={
            "base_url": _public_url(base_url),
            "mode": mode_name,
            "temperature": 0.0,
            "api_key_env": key_env,  # the variable's name, never its value
            "timeout": timeout,
        },
        close=client.close,
    )


# ---------------------------------------------------------------------------
# fake: offline and deterministic
# ---------------------------------------------------------------------------

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
                from .fake_rules import answer

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


BACKENDS: dict[str, Callable[..., Backend]] = {
    "local": make_local_backend,
    "openai": make_openai_backend,
    "fake": make_fake_backend,
}


def get_backend(spec: str | None = None, **options: Any) -> Backend:
    """Resolve `--model`: "local", "local/<key>", "openai/<model>", "fake", or a bare local key.

    With --base-url the model is on an OpenAI-compatible server: a bare name or
    a name with slashes ("qwen2.5:7b", "meta-llama/Llama-3.1-8B-Instruct") means
    openai/<name>, and "local" / "local/<key>" means that embedded model served
    by `serve-model` (same model id, json_schema mode like in process).
    """
    spec = (spec or "local").strip()
    name, _, model = spec.partition("/")
    if options.get("base_url"):
        if name == "local" or spec in LOCAL_MODELS:
            key = spec if spec in LOCAL_MODELS else (model or DEFAULT_LOCAL_MODEL)
            return make_openai_backend(key, **{"mode": "json_schema", **{k: v for k, v in options.items() if v is not None}})
        if name not in BACKENDS:
            name, model = "openai", spec  # a compatible server's own model name
    if name not in BACKENDS:
        if spec in LOCAL_MODELS:
            name, model = "local", spec
        else:
            raise BackendError(
                f"unknown model {spec!r}: use local, local/<{'|'.join(LOCAL_MODELS)}>, openai/<model> "
                "(with --base-url for an OpenAI-compatible server), or fake"
            )
    return BACKENDS[name](model or None, **options)


_SECRET_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{8,})")
# Key values this process has read (whatever their shape): masked wherever they appear.
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 8:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Mask the keys in use, and anything that looks like an API key, before it is stored or shown."""
    text = _SECRET_PATTERN.sub("sk-***", text)
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text
