"""The answer schemas the model fills in the staged design.

`EVENT_CODES` are short codes for the codebook's type/sub-type pairs;
`IncidentSlots` is one incident (anchor quote, code, actors, place, numbers
killed), `incident_list_model(n)` a list of at most n, `IncidentFill` the slots
without the quote; `complete_incidents` recovers an answer cut off by the token limit.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from schemas.taxonomy import SUB_EVENT_TYPES

# ---------------------------------------------------------------------------
# 3. the model's task: one compact, bounded list of incidents
# ---------------------------------------------------------------------------

# Short codes for the 25 type/sub-type pairs: a few tokens each instead of a dozen.
# Each starts with its event type's word (battle_, explosion_, violence_against_civilians_,
# protest_, riot_, strategic_): a model that begins to write the type it has in mind
# ("violence...") is steered by the grammar into a code of that type, not into the
# only code sharing the prefix ("violent_demonstration" was, before).
EVENT_CODES: dict[str, tuple[str, str]] = {
    "battle_armed_clash": ("Battles", "Armed clash"),
    "battle_government_regains_territory": ("Battles", "Government regains territory"),
    "battle_nonstate_actor_overtakes_territory": ("Battles", "Non-state actor overtakes territory"),
    "explosion_chemical_weapon": ("Explosions/Remote violence", "Chemical weapon"),
    "explosion_air_or_drone_strike": ("Explosions/Remote violence", "Air/drone strike"),
    "explosion_suicide_bomb": ("Explosions/Remote violence", "Suicide bomb"),
    "explosion_shelling_artillery_missile": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "explosion_remote_explosive_landmine_ied": ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    "explosion_grenade": ("Explosions/Remote violence", "Grenade"),
    "violence_against_civilians_sexual_violence": ("Violence against civilians", "Sexual violence"),
    "violence_against_civilians_attack": ("Violence against civilians", "Attack"),
    "violence_against_civilians_abduction": ("Violence against civilians", "Abduction/forced disappearance"),
    "protest_peaceful": ("Protests", "Peaceful protest"),
    "protest_with_intervention": ("Protests", "Protest with intervention"),
    "protest_excessive_force_against_protesters": ("Protests", "Excessive force against protesters"),
    "riot_violent_demonstration": ("Riots", "Violent demonstration"),
    "riot_mob_violence": ("Riots", "Mob violence"),
    "strategic_agreement": ("Strategic developments", "Agreement"),
    "strategic_arrests": ("Strategic developments", "Arrests"),
    "strategic_change_to_group_activity": ("Strategic developments", "Change to group/activity"),
    "strategic_disrupted_weapons_use": ("Strategic developments", "Disrupted weapons use"),
    "strategic_base_established": ("Strategic developments", "Headquarters or base established"),
    "strategic_looting_property_destruction": ("Strategic developments", "Looting/property destruction"),
    "strategic_nonviolent_transfer_of_territory": ("Strategic developments", "Non-violent transfer of territory"),
    "strategic_other": ("Strategic developments", "Other"),
}
assert {pair for pair in EVENT_CODES.values()} == {
    (t.value, sub.value) for t, subs in SUB_EVENT_TYPES.items() for sub in subs
}, "EVENT_CODES must cover the codebook's taxonomy exactly"
EventCode = Literal[tuple(EVENT_CODES)]  # type: ignore[valid-type]
Name60 = Annotated[str, Field(min_length=1, max_length=60)]
MAX_LISTED = 6


class IncidentSlots(BaseModel):
    """One incident as the model reads it; code derives dates, tolls, precision, targeting.

    The model anchors the incident by copying the opening words of the sentence
    that reports it (copying is what small models do reliably; they cannot map
    sentence numbers to content). Code locates that sentence and stores it whole
    as evidence, so evidence is exact by construction. Every field is required
    (nullable where it may be empty) so the grammar fixes the layout.
    """

    model_config = ConfigDict(extra="forbid")

    quote: Annotated[str, Field(min_length=8, max_length=120)]
    event: EventCode  # type: ignore[valid-type]
    # No actor types: every token is a decode step on two cores, and code
    # derives the type from the normalised name (alias table, name patterns).
    actor1: Name60
    actor2: Name60 | None
    country: Annotated[str, Field(min_length=1, max_length=40)]
    admin1: Annotated[str, Field(max_length=40)] | None
    location: Annotated[str, Field(max_length=60)] | None
    # Numbers are not range-checked here: the grammar cannot bound an integer, and a
    # re-ask over a copied "370,000" wastes a call. Code keeps only numbers the
    # sentence states, between 1 and MAX_INCIDENT_TOLL.
    killed: list[int] = Field(max_length=4)


@lru_cache(maxsize=16)
def incident_list_model(max_items: int) -> type[BaseModel]:
    """The answer schema, with room for at most as many incidents as the article has candidate sentences.

    A small model pads a list to whatever maximum the grammar allows; sizing
    the maximum per article keeps a three-sentence story from growing eight
    invented incidents.
    """
    return create_model(
        "IncidentList",
        __config__=ConfigDict(extra="forbid"),
        incidents=(list[IncidentSlots], Field(max_length=max_items)),
    )


# The same slots without the quote, for an incident whose sentence code already chose.
_fill_fields: dict[str, Any] = {
    name: (f.annotation, f) for name, f in IncidentSlots.model_fields.items() if name != "quote"
}
IncidentFill = create_model("IncidentFill", __config__=ConfigDict(extra="forbid"), **_fill_fields)


class IncidentCheck(BaseModel):
    """The screening answer: does one sentence report a specific incident? (a few decode steps)"""

    model_config = ConfigDict(extra="forbid")

    reports_incident: bool


def complete_incidents(raw: str) -> list[IncidentSlots]:
    """The incident objects a truncated list finished before the token limit cut it."""
    decoder = json.JSONDecoder()
    found: list[IncidentSlots] = []
    for m in re.finditer(r'\{\s*"quote"', raw):
        try:
            obj, _ = decoder.raw_decode(raw, m.start())
            found.append(IncidentSlots.model_validate(obj))
        except (ValueError, ValidationError):
            continue
    return found


# ---------------------------------------------------------------------------
# 4. narrow questions about one listed incident (see `meaning.py`)
# ---------------------------------------------------------------------------

HarmMeans = Literal[
    "air_or_drone_strike",
    "shelling_rockets_missiles",
    "bomb_ied_landmine",
    "suicide_bombing",
    "grenade",
    "chemical_weapon",
    "gunfire_or_armed_assault",
    "knives_beating_or_burning",
    "abduction",
    "rape_or_sexual_violence",
    "arrests",
    "protest",
    "riot_or_mob",
    "capture_of_a_place",
    "other",
]
WhoWasHit = Literal["civilians", "fighters_or_security_forces", "both", "no_one"]


class IncidentMeaning(BaseModel):
    """Two closed questions about one incident the model listed, asked over the cached article prefix.

    Each answer is a handful of tokens; code turns them into the event type and
    sub-type through the decision table in `pipeline/data/event_table.json`.
    """

    model_config = ConfigDict(extra="forbid")

    means: HarmMeans
    hit: WhoWasHit
