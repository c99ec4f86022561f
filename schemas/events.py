"""Pydantic models of the codebook: Actor, ConflictEvent and the per-article result.

Validators that need the article (evidence grounding, dates against the
publication day) read it from the pydantic validation context:
``{"text": <article text>, "published": <date>}``. Instructor passes that
context on every attempt, so a failed check goes back to the model as a re-ask
with the error message below.

Every list and string is bounded: a small model given an unbounded string
field will happily run to the token limit and break the JSON.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from .grounding import clean_quote, find_span
from .taxonomy import EVENT_TYPE_OF, ActorType, EventType, SubEventType

# Dates travel as plain strings with a [0-9] pattern: grammar converters for
# local models handle this form (a \d pattern crashed one of them).
IsoDate = Annotated[
    date,
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
]

MAX_EVENTS_PER_ARTICLE = 12
MAX_EVIDENCE_SPANS = 3
MAX_SPAN_CHARS = 400
MAX_NAME_CHARS = 80
MAX_NOTES_CHARS = 300

# One day of slack after publication: wire stories are dated in one time zone
# and may describe the evening of "today" elsewhere.
PUBLICATION_SLACK = timedelta(days=1)

ShortName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortName = Field(
        description='Specific group if named ("Hayat Tahrir al-Sham"), else a generic name '
        '("Military Forces of Syria", "Rebel groups", "Civilians", "Protesters").'
    )
    actor_type: ActorType


class ConflictEvent(BaseModel):
    """One event: one type of violence or demonstration, same actors, one place, one day."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)
    # Names of the extractor's code rules that changed this event's fields (provenance, not a
    # codebook field: never in the JSON schema a model is asked to fill).
    _rules: list[str] = PrivateAttr(default_factory=list)

    event_date: IsoDate = Field(description="Day the event happened, YYYY-MM-DD.")
    event_end_date: IsoDate | None = Field(
        default=None, description="Last day of a multi-day span with one toll, else null."
    )
    time_precision: int = Field(ge=1, le=3, description="1 day known, 2 within a week, 3 month or vaguer.")
    event_type: EventType
    sub_event_type: SubEventType
    actor1: Actor
    assoc_actors_1: list[ShortName] = Field(default_factory=list, max_length=4)
    actor2: Actor | None = None
    assoc_actors_2: list[ShortName] = Field(default_factory=list, max_length=4)
    country: ShortName
    admin1: Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None = None
    location: Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None = None
    geo_precision: int = Field(ge=1, le=3)
    # Filled by geocoding only; hidden from the model's schema so it cannot invent them.
    latitude: SkipJsonSchema[float | None] = None
    longitude: SkipJsonSchema[float | None] = None
    fatalities: int = Field(ge=0, le=100_000)
    civilian_targeting: bool
    source: Annotated[str, Field(max_length=120)] = ""
    notes: Annotated[str, Field(max_length=MAX_NOTES_CHARS)] = ""
    evidence: list[Annotated[str, Field(min_length=3, max_length=MAX_SPAN_CHARS)]] = Field(
        min_length=1,
        max_length=MAX_EVIDENCE_SPANS,
        description="Exact spans copied from the article that support the event.",
    )

    @model_validator(mode="after")
    def _sub_type_belongs_to_type(self) -> ConflictEvent:
        expected = EVENT_TYPE_OF[SubEventType(self.sub_event_type)]
        if expected != EventType(self.event_type):
            raise ValueError(
                f"sub_event_type {self.sub_event_type.value!r} belongs to event_type "
                f"{expected.value!r}, not {EventType(self.event_type).value!r}"
            )
        return self

    @model_validator(mode="after")
    def _dates_are_consistent(self, info: ValidationInfo) -> ConflictEvent:
        if self.event_end_date is not None and self.event_end_date < self.event_date:
            raise ValueError("event_end_date is before event_date")
        published = (info.context or {}).get("published")
        if published is not None:
            if isinstance(published, str):
                published = date.fromisoformat(published)
            latest = published + PUBLICATION_SLACK
            for name in ("event_date", "event_end_date"):
                value = getattr(self, name)
                if value is not None and value > latest:
                    raise ValueError(
                        f"{name} {value.isoformat()} is after the article's publication date "
                        f"{published.isoformat()}; events cannot happen after they are reported"
                    )
        return self

    @field_validator("evidence")
    @classmethod
    def _evidence_in_text(cls, spans: list[str], info: ValidationInfo) -> list[str]:
        text = (info.context or {}).get("text")
        cleaned = [clean_quote(s) for s in spans]
        if any(not any(ch.isalnum() for ch in s) for s in cleaned):
            raise ValueError("an evidence span must quote words from the article, not only quote marks or punctuation")
        if text is None:
            return cleaned
        missing = [s for s in cleaned if find_span(text, s) is None]
        if missing:
            raise ValueError(
                "evidence must be copied exactly from the article; not found in the text: "
                + "; ".join(repr(m[:120]) for m in missing)
            )
        return cleaned

    def evidence_offsets(self, text: str) -> list[tuple[int, int] | None]:
        return [find_span(text, s) for s in self.evidence]

    def to_record(self) -> dict[str, Any]:
        """Codebook field names and JSON-friendly values (dates as ISO strings)."""
        return self.model_dump(mode="json")


class ArticleEvents(BaseModel):
    """Everything codable in one article. An empty list is a valid answer."""

    model_config = ConfigDict(extra="forbid")

    events: list[ConflictEvent] = Field(default_factory=list, max_length=MAX_EVENTS_PER_ARTICLE)
