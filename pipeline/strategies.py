"""The staged extraction design: one small model decision per article, code for everything else.

A 1.5B model asked for "all events at once" repeats events and runs away in
free text. Here the model makes one compact, grammar-constrained answer per
article, and code does what code does better:

1. code splits the article into sentences (with char offsets) and keeps the
   candidate sentences that carry an event cue (killed, clash, strike,
   protest, abducted, ...) and do not read as running totals; no candidate
   means no event and no model call;
2. the model lists the incidents, each anchored by the opening words of the
   sentence that reports it and filled with a few short slots (event code,
   actors, place, the numbers killed); the list's maximum length is sized to
   the candidates, because a small model pads a list to whatever the grammar
   allows;
3. code snaps every quote to its article sentence (evidence is that exact
   sentence, so grounding holds by construction), drops anything that is not
   a candidate, resolves the date from the sentence's own words against the
   story's reference day (weekdays, "yesterday", "overnight", "last week",
   spans like "two days of clashes"), sums per-side tolls after checking every
   number is in the sentence, normalises actor names through an alias table,
   checks places against the article, derives geo precision and civilian
   targeting, and merges sentences that tell the same incident.

The prompt layout is static text first (system prompt, worked example), the
article next and the task last, so llama.cpp reuses the evaluated prefix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from schemas import Actor, ConflictEvent
from schemas.taxonomy import SUB_EVENT_TYPES, ActorType

from .ingest import Article
from .prompts import Prompt

DATA = Path(__file__).resolve().parent / "data"
MAX_SENTENCE_CHARS = 400

# ---------------------------------------------------------------------------
# 1. sentences and candidates
# ---------------------------------------------------------------------------


@dataclass
class Sentence:
    number: int
    start: int
    end: int
    text: str


_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Gen|Col|Lt|Sgt|Capt|St|No|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|U\.S|U\.N|Gov|Rep|Sen)\.$")
_BOUNDARY = re.compile(r"[.!?][\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets into `text`; lines (headlines, datelines) end a sentence too."""
    sentences: list[Sentence] = []
    for line_match in re.finditer(r"[^\n]+", text):
        line = line_match.group(0)
        base = line_match.start()
        pos = 0
        for boundary in _BOUNDARY.finditer(line):
            head = line[pos : boundary.start() + 1]
            if _ABBREVIATIONS.search(head.rstrip()) or len(head.strip()) < 3:
                continue
            _add(sentences, text, base + pos, base + boundary.start() + 1)
            pos = boundary.end()
        _add(sentences, text, base + pos, base + len(line))
    return sentences


