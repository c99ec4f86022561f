"""Backends: where model calls go. All of them look like OpenAI's chat API.

Every backend exposes `create(**openai_kwargs) -> openai ChatCompletion`, so one
extraction path (instructor patched over that create) serves all of them:

- ``local`` / ``local/<key>``: the embedded GGUF model through llama-cpp-python,
  in process (`local.py`). Instructor's JSON_SCHEMA mode sends an OpenAI
  ``json_schema`` response_format, which llama-cpp-python ignores; this backend
  turns the schema into a llama.cpp grammar itself, so output is constrained
  token by token and cannot be anything but schema-shaped JSON.
- ``openai/<model>``: OpenAI (key from OPENAI_API_KEY or --api-key-env), or any
  OpenAI-compatible server (vLLM, Ollama, llama.cpp server) with --base-url
  (`openai_compat.py`).

Backends are looked up by name in a registry. Adding one is one factory
function registered with `register_backend(name, factory)`, from this package or
from a plugin module. Plugins are found two ways, both read once, on the first
lookup:

- installed packages that declare an entry point in the group
  ``conflict_events.backends`` (the entry point is a module or a callable that
  registers its backends when loaded);
- modules named in the environment variable ``CONFLICT_EVENTS_PLUGINS``
  (comma-separated), imported before the first lookup. The test suite registers
  its offline test double (``fake``) this way, through the same hook a real
  plugin uses.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from pipeline.backends.base import Backend
from pipeline.backends.local import make_local_backend
from pipeline.backends.model_files import DEFAULT_LOCAL_MODEL, LOCAL_MODELS
from pipeline.backends.openai_compat import make_openai_backend
from pipeline.errors import BackendError

PLUGINS_ENV = "CONFLICT_EVENTS_PLUGINS"
ENTRY_POINT_GROUP = "conflict_events.backends"

BackendFactory = Callable[..., Backend]

BACKENDS: dict[str, BackendFactory] = {
    "local": make_local_backend,
    "openai": make_openai_backend,
}
_plugins_loaded = False


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `--model NAME[/MODEL]` resolve to `factory(MODEL or None, **options)`."""
    if not name or "/" in name:
        raise ValueError(f"a backend name is one word without '/': {name!r}")
    BACKENDS[name] = factory


def load_plugins() -> None:
    """Import the backend plugins (entry points, then CONFLICT_EVENTS_PLUGINS), once per process."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()
        if callable(loaded):
            loaded(register_backend)
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BackendError(
                f"{PLUGINS_ENV} names {module!r}, which cannot be imported ({exc}); "
                f"fix the module path or unset {PLUGINS_ENV}"
            ) from exc


def get_backend(spec: str | None = None, **options: Any) -> Backend:
    """Resolve `--model`: "local", "local/<key>", "openai/<model>", a plugin's name, or a bare local key.

    With --base-url the model is on an OpenAI-compatible server: a bare name or
    a name with slashes ("qwen2.5:7b", "meta-llama/Llama-3.1-8B-Instruct") means
    openai/<name>, and "local" / "local/<key>" means that embedded model served
    by `serve-model` (same model id, json_schema mode like in process).
    """
    load_plugins()
    spec = (spec or "local").strip()
    name, _, model = spec.partition("/")
    if options.get("base_url"):
        if name == "local" or spec in LOCAL_MODELS:
            key = spec if spec in LOCAL_MODELS else (model or DEFAULT_LOCAL_MODEL)
            return make_openai_backend(
                key, **{"mode": "json_schema", **{k: v for k, v in options.items() if v is not None}}
            )
        if name not in BACKENDS:
            name, model = "openai", spec  # a compatible server's own model name
    if name not in BACKENDS:
        if spec in LOCAL_MODELS:
            name, model = "local", spec
        else:
            others = "".join(f", {n}" for n in BACKENDS if n not in ("local", "openai"))
            raise BackendError(
                f"unknown model {spec!r}: use local, local/<{'|'.join(LOCAL_MODELS)}>, openai/<model> "
                f"(with --base-url for an OpenAI-compatible server){others}"
            )
    return BACKENDS[name](model or None, **options)


__all__ = ["BACKENDS", "Backend", "BackendError", "get_backend", "load_plugins", "register_backend"]
