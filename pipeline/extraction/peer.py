"""The honest baseline: what a user writes first with a structured-output library and the same model.

One grammar-constrained call per article, the codebook (up to its gold-file
section) as the system prompt and the whole event list as the JSON schema, no
code-side rules: the design of the naive peer our reports compare against. Its
answers become `ConflictEvent`s with the fields the peer does not ask for filled
plainly (day precision, geo precision from whether a place is named, no end
date, no associated actors). Each answered event is validated on its own: an
event whose evidence is not in the article is dropped, the others are kept.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError

from pipeline.extraction.caller import ModelCaller
from pipeline.ingest import Article
from pipeline.prompts import Prompt
from schemas import ConflictEvent
from schemas.taxonomy import ActorType, EventType, SubEventType

PeerEventType = Literal[tuple(t.value for t in EventType)]  # type: ignore[valid-type]
PeerSubType = Literal[tuple(s.value for s in SubEventType)]  # type: ignore[valid-type]
PeerActorType = Literal[tuple(a.value for a in ActorType)]  # type: ignore[valid-type]
Short = Annotated[str, Field(max_length=80)]


class PeerActor(BaseModel):
    name: Short
    actor_type: PeerActorType  # type: ignore[valid-type]


class PeerEvent(BaseModel):
    event_date: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    event_type: PeerEventType  # type: ignore[valid-type]
    sub_event_type: PeerSubType  # type: ignore[valid-type]
    actor1: PeerActor
    actor2: PeerActor | None
    country: Short
    admin1: Short | None
    location: Short | None
    fatalities: Annotated[int, Field(ge=0, le=100000)]
    civilian_targeting: bool
    evidence: Annotated[list[Annotated[str, Field(max_length=300)]], Field(min_length=1, max_length=2)]


class PeerAnswer(BaseModel):
    events: Annotated[list[PeerEvent], Field(max_length=10)]


def extract_peer(article: Article, prompt: Prompt, caller: ModelCaller) -> list[ConflictEvent]:
    assert article.published is not None
    messages = [
        {"role": "system", "content": prompt.text},
        {"role": "user", "content": f"Published: {article.published.isoformat()}\n\n{article.text}"},
    ]
    answer = caller.ask(PeerAnswer, messages, stage="extract", max_tokens=int(prompt.settings.get("max_tokens", 1500)))
    events: list[ConflictEvent] = []
    for e in answer.events:  # type: ignore[attr-defined]
        try:
            events.append(
                ConflictEvent.model_validate(
                    {
                        **e.model_dump(),
                        "event_end_date": None,
                        "time_precision": 1,
                        "assoc_actors_1": [],
                        "assoc_actors_2": [],
                        "geo_precision": 1 if e.location else 3,
                        "source": "",
                        "notes": "",
                    },
                    context={"text": article.text, "published": article.published},
                )
            )
        except ValidationError:
            continue  # this event breaks the codebook (e.g. evidence not in the article); the others stand
    return events
