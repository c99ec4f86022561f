"""How a strategy asks the model: `ModelCaller.ask`, and `CallLog`, one article's calls.

instructor (over the backend's `create`) validates each answer against its
schema and re-asks on failure; transport errors worth retrying (`is_transient`)
are retried with a backoff that honours Retry-After. Every attempt becomes one
redacted `llm_calls` row; answers come from the response cache when it is on.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from instructor.core.hooks import Hooks
from openai.types.chat import ChatCompletion
from pydantic import BaseModel
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from pipeline.backends.base import Backend, request_for_log
from pipeline.backends.redact import redact
from pipeline.extraction import cache as response_cache
from pipeline.store.rows import utcnow

# instructor logs every failed attempt at ERROR level, unredacted (a server's error
# body can echo the API key), and with no logging configured Python prints it to
# stderr. Every attempt is already in llm_calls, redacted.
logging.getLogger("instructor").setLevel(logging.CRITICAL)

TRANSIENT_ERRORS = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
)
MAX_TRANSPORT_ATTEMPTS = 6
MAX_RETRY_AFTER_S = 60.0


def is_transient(exc: BaseException) -> bool:
    """Worth retrying as is: rate limits, server errors, timeouts, dropped connections."""
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, Retry-After seconds or HTTP date), capped."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    seconds: float | None = None
    try:
        if headers.get("retry-after-ms") is not None:
            seconds = float(headers["retry-after-ms"]) / 1000.0
        elif headers.get("retry-after") is not None:
            value = str(headers["retry-after"]).strip()
            try:
                seconds = float(value)
            except ValueError:
                from email.utils import parsedate_to_datetime

                seconds = parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds is None or seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class WaitHonouringRetryAfter:
    """Exponential backoff with full jitter, but never shorter than Retry-After."""

    def __init__(self, base: float = 0.5, cap: float = 20.0):
        self.jitter = wait_random_exponential(multiplier=base, max=cap)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after(exc)
        backoff = self.jitter(state)
        return max(backoff, hinted) if hinted is not None else backoff


@dataclass
class CallLog:
    """Collects one llm_calls row per attempt for one article."""

    run_id: str
    article_id: str | None
    backend: Backend
    stage: str = "extract"
    rows: list[dict[str, Any]] = field(default_factory=list)
    _attempt: int = 0
    _parse_errors: int = 0
    # When a server says "retry after N s", every worker of this process waits for
    # it before its next request to that model, not only the one that was told.
    _pause_until: ClassVar[dict[str, float]] = {}
    _pause_lock: ClassVar[threading.Lock] = threading.Lock()

    def new_request(self, stage: str) -> None:
        self.stage = stage
        self._attempt = 0

    def wrap(self, create: Callable[..., ChatCompletion]) -> Callable[..., ChatCompletion]:
        def logged_create(**kwargs: Any) -> ChatCompletion:
            retrying = Retrying(
                retry=retry_if_exception(is_transient),
                wait=WaitHonouringRetryAfter(),
                stop=stop_after_attempt(MAX_TRANSPORT_ATTEMPTS) | stop_after_delay(300),
                reraise=True,
            )
            for attempt in retrying:
                with attempt:
                    return self._one_call(create, kwargs)
            raise AssertionError("unreachable")  # pragma: no cover

        return logged_create

    def _wait_for_pause(self) -> None:
        with self._pause_lock:
            until = self._pause_until.get(self.backend.label, 0.0)
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, MAX_RETRY_AFTER_S))

    def _pause(self, seconds: float) -> None:
        with self._pause_lock:
            until = time.monotonic() + seconds
            if until > self._pause_until.get(self.backend.label, 0.0):
                self._pause_until[self.backend.label] = until

    def _one_call(self, create: Callable[..., ChatCompletion], kwargs: dict[str, Any]) -> ChatCompletion:
        self._attempt += 1
        row: dict[str, Any] = {
            "call_id": uuid.uuid4().hex,
            "run_id": self.run_id,
            "article_id": self.article_id,
            "stage": self.stage,
            "attempt": self._attempt,
            "started_at": utcnow(),
            "model": self.backend.model,
            "request": request_for_log(kwargs),
            "outcome": "ok",
        }
        # The response cache (pipeline/extraction/cache.py) is on when the runner made a session current.
        session = response_cache.current()
        key = session.key(self.backend, kwargs) if session is not None else None
        if session is not None and key is not None:
            cached = session.lookup(key)
            if cached is not None:
                row.update(latency_s=0.0, response=_response_text(cached), outcome="cached")
                self.rows.append(row)
                return cached
        self._wait_for_pause()
        row["started_at"] = utcnow()
        t0 = time.perf_counter()
        try:
            completion = create(**kwargs)
        except Exception as exc:
            hinted = _retry_after(exc) if is_transient(exc) else None
            if hinted:
                self._pause(hinted)
            row.update(
                latency_s=time.perf_counter() - t0,
                error=redact(f"{type(exc).__name__}: {exc}")[:2000],
                outcome="transport_error",
            )
            self.rows.append(row)
            raise
        row["latency_s"] = time.perf_counter() - t0
        row["response"] = _response_text(completion)
        usage = completion.usage
        if usage is not None:
            row["prompt_tokens"] = usage.prompt_tokens
            row["completion_tokens"] = usage.completion_tokens
        timings = getattr(completion, "_timings", None)
        if timings:
            row.update(prefill_s=timings.get("prefill_s"), generate_s=timings.get("generate_s"))
        if completion.choices and completion.choices[0].finish_reason == "length":
            row["error"] = "generation hit max_tokens (output truncated)"
            row["outcome"] = "truncated"
        if session is not None and key is not None:
            session.remember(key, completion, row)
        self.rows.append(row)
        return completion

    def on_parse_error(self, error: Exception) -> None:
        """Instructor hook: the last response failed validation and will be re-asked."""
        self._parse_errors += 1
        if self.rows:
            last = self.rows[-1]
            if last["outcome"] != "cached":  # a replayed answer stays 'cached'; the error is still noted
                last["outcome"] = "validation_error"
            message = redact(str(error))[:4000]
            last["error"] = f"{last['error']}; {message}" if last.get("error") else message

    @property
    def first_try_valid(self) -> bool:
        """True when no request of this article needed a re-ask."""
        return not self._parse_errors and not any(r["outcome"] in ("validation_error", "truncated") for r in self.rows)


def _response_text(completion: ChatCompletion) -> str:
    if not completion.choices:
        return ""
    message = completion.choices[0].message
    if message.tool_calls:
        # Only function tools are ever offered (forced tool calls), so the call has `.function`.
        return cast(Any, message.tool_calls[0]).function.arguments
    return message.content or ""


@dataclass
class ModelCaller:
    """What a strategy uses to ask the model for one typed answer."""

    backend: Backend
    log: CallLog
    settings: dict[str, Any]
    # instructor wraps the response model in a new class on every call (a pydantic
    # schema build and a JSON-schema generation, ~5 ms of CPU); wrapped once here,
    # it is reused, which matters when many articles run at once.
    _wrapped: ClassVar[dict[type, type]] = {}
    _wrapped_lock: ClassVar[threading.Lock] = threading.Lock()

    def ask(
        self,
        response_model: type[BaseModel],
        messages: list[dict[str, str]],
        *,
        stage: str,
        context: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        max_retries: int | None = None,
    ) -> BaseModel:
        self.log.new_request(stage)
        response_model = self._wrapped_model(response_model)
        if context:
            messages = [self._literal(m) for m in messages]
        create = instructor.patch(create=self.log.wrap(self.backend.create), mode=self.backend.mode)
        hooks = Hooks()
        hooks.on("parse:error", self.log.on_parse_error)
        try:
            return create(
                response_model=response_model,
                messages=messages,
                model=self.backend.model,
                context=context,
                max_retries=max_retries if max_retries is not None else int(self.settings.get("max_retries", 2)),
                hooks=hooks,
                max_tokens=max_tokens or int(self.settings.get("max_tokens", 1024)),
                temperature=0.0,
                seed=0,
            )
        except InstructorRetryException as exc:
            # Instructor wraps every error in its retry exception; a transport or API
            # error (after our own transport retries) is not a validation failure.
            if isinstance(exc.__cause__, openai.OpenAIError):
                raise exc.__cause__ from None
            raise

    @classmethod
    def _wrapped_model(cls, response_model: type[BaseModel]) -> type[BaseModel]:
        if not (isinstance(response_model, type) and issubclass(response_model, BaseModel)):
            return response_model
        if issubclass(response_model, instructor.ResponseSchema):
            return response_model
        with cls._wrapped_lock:
            wrapped = cls._wrapped.get(response_model)
            if wrapped is None:
                wrapped = cls._wrapped[response_model] = instructor.response_schema(response_model)
        return wrapped

    @staticmethod
    def _literal(message: dict[str, Any]) -> dict[str, Any]:
        """Protect a message from instructor's Jinja templating (applied whenever a context is
        passed): an article containing "{{ x }}" or "{% if %}" must reach the model verbatim,
        not be rendered or fail. Every "{" becomes an expression printing "{"."""
        content = message.get("content")
        if isinstance(content, str) and ("{{" in content or "{%" in content or "{#" in content):
            return {**message, "content": content.replace("{", "{{ '{' }}")}
        return message
