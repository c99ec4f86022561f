"""Extract: one article in, validated ConflictEvents out, every model call logged.

All model calls go through instructor patched over the backend's OpenAI-shaped
`create`. Two kinds of failure are kept apart:

- transport errors (rate limits, 5xx, timeouts, dropped connections) are
  retried here with tenacity (exponential backoff with jitter, honouring
  Retry-After), each attempt logged;
- validation errors (bad JSON, schema violations, evidence not in the text,
  a sub-type of the wrong type, a date after publication) go back to the model
  as an instructor re-ask carrying the error message, each attempt logged.

The extraction *design* is chosen by the prompt's `strategy`; see
`pipeline/extraction/staged.py` for the staged design and `extract_single` here for
the one-call baseline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import ValidationError

from pipeline.backends.base import Backend
from pipeline.backends.redact import redact
from pipeline.errors import ExtractionFailed
from pipeline.extraction.caller import CallLog, ModelCaller
from pipeline.extraction.peer import extract_peer
from pipeline.extraction.single import extract_single
from pipeline.extraction.staged import extract_staged
from pipeline.ingest import Article
from pipeline.prompts import Prompt
from schemas import ConflictEvent


@dataclass
class ExtractionResult:
    events: list[ConflictEvent]
    calls: list[dict[str, Any]]
    error: str | None = None
    first_try_valid: bool = True
    seconds: float = 0.0


def strategies() -> dict[str, Callable[[Article, Prompt, ModelCaller], list[ConflictEvent]]]:
    """Every extraction design, by the name a prompt's `strategy:` gives (see `pipeline.prompts`)."""
    return {"single": extract_single, "staged": extract_staged, "peer": extract_peer}


def extract_article(article: Article, prompt: Prompt, backend: Backend, run_id: str) -> ExtractionResult:
    """Run the prompt's strategy on one article. Never raises for model misbehaviour."""
    log = CallLog(run_id=run_id, article_id=article.article_id, backend=backend)
    caller = ModelCaller(backend=backend, log=log, settings=prompt.settings)
    table = strategies()
    if prompt.strategy not in table:
        raise ExtractionFailed(f"prompt {prompt.name!r} names unknown strategy {prompt.strategy!r}")
    t0 = time.perf_counter()
    error = None
    events: list[ConflictEvent] = []
    try:
        events = table[prompt.strategy](article, prompt, caller)
    except InstructorRetryException as exc:
        error = _retry_failure(exc)
    except IncompleteOutputException:
        error = "runaway generation: the model's output hit the token limit before the JSON closed"
    except Exception as exc:  # transport errors after retries, context overflow, ...
        error = f"{type(exc).__name__}: {_first_line(exc)}"
    # Whatever the strategy did, only events that pass the codebook checks are kept.
    events = [e for e in events if _revalidate(e, article) and not _rests_on_injection(e, article)]
    return ExtractionResult(
        events=events,
        calls=log.rows,
        error=redact(error) if error else None,
        first_try_valid=log.first_try_valid,
        seconds=time.perf_counter() - t0,
    )


def _revalidate(event: ConflictEvent, article: Article) -> bool:
    try:
        ConflictEvent.model_validate(event.model_dump(), context={"text": article.text, "published": article.published})
        return True
    except Exception:
        return False


def _retry_failure(exc: InstructorRetryException) -> str:
    """What went wrong in the last attempt, not instructor's '<failed_attempts>' dump."""
    n = getattr(exc, "n_attempts", "?")
    cause = exc.__cause__
    failed_attempts = getattr(exc, "failed_attempts", None)
    if cause is None and failed_attempts:
        cause = failed_attempts[-1].exception
    if isinstance(cause, ValidationError):
        errors = cause.errors(include_url=False)
        parts = []
        for e in errors[:3]:
            loc = ".".join(str(p) for p in e["loc"])
            msg = str(e["msg"]).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return f"model output failed validation after {n} attempts: {'; '.join(parts)}{more}"
    if isinstance(cause, json.JSONDecodeError):
        return f"model output failed validation after {n} attempts: invalid JSON: {cause}"
    if cause is not None:  # the backend raised: not the model's output at fault
        return f"{type(cause).__name__} after {n} attempts: {_first_line(cause)}"
    return f"model output failed after {n} attempts: {_first_line(exc)}"


def _rests_on_injection(event: ConflictEvent, article: Article) -> bool:
    """True when every evidence span lies inside text that ingest flagged as a prompt injection."""
    flagged = [(s["start"], s["end"]) for s in article.metadata.get("suspected_injection") or []]
    if not flagged:
        return False
    return all(
        o is not None and any(start <= o[0] and o[1] <= end for start, end in flagged)
        for o in event.evidence_offsets(article.text)
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]


def extract_text(
    text: str,
    published: date | str,
    *,
    model: str | Backend = "local",
    prompt: str | Prompt = "default",
    **backend_options: Any,
) -> list[ConflictEvent]:
    """Validated `ConflictEvent`s for one text: no folder, no database.

    `published` is the publication date ("2019-08-27" or a date) that relative
    dates ("on Monday") resolve against. `model` is a `--model` spec ("local",
    "openai/gpt-4o-mini", ...) or a backend from `get_backend`; `prompt` a prompt
    name or path, or a loaded `Prompt`. Backend options (`base_url`,
    `api_key_env`, `mode`) are passed to `get_backend`. Raises `ExtractionFailed`
    when the model's output fails validation after its retries, and the other
    `pipeline.errors` for a bad input, prompt or model.
    """
    from pipeline.backends import get_backend
    from pipeline.ingest import article_from_text
    from pipeline.prompts import load_prompt

    article = article_from_text(text, published)
    loaded = prompt if isinstance(prompt, Prompt) else load_prompt(prompt)
    backend = model if isinstance(model, Backend) else get_backend(model, **backend_options)
    result = extract_article(article, loaded, backend, run_id="extract_text")
    if result.error:
        raise ExtractionFailed(result.error)
    return result.events
