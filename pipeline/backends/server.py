"""serve-model: the embedded local model as an OpenAI-compatible server on 127.0.0.1.

One process loads the GGUF once; any number of pipeline runs, notebooks or
other tools on this machine then share it over HTTP:

    serve-model --port 8080
    run-pipeline articles/ --model local --base-url http://127.0.0.1:8080/v1

Endpoints: POST /v1/chat/completions (OpenAI request and response shapes;
`response_format` json_schema and forced `tools` calls are grammar-constrained
by llama.cpp, exactly like the in-process backend; `stream: true` is answered
as one chunk plus [DONE]), GET /v1/models, GET /health.

The model generates one answer at a time (requests queue on a lock), so
several clients share its throughput rather than multiply it. The server binds
to 127.0.0.1 only: it has no authentication.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai.types.chat import ChatCompletion

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MAX_BODY_BYTES = 8_000_000
# Request fields handed to the backend's create(); the rest (user, n=1, logprobs=false, ...) is ignored.
FORWARDED = (
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "seed",
    "response_format",
    "tools",
    "tool_choice",
    "repeat_penalty",
)


class ModelServer(ThreadingHTTPServer):
    """HTTP server around one `create(**openai_kwargs) -> ChatCompletion` function."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        create: Callable[..., ChatCompletion],
        model_id: str,
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ):
        self.create = create
        self.model_id = model_id
        self.created = int(time.time())
        self.log = log
        self.n_requests = 0
        self._count_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/v1"


def make_server(
    create: Callable[..., ChatCompletion], model_id: str, port: int = 0, log: Callable[[str], None] | None = None
) -> ModelServer:
    """Bind (not yet serve) a server on 127.0.0.1:port (0: any free port)."""
    return ModelServer(create, model_id, port=port, log=log)


def _error(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ModelServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log:
            self.server.log(f"{self.address_string()} {format % args}")

    # -- helpers ---------------------------------------------------------------
    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_stream(self, completion: dict[str, Any]) -> None:
        """A whole completion as server-sent events: one delta chunk, a finish chunk, [DONE]."""
        choice = completion["choices"][0]
        message = choice["message"]
        delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{**call, "index": i} for i, call in enumerate(message["tool_calls"])]
        base = {k: completion[k] for k in ("id", "created", "model")}
        chunks = [
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            },
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason") or "stop"}],
                "usage": completion.get("usage"),
            },
        ]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _model_entry(self) -> dict[str, Any]:
        return {"id": self.server.model_id, "object": "model", "created": self.server.created, "owned_by": "local"}

    # -- routes ------------------------------------------------------------------
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [self._model_entry()]})
        elif path in (f"/v1/models/{self.server.model_id}", f"/models/{self.server.model_id}"):
            self._send_json(200, self._model_entry())
        elif path in ("/health", "/v1/health", ""):
            self._send_json(200, {"status": "ok", "model": self.server.model_id})
        else:
            self._send_json(404, _error(f"no route GET {self.path}", "not_found_error"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(413 if length > 0 else 400, _error("missing, bad or oversized Content-Length"))
            return
        raw = self.rfile.read(length)
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._send_json(404, _error(f"no route POST {self.path}", "not_found_error"))
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            self._send_json(400, _error(f"request body is not JSON: {exc}"))
            return
        if not isinstance(body, dict):
            self._send_json(400, _error("request body must be a JSON object"))
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            self._send_json(
                400, _error("'messages' must be a non-empty list of message objects", code="invalid_messages")
            )
            return
        requested = body.get("model")
        if requested and requested not in (self.server.model_id, f"local/{self.server.model_id}"):
            # Like vLLM: a run must not record one model while another one answers.
            self._send_json(
                404,
                _error(
                    f"model {requested!r} is not served here; this server serves {self.server.model_id!r}",
                    code="model_not_found",
                ),
            )
            return
        if int(body.get("n") or 1) != 1:
            self._send_json(400, _error("only n=1 is supported", code="unsupported_parameter"))
            return
        kwargs = {k: body[k] for k in FORWARDED if body.get(k) is not None}
        with self.server._count_lock:
            self.server.n_requests += 1
        try:
            completion = self.server.create(**kwargs)
        except ValueError as exc:  # llama.cpp: prompt longer than the context window, bad grammar, ...
            code = "context_length_exceeded" if "context" in str(exc).lower() else None
            self._send_json(400, _error(str(exc), code=code))
            return
        except Exception as exc:
            self._send_json(500, _error(f"{type(exc).__name__}: {exc}", "server_error"))
            return
        payload = completion.model_dump(mode="json")
        payload["model"] = self.server.model_id
        timings = getattr(completion, "_timings", None)
        if timings:
            payload["timings"] = timings  # llama.cpp-server style extra: prefill vs generation seconds
        if body.get("stream"):
            self._send_stream(payload)
        else:
            self._send_json(200, payload)
