"""Split from pipeline.extract.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar
import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.core.hooks import Hooks
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from schemas import ArticleEvents, ConflictEvent
from pipeline.extraction import cache as response_cache
from pipeline.backends.base import Backend
from pipeline.backends.redact import redact
from pipeline.ingest import Article
from pipeline.prompts import Prompt
from pipeline.store.rows import utcnow
from pipeline.extraction.caller import ModelCaller



def weekday_line(published: date) -> str:
    return f"{published.isoformat()} ({published.strftime('%A')})"


def extract_single(article: Article, prompt: Prompt, caller: ModelCaller) -> list[ConflictEvent]:
    """The baseline design: one constrained call returns every event of the article."""
    assert article.published is not None
    messages = [
        {"role": "system", "content": prompt.text},
        {
            "role": "user",
            "content": f"Publication date: {weekday_line(article.published)}\n\nArticle:\n{article.text}",
        },
    ]
    result = caller.ask(
        ArticleEvents,
        messages,
        stage="extract",
        context={"text": article.text, "published": article.published},
    )
    return list(result.events)  # type: ignore[attr-defined]
