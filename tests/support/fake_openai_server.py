"""An OpenAI-compatible fake server for tests and benchmarks: real HTTP on 127.0.0.1.

It answers POST /v1/chat/completions with what `tests.support.fake_rules.answer`
computes from the request (as a tool call in TOOLS mode, as message content
otherwise), after `latency` seconds, unless a failure is injected:

    429                 Too Many Requests with a Retry-After header
    500                 Internal Server Error
    timeout             sleeps `timeout_sleep` seconds before answering (set the client timeout lower)
    disconnect          closes the connection without answering
    malformed_json      200 with model output that is not valid JSON
    schema_violation    200 with valid JSON that breaks the schema
    echo_auth           401 whose message quotes the Authorization header (a careless
                        server: the key must still never reach the database)

Failures come from a script (`fail_next([...])`: the next requests, in
arrival order) or at random (`failure_rate`, `failure_kinds`). Random failures
are deterministic for a `seed`: whether a request fails depends only on the
seed, the request body and how many times that same body was seen before, not
on thread timing. GET /v1/models lists the model; GET /_stats returns counters.

In process::

    with FakeOpenAIServer(latency=0.3) as server:
        backend = get_backend("openai/fake-model", base_url=server.url)

As a process (benchmarks: keeps the server off the pipeline's GIL)::

    python -m tests.support.fake_openai_server --latency 0.3 --failure-rate 0.1 --kinds 429,500
    # prints "LISTENING http://127.0.0.1:PORT/v1", serves until killed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once with --jobs


FAILURE_KINDS = ("429", "500", "timeout", "disconnect", "malformed_json", "schema_violation", "echo_auth")


def _schema_title(request: dict[str, Any]) -> str | None:
    """The response schema's name, whatever instructor mode the request uses."""
    tools = request.get("tools") or []
    if tools:
        return tools[0].get("function", {}).get("name")
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        js = fmt.get("json_schema") or {}
        return js.get("name") or (js.get("schema") or {}).get("title")
    # JSON / MD_JSON modes: the schema is in the system message.
    for message in request.get("messages", []):
        content = str(message.get("content") or "")
        start = content.find("{")
        while start != -1:
            try:
                schema, _ = json.JSONDecoder().raw_decode(content[start:])
            except ValueError:
                start = content.find("{", start + 1)
                continue
            if isinstance(schema, dict) and "properties" in schema:
                return schema.get("title")
            start = content.find("{", start + 1)
    return None


def _normalised(request: dict[str, Any]) -> dict[str, Any]:
    """The request as tests.support.fake_rules expects it: a json_schema response_format with a name."""
    title = _schema_title(request)
    out = dict(request)
    if title and not (request.get("response_format") or {}).get("type") == "json_schema":
        out.pop("tools", None)
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": title, "schema": {"title": title}}}
    return out


def _answer(request: dict[str, Any]) -> str:
    from tests.support.fake_rules import answer

    return answer(_normalised(request))


def _schema_violation(text: str) -> str:
    """Valid JSON that breaks the schema: an unknown event type, or a wrongly typed list."""
    try:
        data = json.loads(text)
    except ValueError:
        return json.dumps({"events": "not a list"})
    if isinstance(data, dict) and isinstance(data.get("events"), list) and data["events"]:
        data["events"][0]["event_type"] = "Picnic"
        return json.dumps(data)
    if isinstance(data, dict) and data:
        return json.dumps({k: {"unexpected": True} for k in data})
    return json.dumps({"events": "not a list"})