def _add(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    # Keep the closing quote mark with its sentence.
    while end < len(text) and text[end] in "\"'”’)":
        end += 1
    if end - start >= 2:
        sentences.append(Sentence(len(sentences) + 1, start, end, text[start:end]))


_CUE = re.compile(
    r"\b(kill|dead|death|died|dying|lives|clash|fight|battl|attack|assault|offensive|strike|struck|raid|"
    r"bomb|shell|missile|rocket|mortar|artillery|explo|blast|mine\b|ied\b|grenade|protest|demonstrat|"
    r"march|rally|rallies|riot|lynch|mob\b|abduct|kidnap|hostage|arrest|detain|seiz|captur|recaptur|retak|"
    r"took back|overran|overrun|gunmen|gunman|shot|shoot|opened fire|fired|massacre|execut|wound|injur|"
    r"torch|burn|loot|tear gas|disperse|ambush|air raid|pound|bombard|rape|violat|behead|decapitat|"
    r"truce|ceasefire|cease-fire|peace deal|agreement|signed)",
    re.IGNORECASE,
)


def is_candidate(sentence: Sentence) -> bool:
    return len(sentence.text) >= 25 and bool(_CUE.search(sentence.text))


# ---------------------------------------------------------------------------
# 2. dates: resolved by code against the story's reference day
# ---------------------------------------------------------------------------

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_WD = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
_REPORTING = r"(said|says|say|told|reported|reports|announced|confirmed|added|stated|claimed|according to [\w\s'-]{0,40})"


@dataclass
class DateCue:
    start: date
    end: date | None
    precision: int


def weekday_before(ref: date, name: str) -> date:
    """The most recent `name` day on or before `ref`."""
    return ref - timedelta(days=(ref.weekday() - WEEKDAYS.index(name.lower())) % 7)


def reference_day(sentences: list[Sentence], published: date) -> date:
    """The story's "today": a weekday of reporting in the first sentences, else publication day.

    Wire copy printed the next morning says "a monitor said on Friday"; events
    "overnight" or "on Thursday" are relative to that Friday, not to the print date.
    """
    for sentence in sentences[:6]:
        m = re.search(_REPORTING + r"\b[^.;]{0,30}?\b(?:on )?" + _WD + r"\b", sentence.text, re.IGNORECASE)
        if m:
            day = weekday_before(published, m.group(2))
            if (published - day).days <= 2:
                return day
    return published


def _explicit_date(text: str, ref: date) -> DateCue | None:
    patterns = [
        (_MONTH + r"\s+(\d{1,2})(?:\s*[-–]\s*(\d{1,2}))?(?:,?\s+(\d{4}))?\b", "mdy"),
        (r"\b(\d{1,2})(?:\s*[-–]\s*(\d{1,2}))?\s+" + _MONTH + r"(?:,?\s+(\d{4}))?\b", "dmy"),
    ]
    for pattern, kind in patterns:
        for m in re.finditer(pattern, text, re.IGNORECASE):
            if kind == "mdy":
                month, day1, day2, year = MONTHS[m.group(1).lower().rstrip(".")], m.group(2), m.group(3), m.group(4)
            else:
                day1, day2, month, year = m.group(1), m.group(2), MONTHS[m.group(3).lower().rstrip(".")], m.group(4)
            try:
                y = int(year) if year else ref.year
                start = date(y, month, int(day1))
                if not year and start > ref + timedelta(days=1):
                    start = date(y - 1, month, int(day1))
                end = date(start.year, month, int(day2)) if day2 else None
            except ValueError:
                continue
            if start <= ref + timedelta(days=1):
                return DateCue(start, end if end and end > start else None, 1)
    return None


def _masked_reporting(text: str) -> str:
    """Blank out weekdays that date the reporting, not the event ("said on Monday")."""
    return re.sub(
        _REPORTING + r"(\b[^.;]{0,30}?\b)(?:on )?" + _WD + r"\b",
        lambda m: m.group(0)[: m.start(len(m.groups())) - m.start()] + "_" * len(m.group(len(m.groups()))),
        text,
        flags=re.IGNORECASE,
    )


def date_cue(text: str, ref: date) -> DateCue | None:
    """The event date that one piece of text states, resolved against `ref`."""
    explicit = _explicit_date(text, ref)
    if explicit:
        return explicit
    t = _masked_reporting(text).lower()
    m = re.search(r"between " + _WD + r" and " + _WD, t)
    if m:
        start, end = weekday_before(ref, m.group(1)), weekday_before(ref, m.group(2))
        return DateCue(start, end if end > start else None, 1)
    m = re.search(r"since (?:late |early )?" + _WD, t)
    if m:
        start = weekday_before(ref, m.group(1))
        return DateCue(start, ref if ref > start else None, 1)
    if re.search(r"\b(48 hours|two days of|2 days of|two-day)\b", t):
        return DateCue(ref - timedelta(days=2), ref - timedelta(days=1), 1)
    if re.search(r"\b(24 hours)\b", t):
        return DateCue(ref - timedelta(days=1), ref, 1)
    m = re.search(r"\b" + _WD + r"\b", t)
    if m:
        return DateCue(weekday_before(ref, m.group(1)), None, 1)
    if re.search(r"\b(yesterday|last night)\b", t):
        return DateCue(ref - timedelta(days=1), None, 1)
    if re.search(r"\b(overnight)\b", t):
        return DateCue(ref - timedelta(days=1), None, 1)
    if re.search(r"\b(today|this morning|this afternoon|tonight|earlier in the day)\b", t):
        return DateCue(ref, None, 1)
    if re.search(r"\blast week\b|\ba week ago\b", t):
        return DateCue(ref - timedelta(days=7), None, 2)
    if re.search(r"\b(recent days|this week|past few days|past week|days ago|last few days)\b", t):
        return DateCue(ref - timedelta(days=2), None, 2)
    m = re.search(r"\b(earlier|later|last) (this|last) month\b|\bearlier this month\b", t)
    if m:
        return DateCue(ref.replace(day=1), None, 3)
    return None


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
IncidentFill = create_model(
    "IncidentFill",
    __config__=ConfigDict(extra="forbid"),
    **{name: (f.annotation, f) for name, f in IncidentSlots.model_fields.items() if name != "quote"},
)


# ---------------------------------------------------------------------------
# 4. code-side normalisation
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def actor_rules() -> dict[str, Any]:
    return json.loads((DATA / "actors.json").read_text(encoding="utf-8"))


def _country_of(name: str) -> str | None:
    lower = name.lower()
    for country, words in actor_rules()["demonyms"].items():
        if any(re.search(rf"\b{re.escape(w)}\b", lower) for w in words):
            return country
    return None


def _country_named(raw: str) -> str | None:
    """The country an actor name is nothing but ("Syria", "Russia", "the Syrian government")."""
    core = re.sub(r"\s+(government|regime|state|authorities)$", "", raw.strip(), flags=re.IGNORECASE)
    core = re.sub(r"'s$|’s$", "", core)
    for country, words in actor_rules()["demonyms"].items():
        if core.lower() == country.lower() or core.lower() in (w.lower() for w in words):
            return country
    return None


def _kind_of_named(lower: str) -> str:
    """The type of a named armed group the alias table does not know."""
    if re.search(r"\b(ethnic|tribal|clan|communal|herders?|herdsmen|vigilantes?)\b", lower):
        return "identity_militia"
    if re.search(r"\b(militias?|party|youth wing)\b", lower):
        return "political_militia"
    return "rebel_group"


def normalise_actor(name: str | None, actor_type: str | None, country: str, text: str) -> Actor | None:
    """Map free-text actor names onto the codebook's names (specific groups kept)."""
    if not name or not name.strip():
        return None
    rules = actor_rules()
    raw = re.sub(r"^(the|a|an)\s+", "", name.strip(), flags=re.IGNORECASE)
    lower = raw.lower()

    def named(canonical: str) -> Actor:
        return Actor(name=canonical, actor_type=ActorType(rules["named_types"].get(canonical, actor_type or "rebel_group")))

    for canonical, aliases in rules["named"].items():
        if lower == canonical.lower() or lower in (a.lower() for a in aliases):
            return named(canonical)
    for canonical, aliases in rules["named"].items():
        # "Somali-based al-Qaeda affiliated group al-Shabaab": the group's name inside a description.
        # Acronyms ("HTS", "IS") must match in capitals, so "is" or "hts" in prose never do.
        for alias in [canonical, *aliases]:
            flags = 0 if alias.isupper() else re.IGNORECASE
            if len(alias) >= 3 and re.search(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", raw, flags):
                return named(canonical)
    kind = actor_type or _kind_of_named(lower)
    country_named = _country_named(raw)
    if country_named:
        # "Syria", "the Syrian government": the state acting, through its forces.
        atype = ActorType.STATE_FORCES if country_named == country else ActorType.EXTERNAL_FORCES
        return Actor(name=f"Military Forces of {country_named}", actor_type=atype)
    if re.search(rules["patterns"]["police"], lower):
        where = _country_of(raw) or country
        return Actor(name=f"Police Forces of {where}", actor_type=ActorType.STATE_FORCES)
    if re.search(rules["patterns"]["state"], lower) and not re.search(rules["patterns"]["not_state"], lower):
        where = _country_of(raw) or country
        atype = ActorType.STATE_FORCES if where == country else ActorType.EXTERNAL_FORCES
        return Actor(name=f"Military Forces of {where}", actor_type=atype)
    if kind == "protesters" or re.search(rules["patterns"]["protesters"], lower):
        return Actor(name="Protesters", actor_type=ActorType.PROTESTERS)
    if kind == "rioters" or re.search(rules["patterns"]["rioters"], lower):
        return Actor(name="Rioters", actor_type=ActorType.RIOTERS)
    if kind == "civilians" or re.search(rules["patterns"]["civilians"], lower):
        return Actor(name="Civilians", actor_type=ActorType.CIVILIANS)
    if re.search(rules["patterns"]["rebels"], lower):
        return Actor(name="Rebel groups", actor_type=ActorType.REBEL_GROUP)
    if re.search(rules["patterns"]["unidentified"], lower):
        return Actor(name="Unidentified armed group", actor_type=ActorType.POLITICAL_MILITIA)
    # A specific name the article does not contain is a guess: fall back to a generic name.
    if raw.lower() not in text.lower():
        generic = {
            "state_forces": f"Military Forces of {country}",
            "rebel_group": "Rebel groups",
            "civilians": "Civilians",
            "protesters": "Protesters",
            "rioters": "Rioters",
        }.get(actor_type or "", "Unidentified armed group")
        return Actor(name=generic, actor_type=ActorType(actor_type or "political_militia"))
    return Actor(name=raw[:80], actor_type=ActorType(kind))


_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "dozens": 12, "dozen": 12, "tens": 10, "scores": 20,
}
# "wounded five others", "injured four other people": the number counts the wounded.
_WOUNDED_BEFORE = re.compile(
    r"\b(?:wounded|wounding|wounds|injured|injuring|injures|hurt|hurting)\s+(?:at least |about |some |nearly |around |more than |over )?$",
    re.IGNORECASE,
)
_NOT_DEATHS = re.compile(
    r"^\s*(?:other people |people |others |other |more )?(injured|wounded|hurt|displaced|kilomet|km|miles|years|year-old|houses|homes|"
    r"percent|%|per cent|schools|facilities|hospitals|apartments|missiles|rockets|drones|towns|villages)",
    re.IGNORECASE,
)


def numbers_in(text: str) -> set[int]:
    """Numbers stated in the text as deaths could be: digits and number words, not injured/distances."""
    found: set[int] = set()
    for m in re.finditer(r"\b(\d{1,3}(?:,\d{3})*|\d+)\b", text):
        if not _NOT_DEATHS.match(text[m.end() :]) and not _WOUNDED_BEFORE.search(text[: m.start()]):
            found.add(int(m.group(1).replace(",", "")))
    for m in re.finditer(r"\b([A-Za-z]+)(?:-([A-Za-z]+))?\b", text):
        first = _NUMBER_WORDS.get(m.group(1).lower())
        if first is None or _NOT_DEATHS.match(text[m.end() :]) or _WOUNDED_BEFORE.search(text[: m.start()]):
            continue
        second = _NUMBER_WORDS.get((m.group(2) or "").lower(), 0)
        found.add(first + (second if second < 10 else 0))
    return found


_DEATH = re.compile(
    r"\b(kill|killed|killing|kills|dead|death|deaths|died|die|dying|lives|executed|massacred|slain|murdered|"
    r"bodies|lynched|beheaded|shot dead)\b",
    re.IGNORECASE,
)


# A toll above this in one sentence is a tally ("25,671 civilians killed"), not one incident.
MAX_INCIDENT_TOLL = 1000


def fatalities_from(killed: list[int], text: str) -> int:
    """Sum per-side tolls the text really states; a stated total of the others is not added.

    Only a text that speaks of deaths gives a toll: "121 women were raped" is not 121 killed.
    """
    if not _DEATH.search(text):
        return 0
    grounded = [n for n in killed if n in numbers_in(text) and 0 < n < 100_000]
    if not grounded:
        return 0
    unique = list(dict.fromkeys(grounded))
    for n in sorted(unique, reverse=True):
        rest = [m for m in unique if m != n]
        if rest and n == sum(rest):
            return n
    if len(unique) > 1 and re.search(r"\bincluding\b|\bamong them\b", text, re.IGNORECASE):
        return max(unique)
    return sum(unique)


_NUM = r"(\d{1,3}(?:,\d{3})*|\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|thirty|forty|fifty|dozens)"
_STATED_TOLL = (
    re.compile(r"\b(?:killed|killing|kills|killed off)\s+(?:at least |more than |over |about |some |nearly |around )?" + _NUM + r"\b", re.IGNORECASE),
    re.compile(r"\b" + _NUM + r"\s+(?:[\w-]+\s+){0,3}?(?:were|was|have been|had been|are|got)\s+(?:\w+\s+)?(?:killed|shot dead|slain|dead)\b", re.IGNORECASE),
    re.compile(r"\b" + _NUM + r"\s+(?:[\w-]+\s+){0,2}?(?:dead|killed)\b", re.IGNORECASE),
)


def stated_toll(text: str) -> int:
    """The one death toll a sentence states in a plain pattern ("20 people were killed"), or 0.

    Used when the model gave no numbers for a sentence that does state deaths.
    Two different tolls in one sentence are left to the model: 0.
    """
    found = set()
    for pattern in _STATED_TOLL:
        for m in pattern.finditer(text):
            word = m.group(1).lower()
            n = _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word.replace(",", ""))
            if not _WOUNDED_BEFORE.search(text[: m.start(1)]):
                found.add(n)
    if len(found) != 1:
        return 0
    n = found.pop()
    if numbers_in(text) - {n, 1}:
        return 0  # other counts in the sentence ("killed 4 fighters and 6 civilians"): the model's call
    return n if 0 < n <= MAX_INCIDENT_TOLL else 0


