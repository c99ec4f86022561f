"""The one-call design: a single constrained answer holds every event of an article.

The system prompt is the prompt's text; the user message gives the publication
date with its weekday (for relative dates) and the article. It is the baseline
the staged design is measured against.
"""

from __future__ import annotations

from datetime import date

from pipeline.extraction.caller import ModelCaller
from pipeline.ingest import Article
from pipeline.prompts import Prompt
from schemas import ArticleEvents, ConflictEvent


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
