"""Meaning from the model, by narrow questions: how was the harm done, and who was hit.

The list call names each incident with an event code, and a 1.5B model's code
is often the wrong family (a roadside bomb as an air strike, gunmen shooting
villagers as a battle). Keyword rules over the sentence used to override it;
they are English-only and each was grown from a few sentences. Instead the
model answers two closed questions about each incident it listed
(`IncidentMeaning`: means, hit), asked over the same cached article
prefix so each answer costs only its new last line and a dozen decode steps,
and the event code follows from a decision table kept as data
(`pipeline/data/event_table.json`, written from the codebook's taxonomy).

The listed code stands where the table has nothing to say (means `other`, or
a family the row keeps), so the table settles the family and the list keeps
the detail it alone saw (a protest met by police, a territory change).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

from pipeline.extraction.answers import EVENT_CODES, IncidentMeaning
from pipeline.prompts import Prompt

MEANING_TOKENS = 40  # the longest answer is about 25 tokens


@lru_cache(maxsize=1)
def event_table() -> list[dict[str, Any]]:
    """The decision table's rows (pipeline/data/event_table.json), checked against the event codes."""
    text = resources.files("pipeline").joinpath("data/event_table.json").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = json.loads(text)["rows"]
    means = set(IncidentMeaning.model_fields["means"].annotation.__args__)  # type: ignore[union-attr]
    hits = set(IncidentMeaning.model_fields["hit"].annotation.__args__)  # type: ignore[union-attr]
    for row in rows:
        assert row["means"] in means, f"event_table.json: unknown means {row['means']!r}"
        assert set(row.get("hit", [])) <= hits, f"event_table.json: unknown hit in {row}"
        assert row["code"] in EVENT_CODES, f"event_table.json: unknown code {row['code']!r}"
    return rows


def family(code: str) -> str:
    """battle, explosion, violence, protest, riot or strategic: the event type's word each code starts with."""
    return code.split("_")[0]


def code_for(listed: str, meaning: IncidentMeaning, fatalities: int) -> str:
    """The event code the decision table gives for the model's answers, from the code it listed."""
    for row in event_table():
        if row["means"] != meaning.means:
            continue
        if "hit" in row and meaning.hit not in row["hit"]:
            continue
        if row.get("dead") and not fatalities:
            continue
        if family(listed) in row.get("keep_family", ()):
            return listed
        return str(row["code"])
    return listed


def question(prompt: Prompt, sentence: str, place: str | None) -> str | None:
    """The prompt's `meaning` question about one incident's sentence, or None when it has none."""
    if not prompt.has_section("meaning"):
        return None
    return prompt.section("meaning").replace("{sentence}", sentence).replace("{place}", place or "its place")


def ask_meaning(caller: Any, messages: list[dict[str, str]]) -> IncidentMeaning | None:
    """The model's answers about one incident (None when the answer failed: the listed code then stands,
    settled by the keyword rules)."""
    try:
        answer: IncidentMeaning = caller.ask(
            IncidentMeaning, messages, stage="meaning", max_tokens=MEANING_TOKENS, max_retries=0
        )
    except (InstructorRetryException, IncompleteOutputException):
        return None
    return answer