_PLACE_PREFIX = re.compile(r"^(the\s+)?((town|city|village|villages|area|district|region|province|outskirts|countryside|suburb|locality)\s+of\s+)", re.IGNORECASE)
_NEAR = re.compile(r"\b(near|east of|west of|north of|south of|northeast of|northwest of|southeast of|southwest of|outskirts of|vicinity of|around|countryside of|close to|outside)\b", re.IGNORECASE)


def clean_place(value: str | None, article_text: str) -> str | None:
    if not value:
        return None
    place = _PLACE_PREFIX.sub("", value.strip()).strip(" ,.")
    if len(place) < 2 or place.lower() not in article_text.lower():
        return None  # a place the article never names is a guess
    return place


_REGION_WORD = r"\s+(?:province|governorate|region|state|district|county|oblast|prefecture)\b"
_DIRECTIONAL = re.compile(r"^(?:north|south|east|west|central|northern|southern|eastern|western|"
                          r"north-?eastern|north-?western|south-?eastern|south-?western)\b", re.IGNORECASE)


_REGION_MENTION = re.compile(
    r"\b((?:[A-Z][\w'’-]+ ){0,2}[A-Z][\w'’-]+) (?:region|state|province|governorate|prefecture)\b"
    r"|\b(?:region|state|province|governorate) of ((?:[A-Z][\w'’-]+ ){0,2}[A-Z][\w'’-]+)"
)


