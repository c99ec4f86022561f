"""What every backend is, and the helpers backends share.

`Backend` is what the pipeline sees of one (name, recorded model id, instructor
mode, an OpenAI-style `create`). `completion_from_text` wraps raw model text as
a ChatCompletion, `schema_from_request` reads the JSON schema an instructor
request asks for, and `request_for_log` is the redacted request `llm_calls` stores.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import instructor
from openai.types.chat import ChatCompletion

from pipeline.backends.redact import redact


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


def completion_from_text(
    text: str,
    model: str,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    finish_reason: str = "stop",
    timings: dict[str, float] | None = None,
) -> ChatCompletion:
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


def request_for_log(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request as `llm_calls.request` stores it: messages and settings, never credentials or the schema."""
    keep = {k: v for k, v in kwargs.items() if k not in ("response_format", "tools", "tool_choice", "extra_headers")}
    if "response_format" in kwargs or "tools" in kwargs:
        keep["schema"] = "response_model"  # the schema is stored once per run, not per call
    return json.loads(redact(json.dumps(keep, default=str)))