class FakeOpenAIServer:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        failure_kinds: tuple[str, ...] | list[str] = ("429", "500"),
        seed: int = 0,
        retry_after: float = 1.0,
        timeout_sleep: float = 3.0,
        model: str = "fake-model",
        port: int = 0,
    ):
        unknown = set(failure_kinds) - set(FAILURE_KINDS)
        if unknown:
            raise ValueError(f"unknown failure kinds {sorted(unknown)}; choose from {FAILURE_KINDS}")
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        self.seed = seed
        self.retry_after = retry_after
        self.timeout_sleep = timeout_sleep
        self.model = model
        self.script: list[str | None] = []
        self.stats: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []  # bodies, in arrival order
        self.headers: list[dict[str, str]] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- failures ------------------------------------------------------------
    def fail_next(self, kinds: list[str | None]) -> None:
        """The next len(kinds) chat requests fail with these kinds (None: answer normally)."""
        for kind in kinds:
            if kind is not None and kind not in FAILURE_KINDS:
                raise ValueError(kind)
        with self._lock:
            self.script.extend(kinds)

    def _choose_failure(self, body: bytes) -> str | None:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            if not self.failure_rate or not self.failure_kinds:
                return None
            digest = hashlib.sha256(body).hexdigest()
            nth = self._seen[digest]
            self._seen[digest] += 1
        rng = random.Random(f"{self.seed}:{digest}:{nth}")
        if rng.random() < self.failure_rate:
            return rng.choice(self.failure_kinds)
        return None

    # -- answers ---------------------------------------------------------------
    def completion(self, request: dict[str, Any], text: str) -> dict[str, Any]:
        words_in = sum(len(str(m.get("content") or "").split()) for m in request.get("messages", []))
        words_out = len(text.split())
        if request.get("tools"):
            name = request["tools"][0]["function"]["name"]
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{uuid.uuid4().hex[:8]}",
                        "type": "function",
                        "function": {"name": name, "arguments": text},
                    }
                ],
            }
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": text}
            finish = "stop"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": words_in, "completion_tokens": words_out, "total_tokens": words_in + words_out},
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(
                        200, {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "fake"}]}
                    )
                elif self.path.rstrip("/") == "/_stats":
                    with server._lock:
                        self._send(200, dict(server.stats))
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                try:
                    request = json.loads(body)
                except ValueError:
                    self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                    return
                kind = server._choose_failure(body)
                with server._lock:
                    server.requests.append(request)
                    server.headers.append(dict(self.headers.items()))
                    server.stats["requests"] += 1
                    server.stats[kind or "ok"] += 1
                if server.latency:
                    time.sleep(server.latency)
                if kind == "429":
                    self._send(
                        429,
                        {
                            "error": {
                                "message": "Rate limit reached (fake)",
                                "type": "rate_limit_exceeded",
                                "code": "rate_limit_exceeded",
                            }
                        },
                        {"Retry-After": f"{server.retry_after:g}"},
                    )
                    return
                if kind == "echo_auth":
                    self._send(
                        401,
                        {
                            "error": {
                                "message": f"Incorrect API key: {self.headers.get('Authorization')}",
                                "type": "invalid_request_error",
                                "code": "invalid_api_key",
                            }
                        },
                    )
                    return
                if kind == "500":
                    self._send(500, {"error": {"message": "The server had an error (fake)", "type": "server_error"}})
                    return
                if kind == "timeout":
                    time.sleep(server.timeout_sleep)
                elif kind == "disconnect":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                try:
                    text = _answer(request)
                except Exception as exc:  # a request the rules cannot answer
                    self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
                    return
                if kind == "malformed_json":
                    text = text[: max(1, len(text) // 2)] + ' "unterminated'
                elif kind == "schema_violation":
                    text = _schema_violation(text)
                self._send(200, server.completion(request, text))

        return Handler


def write_corpus(folder: Any, n: int, sources: Any = None) -> list[str]:
    """Write n distinct articles (seed articles, each with a numbered dispatch line) and published.json.

    The added line has no event keywords, so the fake rules extract the same
    events from every copy of a seed; the texts differ, so every file is its
    own article (no duplicate skipping).
    """
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources = Path(sources) if sources else Path(__file__).resolve().parents[2] / "seeds"
    dates = json.loads((sources / "published.json").read_text())
    bases = sorted(sources.glob("*.txt"))
    published = {}
    names = []
    for i in range(n):
        base = bases[i % len(bases)]
        name = f"{i:04d}_{base.stem}.txt"
        (folder / name).write_text(base.read_text() + f"\n\nDispatch number {i} of the wire service.\n")
        published[name] = dates[base.name]
        names.append(name)
    (folder / "published.json").write_text(json.dumps(published, indent=1))
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--kinds", default="429,500")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    args = parser.parse_args(argv)
    kinds = [k for k in re.split(r"[,\s]+", args.kinds) if k]
    server = FakeOpenAIServer(
        latency=args.latency,
        failure_rate=args.failure_rate,
        failure_kinds=kinds,
        seed=args.seed,
        retry_after=args.retry_after,
        port=args.port,
    )
    print(f"LISTENING {server.url}", flush=True)
    try:
        server._httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    main()