def _sentences_naming(text: str, place: str | None) -> str:
    """The sentences that name `place`: where the article says which region it lies in."""
    if not place:
        return ""
    return " ".join(m.group(0) for m in re.finditer(r"[^.\n]*" + re.escape(place) + r"[^.\n]*", text, re.IGNORECASE))


def region_named_in(idx: Any, text: str) -> str | None:
    """The one first-level region the article names as such ("the northern Sagaing region"), if only one."""
    found: dict[str, str] = {}
    for m in _REGION_MENTION.finditer(text):
        words = (m.group(1) or m.group(2)).split()
        for k in range(len(words)):  # "Western Bahr el Ghazal" before "Ghazal"
            name = " ".join(words[k:])
            code, confidence = idx.match_admin1(name)
            if code is not None and confidence >= 0.9:
                found.setdefault(code, name)
                break
    return next(iter(found.values())) if len(found) == 1 else None


def settle_places(country: str, admin1: str | None, location: str | None, text: str) -> tuple[str | None, str | None]:
    """Put each name in its slot: admin1 a first-level region, location a place.

    A small model often writes the town into admin1 ("Manbij") or a region
    into location ("northwestern Syria", "Idlib" of "Idlib province"). The
    offline gazetteer tells regions from places; nothing here is guessed from
    outside the article, except the region a named town lies in.
    """
    from .geocode import _index, country_code, normalize

    if location and _DIRECTIONAL.search(location):
        location = None  # "northwestern Syria" names a direction, not a place
    cc = country_code(country)
    if cc is None:
        return admin1, location
    idx = _index(cc)
    code, confidence = idx.match_admin1(admin1) if admin1 else (None, 0.0)

    def exact_region(hit: Any, place: str) -> str | None:
        # Only an exact gazetteer name: a fuzzy hit puts a village in another region.
        if hit is not None and hit.method == "exact" and normalize(hit.matched_name) == normalize(place):
            return hit.admin1
        return None

    def region_of(place: str | None) -> str | None:
        return exact_region(idx.match_place(place, None), place) if place else None

    if admin1 and code is None:
        # Not a region of this country: a town (or a district) given as admin1.
        town, town_hit = admin1, idx.match_place(admin1, None)
        admin1 = exact_region(town_hit, town) or region_of(location) or region_named_in(idx, _sentences_naming(text, location or town))
        if location is None and town_hit is not None:
            location = town
    elif admin1 is None:
        admin1 = region_of(location) or region_named_in(idx, _sentences_naming(text, location))
    elif code is not None and confidence < 1.0 and admin1:
        admin1 = idx.admin1_names.get(code, admin1)  # "Khyber" -> "Khyber Pakhtunkhwa"
    if location and admin1 and location.lower() == admin1.lower():
        # "Idlib" of "Idlib province" is the region; "Nairobi" of "in Nairobi" is the city.
        if re.search(re.escape(location) + _REGION_WORD, text, re.IGNORECASE):
            location = None
    return admin1, location


def geo_precision_for(location: str | None, text: str) -> int:
    if not location:
        return 3
    idx = text.lower().find(location.lower())
    if idx < 0:
        return 1
    window = text[max(0, idx - 45) : idx]
    return 2 if _NEAR.search(window) else 1


# ---------------------------------------------------------------------------
# 5. the strategy
# ---------------------------------------------------------------------------

# Running totals and background figures, by their wording (the codebook's first exclusion).
_TOTAL = re.compile(
    r"\bsince (?:the )?(?:late |early |mid-?|end of |start of |beginning of )?(?:19|20)\d\d\b"
    r"|\bsince (?:late |early |mid-?)?(?:january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\bsince the (?:start|beginning|outbreak)\b|\bso far this year\b|\bin that period\b"
    r"|\b(?:war|conflict|insurgency|violence)\b(?:,[^.;]{0,90},)? (?:has|have) (?:killed|left)\b"
    r"|\ba total of\b|\bin the (?:first|past|last) (?:\d+|two|three|four|five|six|ten) (?:days|weeks|months)\b"
    r"|\bcompared (?:to|with)\b|\bcasualties (?:from|since)\b"
    r"|\bkilled in the (?:violence|escalation|unrest|bloodshed|crackdown|conflict|war)\b"
    r"|\bsince the (?:\w+ ){0,2}?(?:went into effect|took effect|began|started|erupted|broke out|was signed)\b",
    re.IGNORECASE,
)


def looks_like_total(sentence: Sentence) -> bool:
    return bool(_TOTAL.search(sentence.text))


@dataclass
class Draft:
    """One sentence's incident, before sentences about the same incident are grouped."""

    event_type: str
    sub_event_type: str
    actor1: Actor
    actor2: Actor | None
    assoc1: list[str]
    country: str
    admin1: str | None
    location: str | None
    fatalities: int
    per_side: bool  # the toll came from per-side numbers ("29 ... and 31 ...")
    cue: DateCue | None
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def actors(self) -> set[str]:
        return {self.actor1.name} | ({self.actor2.name} if self.actor2 else set())


GENERIC_NAMES = {"Rebel groups", "Unidentified armed group", "Civilians", "Protesters", "Rioters"}


