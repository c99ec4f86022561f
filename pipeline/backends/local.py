"""The `local` backend: the embedded GGUF model, in process, through llama-cpp-python.

`LocalLlama` turns the requested JSON schema into a llama.cpp grammar, so the
answer is schema-shaped token by token (llama-cpp-python ignores OpenAI's
json_schema response_format). Loading takes seconds, so `LOADED_MODELS` keeps
one model per (key, context size) for the whole process.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import uuid
from typing import Any

import instructor
from openai.types.chat import ChatCompletion

from pipeline.backends.base import Backend, completion_from_text, schema_from_request
from pipeline.backends.model_files import DEFAULT_LOCAL_MODEL, LOCAL_MODELS, ensure_model_file
from pipeline.errors import BackendError

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
                "the embedded model needs llama-cpp-python: run `make setup`, or pip install 'llama-cpp-python==0.3.36'"
            ) from exc
        self._llama_cpp = llama_cpp
        self.key = key
        self.path = ensure_model_file(key)
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        # Greedy grammar-constrained picks check the grammar on a shortlist of
        # the best tokens before the whole vocabulary: same tokens, about a
        # third less generation time (see llama_sampling).
        from pipeline.backends.llama_sampling import make_llama_class

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


# One loaded model per (key, context size), shared by every backend object of this process.
LOADED_MODELS: dict[tuple[str, int], LocalLlama] = {}


@atexit.register
def _close_local_models() -> None:
    # Free llama.cpp contexts before interpreter teardown: llama-cpp-python's own
    # destructor runs too late there and prints a TypeError on exit.
    for llm in LOADED_MODELS.values():
        llm.close()
    LOADED_MODELS.clear()


def make_local_backend(model: str | None, **options: Any) -> Backend:
    key = model or DEFAULT_LOCAL_MODEL
    if key not in LOCAL_MODELS:
        raise BackendError(f"unknown local model {key!r}; choose one of: {', '.join(LOCAL_MODELS)}")
    n_ctx = int(options.get("n_ctx") or 4096)
    # Loading the model costs seconds; one process keeps one instance per model.
    if (key, n_ctx) not in LOADED_MODELS:
        LOADED_MODELS[(key, n_ctx)] = LocalLlama(key, n_ctx=n_ctx, n_threads=options.get("threads"))
    llm = LOADED_MODELS[(key, n_ctx)]
    return Backend(
        name="local",
        model=key,
        mode=instructor.Mode.JSON_SCHEMA,
        create=llm.create,
        parameters={"n_ctx": n_ctx, "n_threads": llm.n_threads, "temperature": 0.0, "seed": 0},
    )