def _is_generic(actor: Actor) -> bool:
    return actor.name in GENERIC_NAMES or actor.name.startswith(("Military Forces of", "Police Forces of"))


# What the sentence says happened, in the words the codebook's sub-event types
# are defined by. A small model's event code leans towards its worked examples
# ("air strike" for a roadside bomb, "attack" for shelling or a lynching);
# these words in the incident's own sentence settle the code.
_EXPLOSION_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern, re.IGNORECASE)) for code, pattern in (
        ("explosion_suicide_bomb", r"\bsuicide[- ](?:bomb\w*|attack\w*|car bomb\w*|vest)|\bblew (?:himself|herself|themselves) up"),
        ("explosion_remote_explosive_landmine_ied",
         r"\b(?:roadside (?:bomb|blast|explosion)s?|improvised explosive|IEDs?|land ?mines?|car bombs?|explosive devices?|"
         r"bombs? (?:exploded|went off|blast)|planted (?:a |an )?(?:bomb|explosive))"),
        ("explosion_grenade", r"\bgrenades?\b"),
        ("explosion_air_or_drone_strike",
         r"\b(?:air ?strikes?|air raids?|warplanes?|war planes?|jets?|drones?|helicopters?|barrel bombs?|aerial)\b"),
        ("explosion_shelling_artillery_missile", r"\b(?:shell(?:s|ed|ing)?|artillery|rockets?|missiles?|mortars?)\b"),
    )
)
_SEXUAL_WORDS = re.compile(r"\b(?:rap(?:e|ed|es|ing)|sexual(?:ly)? (?:violence|assault\w*|abuse\w*|violated))\b", re.IGNORECASE)
_ABDUCTION_WORDS = re.compile(r"\b(?:abduct\w*|kidnap\w*|taken hostage|held hostage|forcibly disappeared)\b", re.IGNORECASE)
_MOB_WORDS = re.compile(r"\b(?:mobs?|lynch\w*)\b", re.IGNORECASE)
_CLASH_WORDS = re.compile(
    r"\b(?:clash(?:es|ed)?|fighting|fought|gun ?battles?|firefights?|skirmish\w*|exchanged? fire|"
    r"attacked (?:\w+ ){0,2}positions)\b", re.IGNORECASE)
# Armed men as the ones who died or fought: a sentence about them, with nothing
# fired from afar and no civilian in it, tells a battle.
_FIGHTERS = re.compile(
    r"\b(?:fighters|combatants|soldiers|troops|forces|rebels|jihadists|militants|insurgents|gunmen|loyalists|"
    r"servicemen|policemen|police officers)\b", re.IGNORECASE)
_PROTEST_WORDS = re.compile(r"\b(?:protest\w*|demonstrat(?:ors?|ions?|ed|ing)|rall(?:y|ies))\b", re.IGNORECASE)


def _is_state(actor: Actor | None) -> bool:
    return actor is not None and actor.actor_type in (ActorType.STATE_FORCES, ActorType.EXTERNAL_FORCES)


def _is_armed(actor: Actor | None) -> bool:
    return actor is not None and actor.actor_type in (
        ActorType.STATE_FORCES, ActorType.EXTERNAL_FORCES, ActorType.REBEL_GROUP,
        ActorType.POLITICAL_MILITIA, ActorType.IDENTITY_MILITIA,
    )


def actors_for(etype: str, sub: str, actor1: Actor, actor2: Actor | None) -> tuple[Actor, Actor | None]:
    """Actors as the codebook pairs them for protests and mob violence."""
    if etype == "Protests":
        # Protesters act; the other side is the force that intervened, if any.
        state = actor1 if _is_state(actor1) else actor2 if _is_state(actor2) else None
        protesters = Actor(name="Protesters", actor_type=ActorType.PROTESTERS)
        return protesters, (state if sub != "Peaceful protest" else None)
    if sub == "Mob violence" and not _is_state(actor1):
        return Actor(name="Rioters", actor_type=ActorType.RIOTERS), Actor(name="Civilians", actor_type=ActorType.CIVILIANS)
    return actor1, actor2


def reconcile_event(code: str, sentence: str, fatalities: int) -> str:
    """The event code, corrected by what the incident's sentence says happened."""
    family = code.split("_")[0]
    protest_said = bool(_PROTEST_WORDS.search(sentence))
    # Protesters met by force: with excessive force when some died.
    protest_code = "protest_excessive_force_against_protesters" if fatalities else "protest_with_intervention"
    if _SEXUAL_WORDS.search(sentence) and code != "violence_against_civilians_sexual_violence" and (
        fatalities == 0 or family not in ("explosion", "battle")
    ) and not (family == "protest" and protest_said):  # a march against rape is a protest
        return "violence_against_civilians_sexual_violence"
    if _ABDUCTION_WORDS.search(sentence) and fatalities == 0 and family != "explosion":
        return "violence_against_civilians_abduction"
    if _MOB_WORDS.search(sentence) and code in ("violence_against_civilians_attack", "riot_violent_demonstration"):
        return "riot_mob_violence"
    if protest_said and code in ("violence_against_civilians_attack", "battle_armed_clash"):
        return protest_code
    if family == "explosion" or code == "violence_against_civilians_attack":
        present = [c for c, pattern in _EXPLOSION_WORDS if pattern.search(sentence)]
        if present and (code not in present or present[0] == "explosion_suicide_bomb"):
            return present[0]
        if not present and family == "explosion":
            # Nothing fired from afar in the sentence: what it does say decides.
            if protest_said:
                return protest_code
            if _CLASH_WORDS.search(sentence) or _FIGHTERS.search(sentence):
                return "battle_armed_clash"
    return code


def draft_from(slots: IncidentSlots, cited: list[Sentence], article: Article, ref: date) -> Draft | None:
    text = article.text
    cited_text = " ".join(c.text for c in cited)
    country = slots.country.strip()
    actor1 = normalise_actor(slots.actor1, None, country, text)
    actor2 = normalise_actor(slots.actor2, None, country, text)
    fatalities = fatalities_from(slots.killed, cited_text) if slots.killed else stated_toll(cited_text)
    if actor1 is None or fatalities > MAX_INCIDENT_TOLL:
        return None  # no one acting, or a tally ("25,671 civilians killed"), not one incident
    code = reconcile_event(slots.event, cited_text, fatalities)
    etype, sub = EVENT_CODES[code]
    if actor2 is not None and actor2.name == actor1.name:
        actor2 = None
    if actor1.name == "Civilians" and actor2 is not None:
        actor1, actor2 = actor2, actor1  # civilians are the target, not the initiator
    civilians_said = re.search(actor_rules()["patterns"]["civilians"], cited_text, re.IGNORECASE) is not None
    if etype == "Battles" and actor2 is not None and actor2.name == "Civilians":
        if civilians_said:
            etype, sub = "Violence against civilians", "Attack"
        else:
            actor2 = None  # a clash with no civilian in the sentence: the other side is unnamed
    if (etype, sub) == ("Violence against civilians", "Attack") and not civilians_said and (
        _FIGHTERS.search(cited_text) or _CLASH_WORDS.search(cited_text)
    ):
        # "eight rebels were killed trying to sneak through frontlines", "25 pro-regime
        # forces were killed in the clashes": fighters died, not civilians.
        etype, sub = "Battles", "Armed clash"
        if actor2 is not None and actor2.name == "Civilians":
            actor2 = None
    if etype == "Violence against civilians" and _is_armed(actor2):
        etype, sub = "Battles", "Armed clash"  # violence against civilians needs civilian victims
    actor1, actor2 = actors_for(etype, sub, actor1, actor2)
    location = clean_place(slots.location, text)
    admin1 = clean_place(slots.admin1, text)
    if location and location.lower() == country.lower():
        location = None
    if admin1 and admin1.lower() == country.lower():
        admin1 = None  # the country is not a first-level region
    admin1, location = settle_places(country, admin1, location, text)
    grounded = [n for n in slots.killed if n in numbers_in(cited_text)]
    cue = None
    for c in cited:
        cue = date_cue(c.text, ref)
        if cue:
            break
    return Draft(
        event_type=etype,
        sub_event_type=sub,
        actor1=actor1,
        actor2=actor2,
        assoc1=[],
        country=country,
        admin1=admin1,
        location=location,
        fatalities=fatalities,
        # Per side only when the toll is their sum: "10 civilians, among them a child" is one count.
        per_side=len(set(grounded)) >= 2 and fatalities == sum(set(grounded)),
        cue=cue,
        sentences=list(cited),
    )


_NEW_INCIDENT = re.compile(
    r"^[\"“']?(?:elsewhere|separately|meanwhile|in (?:a|another) (?:separate )?(?:incident|attack|development|village|town)|"
    r"in another\b|in a separate\b)",
    re.IGNORECASE,
)


def _compatible(a: Draft, b: Draft) -> bool:
    """Can sentence draft `b` be more about the incident of draft `a`?"""
    if a.event_type != b.event_type:
        return False
    if a.cue and b.cue and (a.cue.start != b.cue.start and not (a.cue.end and a.cue.start <= b.cue.start <= a.cue.end)):
        return False
    if a.location and b.location and a.location.lower() != b.location.lower():
        return False
    # "Elsewhere", "In a separate incident": the writer says a new incident starts.
    if _NEW_INCIDENT.match(b.sentences[0].text):
        return False
    # Two tolls that differ, each stated on its own ("10 civilians were killed in
    # air strikes" ... "On Monday, air strikes killed 12 civilians"), are two
    # incidents, even with the same actors, unless they name the same place
    # (two places that differ were ruled out above).
    same_place = bool(a.location and b.location)
    if a.fatalities and b.fatalities and a.fatalities != b.fatalities and not (a.per_side or b.per_side or same_place):
        return False
    if a.actors & b.actors:
        return True
    # "The attack was led by Hurras al-Din" names one side only; a specific group can stand for a generic one.
    return b.actor2 is None or a.actor2 is None or _is_generic(a.actor1) or _is_generic(b.actor1)


def _merge(a: Draft, b: Draft) -> Draft:
    actor1, actor2, assoc = a.actor1, a.actor2, list(a.assoc1)
    if _is_generic(actor1) and not _is_generic(b.actor1) and b.actor1.name not in {x.name for x in [actor2] if x}:
        assoc = list(dict.fromkeys(assoc + [actor1.name]))
        actor1 = b.actor1
    if actor2 is None and b.actor2 is not None and b.actor2.name != actor1.name:
        actor2 = b.actor2
    assoc = [x for x in dict.fromkeys(assoc + b.assoc1) if x not in {actor1.name, actor2.name if actor2 else None}]
    if b.per_side and not a.per_side:
        fatalities, per_side = b.fatalities, True
    elif a.per_side and not b.per_side:
        fatalities, per_side = a.fatalities, True
    else:
        fatalities, per_side = max(a.fatalities, b.fatalities), a.per_side or b.per_side
    return Draft(
        event_type=a.event_type,
        sub_event_type=a.sub_event_type,
        actor1=actor1,
        actor2=actor2,
        assoc1=assoc[:4],
        country=a.country,
        admin1=a.admin1 or b.admin1,
        location=a.location or b.location,
        fatalities=fatalities,
        per_side=per_side,
        cue=a.cue or b.cue,
        sentences=a.sentences + b.sentences,
    )


def group_drafts(drafts: list[Draft]) -> list[Draft]:
    """Fold each sentence into the incident just before it when they fit together.

    News copy tells one incident over several sentences ("Clashes broke out at
    dawn" / "The attack was led by ..." / "The clashes killed 29 ... and 31 ...");
    a sentence joins the incident right before it, or any earlier incident it
    matches on type, day, place and actors.
    """
    grouped: list[Draft] = []
    for draft in drafts:
        if grouped and _compatible(grouped[-1], draft):
            grouped[-1] = _merge(grouped[-1], draft)
            continue
        for i, kept in enumerate(grouped[:-1]):
            if _compatible(kept, draft) and kept.actors & draft.actors and (kept.location or "") == (draft.location or ""):
                grouped[i] = _merge(kept, draft)
                break
        else:
            grouped.append(draft)
    return grouped


_SOURCE = re.compile(
    r"\b(?:according to|said|reported|told)\b[^.]{0,12}?\b(?:the )?((?:[A-Z][\w'’-]+|for|of|on|the)(?: (?:[A-Z][\w'’-]+|for|of|on|the)){0,7})"
    r"|(?:the )?((?:[A-Z][\w'’-]+)(?: (?:[A-Z][\w'’-]+|for|of|on)){0,7})(?: \([A-Z]+\))?,? (?:said|reported|says)\b"
)


def source_of(text: str) -> str:
    for m in _SOURCE.finditer(text):
        name = (m.group(1) or m.group(2) or "").strip()
        name = re.sub(r"\s+(for|of|on|the)$", "", name)
        if len(name) > 3 and name.split()[0] not in ("He", "She", "They", "It", "We", "The", "A", "In", "On"):
            return name[:120]
    return ""


FOLLOWING_WINDOW = 4


def following_cue(draft: Draft, sentences: list[Sentence], ref: date) -> DateCue | None:
    """The event day told a little later, in a sentence about the same incident.

    A lede often dates only the reporting ("... killed ten civilians, locals
    said on Wednesday") and the body the event ("on Tuesday afternoon, dropped
    three bombs on Nyaung Kone"). A later sentence counts as the same incident
    when it names the incident's place (any violent sentence, when the incident
    has no named place), or states its toll with a death word.
    """
    own = {s.number for s in draft.sentences}
    first = draft.sentences[0].number
    for s in sentences[first: first + FOLLOWING_WINDOW + len(own)]:
        if s.number in own:
            continue
        if _NEW_INCIDENT.match(s.text):
            break
        # With no named place, only a lede (which summarises) borrows from the next violent sentence.
        same_place = (draft.location.lower() in s.text.lower()) if draft.location else (first <= 3 and is_candidate(s))
        same_toll = bool(draft.fatalities) and _DEATH.search(s.text) is not None and draft.fatalities in numbers_in(s.text)
        if same_place or same_toll:
            cue = date_cue(s.text, ref)
            if cue:
                return cue
    return None


def event_from(draft: Draft, article: Article, ref: date, inherited: DateCue | None,
               sentences: list[Sentence]) -> tuple[ConflictEvent, DateCue]:
    cue = draft.cue or following_cue(draft, sentences, ref) or inherited
    if cue is None:
        # Nothing in the incident itself: the closest earlier sentence with a date word.
        for s in reversed(sentences[: draft.sentences[0].number - 1]):
            cue = date_cue(s.text, ref)
            if cue:
                break
    cue = cue or DateCue(ref, None, 1)
    text = article.text
    incident_text = " ".join(s.text for s in draft.sentences)
    place = draft.location or draft.admin1 or draft.country
    notes = f"{draft.sub_event_type} by {draft.actor1.name}" + (f" against {draft.actor2.name}" if draft.actor2 else "")
    notes += f" in {place}" + (f"; {draft.fatalities} reported killed." if draft.fatalities else ".")
    event = ConflictEvent.model_validate(
        {
            "event_date": cue.start,
            "event_end_date": cue.end,
            "time_precision": cue.precision,
            "event_type": draft.event_type,
            "sub_event_type": draft.sub_event_type,
            "actor1": draft.actor1.model_dump(),
            "assoc_actors_1": draft.assoc1[:4],
            "actor2": draft.actor2.model_dump() if draft.actor2 else None,
            "assoc_actors_2": [],
            "country": draft.country,
            "admin1": draft.admin1,
            "location": draft.location,
            "geo_precision": geo_precision_for(draft.location, incident_text),
            "fatalities": draft.fatalities,
            # Protesters killed or shot by security forces are civilians targeted.
            "civilian_targeting": bool(draft.actor2 and draft.actor2.name == "Civilians")
            or draft.sub_event_type == "Excessive force against protesters",
            "source": source_of(incident_text) or source_of(text),
            "notes": notes[:300],
            "evidence": [text[s.start : min(s.end, s.start + MAX_SENTENCE_CHARS)].strip() for s in draft.sentences[:3]],
        },
        context={"text": text, "published": article.published},
    )
    return event, cue


def locate(quote: str, sentences: list[Sentence]) -> Sentence | None:
    """The sentence a copied quote comes from: exact after normalisation, else the closest (>= 85/100)."""
    from rapidfuzz import fuzz

    from schemas.grounding import normalise_for_match

    q = normalise_for_match(quote).lower().strip(" .\"'")
    if len(q) < 8:
        return None
    for sentence in sentences:
        if q in normalise_for_match(sentence.text).lower():
            return sentence
    scored = [(fuzz.partial_ratio(q, normalise_for_match(s.text).lower()), s) for s in sentences]
    score, best = max(scored, key=lambda pair: pair[0], default=(0, None))
    return best if score >= 85 else None


def article_block(article: Article, sentences: list[Sentence]) -> str:
    assert article.published is not None
    lines = [f"Published: {article.published.isoformat()} ({article.published.strftime('%A')})", ""]
    lines += [s.text for s in sentences]
    return "\n".join(lines)


# A sentence that states people were killed, raped, abducted or lynched reports
# an incident unless it is a running total; the model's list often stops after
# the main incident, so code sweeps the ones it left out.
_HARM = re.compile(
    r"\b(killed|killing|dead|died|lost their lives|executed|massacred|raped|violated|abducted|kidnapped|lynched)\b",
    re.IGNORECASE,
)
MAX_SWEEP = 3


def sweep_candidates(sentences: list[Sentence], cited: set[int], known_tolls: set[int] = frozenset()) -> list[Sentence]:
    """Sentences stating harm that no listed incident cites, in article order, at most MAX_SWEEP.

    The first two lines (headline and lede) restate the main incident the
    list already holds, so they are not swept; nor is a sentence whose every
    number is a toll already listed ("Ten people were killed, he said" after
    the strike that killed ten).
    """
    picked = []
    for s in sentences[2:]:
        if s.number in cited or not is_candidate(s) or looks_like_total(s) or not _HARM.search(s.text):
            continue
        stated = numbers_in(s.text) - {1}
        if stated and (stated <= set(known_tolls) or (len(stated) >= 2 and sum(stated) in known_tolls)):
            continue  # a listed toll again, or its per-side breakdown ("19 jihadists and 16 ..." of 35)
        picked.append(s)
    return picked[:MAX_SWEEP]


def staged_messages(prompt: Prompt, block: str, last: str) -> list[dict[str, str]]:
    """Every call of an article shares the system prompt and the article; only the last line differs,
    so llama.cpp reuses the evaluated prefix from call to call."""
    return [
        {"role": "system", "content": prompt.section("system")},
        {"role": "user", "content": f"{block}\n\n{last}"},
    ]


def sweep(article: Article, prompt: Prompt, caller: Any, sentences: list[Sentence], block: str, cited: set[int],
          ref: date, known_tolls: set[int]) -> list[Draft]:
    """One small fill call per harm sentence the list left out (same cached prefix, new last line).

    A swept sentence becomes an incident only with a toll the sentence really
    states (or a rape or abduction); sentences about an incident already listed
    are folded into it afterwards by `group_drafts`.
    """
    drafts = []
    for sentence in sweep_candidates(sentences, cited, known_tolls):
        try:
            slots = caller.ask(
                IncidentFill,
                staged_messages(prompt, block, prompt.section("fill").replace("{sentence}", sentence.text)),
                stage="fill",
                # room for every slot at its longest: a truncated fill is a wasted call
                max_tokens=int(prompt.settings.get("tokens_per_incident", 90)) + 60,
            )
        except (InstructorRetryException, IncompleteOutputException):
            continue  # a sweep is extra recall: a failed fill (logged with its attempts) costs that sentence only
        draft = draft_from(slots, [sentence], article, ref)
        if draft is None:
            continue
        if draft.fatalities == 0 and draft.sub_event_type not in ("Sexual violence", "Abduction/forced disappearance"):
            continue
        drafts.append(draft)
    return drafts


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


def extract_staged(article: Article, prompt: Prompt, caller: Any) -> list[ConflictEvent]:
    assert article.published is not None
    sentences = split_sentences(article.text)
    candidates = [s for s in sentences if is_candidate(s) and not looks_like_total(s)]
    if not candidates:
        return []  # no sentence carries an event cue: no event, and no model call
    ref = reference_day(sentences, article.published)
    block = article_block(article, sentences)
    max_items = min(MAX_LISTED, len(candidates))
    try:
        listed = caller.ask(
            incident_list_model(max_items),
            staged_messages(prompt, block, prompt.section("task")),
            stage="extract",
            max_tokens=int(prompt.settings.get("tokens_per_incident", 90)) * max_items + 40,
        ).incidents
    except IncompleteOutputException:
        # The list ran to the token limit (a small model repeating itself): keep
        # the incidents it completed, logged in full with the call.
        listed = complete_incidents(caller.log.rows[-1].get("response") or "")
        if not listed:
            raise

    drafts: list[Draft] = []
    seen: set[tuple[int, str]] = set()
    for slots in listed:
        # Only a sentence that exists and carries an event cue can support an event;
        # a running total ("... since April") is never one, whatever the model says.
        sentence = locate(slots.quote, sentences)
        if sentence is None or not is_candidate(sentence) or looks_like_total(sentence):
            continue
        if (sentence.number, slots.event) in seen:
            continue  # the same sentence listed twice as the same incident
        seen.add((sentence.number, slots.event))
        draft = draft_from(slots, [sentence], article, ref)
        if draft is not None:
            drafts.append(draft)
    if prompt.has_section("fill"):
        cited = {d.sentences[0].number for d in drafts}
        drafts += sweep(article, prompt, caller, sentences, block, cited, ref, {d.fatalities for d in drafts if d.fatalities})
    drafts.sort(key=lambda d: d.sentences[0].number)

    events: list[ConflictEvent] = []
    inherited: DateCue | None = None
    for draft in group_drafts(drafts):
        event, cue = event_from(draft, article, ref, inherited, sentences)
        events.append(event)
        if cue.precision == 1:
            inherited = cue
    return events


# ---------------------------------------------------------------------------
# fake-backend rule for this strategy's schema (deterministic, keyword based)
# ---------------------------------------------------------------------------


def _fake_slots(sentence: str) -> dict[str, Any]:
    lower = sentence.lower()
    if "air strike" in lower or "airstrike" in lower:
        event, a2 = "explosion_air_or_drone_strike", "Civilians"
    elif "clash" in lower:
        event, a2 = "battle_armed_clash", "rebels"
    else:
        event, a2 = "violence_against_civilians_attack", "Civilians"
    return {
        "event": event, "actor1": "regime forces",
        "actor2": a2, "country": "Syria", "admin1": None,
        "location": None, "killed": [int(n) for n in re.findall(r"\b(\d{1,3})\b", sentence)][:2],
    }


def _fake_incidents(kwargs: dict[str, Any]) -> str:
    user = kwargs["messages"][-1]["content"]
    incidents = []
    for m in re.finditer(r"^(.{25,})$", user, re.MULTILINE):
        sentence = m.group(1)
        if "killed" not in sentence.lower() or re.search(r"since|more than \d{3}", sentence.lower()):
            continue
        incidents.append({"quote": " ".join(sentence.split()[:8]), **_fake_slots(sentence)})
    return json.dumps({"incidents": incidents[:1]})


def _fake_fill(kwargs: dict[str, Any]) -> str:
    """The slots of the sentence a fill request names (the line after the article)."""
    user = kwargs["messages"][-1]["content"]
    tail = user.rsplit("\n\n", 1)[-1].splitlines()
    return json.dumps(_fake_slots(tail[1] if len(tail) > 1 else ""))


FAKE_RULES = {"IncidentList": _fake_incidents, "IncidentFill": _fake_fill}
