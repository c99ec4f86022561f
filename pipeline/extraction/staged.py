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

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

from pipeline.extraction import languages, meaning, rules
from pipeline.extraction.answers import (
    EVENT_CODES,
    MAX_LISTED,
    IncidentCheck,
    IncidentFill,
    IncidentMeaning,
    IncidentSlots,
    complete_incidents,
    incident_list_model,
)
from pipeline.extraction.normalise import (
    CLASH_WORDS,
    FIGHTER_WORDS,
    SITE_WORDS,
    PlacePart,
    actor_rules,
    actors_for,
    claimant_named,
    clean_place,
    explosive_named,
    geo_precision_for,
    intervener_named,
    is_armed,
    is_generic,
    named_as_settlement,
    normalise_actor,
    place_known,
    places_apart,
    reconcile_event,
    settle_places,
    striker_named,
    tells_abduction_or_rape,
    territory_code,
    town_for_site,
    towns_named,
)
from pipeline.extraction.text import (
    MAX_INCIDENT_TOLL,
    MAX_SENTENCE_CHARS,
    DateCue,
    Sentence,
    date_cue,
    dated_long_before,
    fatalities_from,
    is_candidate,
    locate,
    looks_like_total,
    numbers_in,
    only_a_toll,
    people_by_age,
    reference_day,
    source_of,
    split_sentences,
    states_deaths,
    states_harm,
)
from pipeline.geo.gazetteer import country_info
from pipeline.ingest import Article
from pipeline.prompts import Prompt
from schemas import Actor, ConflictEvent


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
    rules: list[str] = field(default_factory=list)  # the code rules that changed this incident (see rules.py)

    @property
    def actors(self) -> set[str]:
        return {self.actor1.name} | ({self.actor2.name} if self.actor2 else set())


def draft_from(
    slots: IncidentSlots,
    cited: list[Sentence],
    article: Article,
    ref: date,
    answers: IncidentMeaning | None = None,
) -> Draft | None:
    """One listed incident as a draft event (its type settled by the model's `answers` about it, when
    there are any); the code rules that changed it are recorded on it."""
    with rules.collecting() as fired:
        draft = _draft_from(slots, cited, article, ref, answers)
    if draft is not None:
        draft.rules = list(fired)
    return draft


def _english_country(name: str) -> str:
    """The codebook wants English short names: in another language's article, the model may write the
    country as the article does ("Moçambique"); the gazetteer gives its English name."""
    if languages.current() == languages.ENGLISH:
        return name
    info = country_info(name)
    return str(info["name"]) if info and info.get("name") else name


def _normalised_actor(name: str | None, country: str, text: str) -> Actor | None:
    """The model's actor name through the actor table and the codebook's generic names (recorded, not ablatable)."""
    actor = normalise_actor(name, None, country, text)
    if actor is not None and name and actor.name != name.strip():
        rules.fired("actor_alias" if actor.name in actor_rules()["named"] else "actor_generic_name")
    return actor


def _draft_from(
    slots: IncidentSlots, cited: list[Sentence], article: Article, ref: date, answers: IncidentMeaning | None
) -> Draft | None:
    text = article.text
    cited_text = " ".join(c.text for c in cited)
    country = _english_country(slots.country.strip())
    actor1 = _normalised_actor(slots.actor1, country, text)
    actor2 = _normalised_actor(slots.actor2, country, text)
    if slots.killed:
        # each sentence on its own: a number in the headline ("120 held") is no toll because the lede
        # says "tortured to death"
        fatalities = max(fatalities_from(slots.killed, c.text) for c in cited)
        if fatalities != sum(dict.fromkeys(slots.killed)):
            rules.fired("toll_grounded")
        if fatalities == 0 and rules.enabled("ages_are_people"):
            fatalities = people_by_age(slots.killed, cited_text)
            if fatalities:
                rules.fired("ages_are_people")
    else:
        fatalities = 0
    if actor1 is None:
        return None  # no one acting
    if fatalities > MAX_INCIDENT_TOLL and rules.enabled("toll_cap"):
        return None  # a tally ("25,671 civilians killed"), not one incident
    by_model = answers is not None and rules.enabled("meaning_table")
    if by_model:
        assert answers is not None
        code = meaning.code_for(slots.event, answers, fatalities)
        if code != slots.event:
            rules.fired("meaning_table")
    else:
        code = (
            territory_code(reconcile_event(slots.event, cited_text, fatalities, text), actor1)
            if rules.enabled("event_code_from_sentence")
            else slots.event
        )
        if code != slots.event:
            rules.fired("event_code_from_sentence")
    etype, sub = EVENT_CODES[code]
    if sub == "Arrests" and fatalities and _A_CHARGE.search(cited_text) and rules.enabled("toll_grounded"):
        # "arrested two suspects in connection with the killing": the number counts the arrested, the death
        # is the charge
        fatalities = 0
        rules.fired("toll_grounded")
    if rules.enabled("no_reporter_or_place_as_actor"):
        actor1, actor2 = _no_reporter_or_place(etype, actor1, actor2, slots)
    if actor2 is not None and actor2.name == actor1.name:
        actor2 = None
    if actor1.name == "Civilians" and actor2 is not None and rules.enabled("civilians_are_the_target"):
        actor1, actor2 = actor2, actor1  # civilians are the target, not the initiator
        rules.fired("civilians_are_the_target")
    if by_model:
        assert answers is not None
        actor2 = _roles_by_model(etype, sub, actor1, actor2, answers)
        return _finish_draft(slots, cited, article, ref, etype, sub, actor1, actor2, country, fatalities)
    civilians_said = re.search(actor_rules()["patterns"]["civilians"], cited_text, re.IGNORECASE) is not None
    if etype == "Battles" and actor2 is not None and actor2.name == "Civilians" and not civilians_said:
        actor2 = None  # a clash with no civilian in the sentence: the other side is unnamed
    if (
        (etype, sub) == ("Violence against civilians", "Attack")
        and not civilians_said
        and (FIGHTER_WORDS.search(_without_initiator(cited_text, slots.actor1)) or CLASH_WORDS.search(cited_text))
        and rules.enabled("fighters_killed_is_a_battle")
    ):
        # "eight rebels were killed trying to sneak through frontlines", "25 pro-regime
        # forces were killed in the clashes": fighters died, not civilians.
        etype, sub = "Battles", "Armed clash"
        rules.fired("fighters_killed_is_a_battle")
        if actor2 is not None and actor2.name == "Civilians":
            actor2 = None
    if etype == "Violence against civilians" and is_armed(actor2) and rules.enabled("violence_needs_civilian_victims"):
        etype, sub = "Battles", "Armed clash"  # violence against civilians needs civilian victims
        rules.fired("violence_needs_civilian_victims")
    return _finish_draft(slots, cited, article, ref, etype, sub, actor1, actor2, country, fatalities)


# A death named as what people are arrested for, not as a death in the arrest.
_A_CHARGE = re.compile(
    r"\b(?:in connection with|over|for|accused of|suspected of|charged with|behind)\s+(?:the\s+)?"
    r"(?:\w+\s+)?(?:killing|killings|murder|murders|death|deaths|lynching)\b",
    re.IGNORECASE,
)


def _without_initiator(text: str, initiator: str | None) -> str:
    """The text without the words that name who acted ("Suspected ADF rebels kill 25": the rebels killed,
    they are not the dead)."""
    if not initiator or not initiator.strip():
        return text
    words = [re.escape(w) for w in re.findall(r"[^\W\d_]+", initiator)]
    if not words:
        return text
    return re.sub(r"\b(?:suspected\s+)?" + r"\W+".join(words) + r"\b", " ", text, flags=re.IGNORECASE)


_CIVILIANS = Actor(name="Civilians", actor_type="civilians")
_UNIDENTIFIED = Actor(name="Unidentified armed group", actor_type="political_militia")

# Who reports or comments on violence (monitors, rescuers, rights groups, agencies, officials by title) is
# never a side of it; a small model often copies them from "according to ..." into an actor slot.
_REPORTER = re.compile(
    r"\b(?:observatory|civil defen[cs]e|white helmets|amnesty|human rights|red cross|red crescent|united nations|"
    r"unicef|ocha|m[ée]decins|msf|doctors without borders|save the children|news agency|press agency|reporters|media|"
    r"journalists?|health ministry|ministry of health|hospital|ombudsman|president|prime minister|minister|"
    r"governor|spokes(?:man|woman|person)|secretary[- ]general|mayor|officials?)\b",
    re.IGNORECASE,
)
_OBJECT = re.compile(
    r"\b(?:house|houses|home|homes|residential|store|shop|supermarket|hypermarket|mall|vehicle|car|bus)\b", re.I
)
_VIOLENT_TYPES = ("Battles", "Explosions/Remote violence", "Violence against civilians")


def _no_reporter_or_place(
    etype: str, actor1: Actor, actor2: Actor | None, slots: IncidentSlots
) -> tuple[Actor, Actor | None]:
    """Rule `no_reporter_or_place_as_actor`: in a violent event, a reporter or an official named as its
    initiator becomes an unidentified armed group, and a reporter, a place or a site named as its target
    gives way to civilians (an attack or explosion) or to no one (a battle)."""
    if etype not in _VIOLENT_TYPES:
        return actor1, actor2
    # The model's own words decide (the actor table may already have turned them into a generic name).
    places = {p.strip().lower() for p in (slots.location, slots.admin1, slots.country) if p}
    said1, said2 = (slots.actor1 or "").strip(), (slots.actor2 or "").strip()
    if _REPORTER.search(said1) and not is_armed(actor1) and actor1 != _UNIDENTIFIED:
        actor1 = _UNIDENTIFIED
        rules.fired("no_reporter_or_place_as_actor")
    if actor2 is not None and (not is_armed(actor2) or actor2 == _UNIDENTIFIED):
        name = said2.lower()
        if _REPORTER.search(name) or SITE_WORDS.search(name) or _OBJECT.search(name) or name in places:
            target = None if etype == "Battles" else _CIVILIANS
            if actor2 != target:
                actor2 = target
                rules.fired("no_reporter_or_place_as_actor")
    return actor1, actor2


def _roles_by_model(
    etype: str, sub: str, actor1: Actor, actor2: Actor | None, answers: IncidentMeaning
) -> Actor | None:
    """actor2 as the model's answer about who was hit says (rule `meaning_actors`): civilians hit by an attack
    or an explosion are its target when no unarmed target is named; a battle's other side is never civilians."""
    if not rules.enabled("meaning_actors"):
        return actor2
    if etype == "Battles" and actor2 is not None and actor2.name == "Civilians":
        rules.fired("meaning_actors")
        return None
    civilians_hit = answers.hit == "civilians" or (answers.hit == "both" and etype != "Battles")
    if (
        etype in ("Violence against civilians", "Explosions/Remote violence")
        and civilians_hit
        and (actor2 is None or (etype == "Violence against civilians" and is_armed(actor2)))
        and actor1.name != "Civilians"
    ):
        rules.fired("meaning_actors")
        return _CIVILIANS
    return actor2


def _intervener(country: str, text: str) -> Actor | None:
    """Rule `intervener_named`: a protest broken up with no force named by the model gets the police or
    military its sentences name ("police fired tear gas"): the codebook's other side of such a protest."""
    if not rules.enabled("intervener_named"):
        return None
    actor = intervener_named(country, text)
    if actor is not None:
        rules.fired("intervener_named")
    return actor


STRIKER_WINDOW = 4
CLAIM_WINDOW = 6


def _told_nearby(cited: list[Sentence], text: str, window: int) -> Iterator[Sentence]:
    """The incident's own sentences, then the next `window` of the article, up to one that starts another
    incident ("Elsewhere, ...")."""
    yield from cited
    last = max(c.number for c in cited)
    for s in _sentences_of(text):
        if last < s.number <= last + window:
            if _NEW_INCIDENT.match(s.text):
                return
            yield s


def _striker_nearby(country: str, cited: list[Sentence], text: str, location: str | None) -> Actor | None:
    """Rule `striker_named_nearby`: a strike whose striker the model left unidentified gets the state force its
    sentences, or one of the next few about it, name as flying or firing ("Russian warplanes carried out the
    raid", "activists blamed Russian jets"). A sentence that names another town is about another incident."""
    if not rules.enabled("striker_named_nearby"):
        return None
    own = {c.number for c in cited}
    for s in _told_nearby(cited, text, STRIKER_WINDOW):
        towns = towns_named(country, s.text) if s.number not in own else []
        if towns and not (location and any(names_place(location, t) or names_place(t, location) for t in towns)):
            continue
        actor = striker_named(country, s.text)
        if actor is not None:
            rules.fired("striker_named_nearby")
            return actor
    return None


def _claimant_nearby(country: str, cited: list[Sentence], text: str) -> Actor | None:
    """Rule `claimed_by_named_group`: an attack by unidentified men gets the armed group that a sentence about
    it, or one of the next few, says claimed it ("al-Shabaab claimed responsibility for the attack")."""
    if not rules.enabled("claimed_by_named_group"):
        return None
    for s in _told_nearby(cited, text, CLAIM_WINDOW):
        actor = claimant_named(country, s.text)
        if actor is not None:
            rules.fired("claimed_by_named_group")
            return actor
    return None


def _first_place(location: str | None, country: str) -> str | None:
    """Rule `one_place_per_location`: a location that lists places ("NTV, Hurum and Darawat", "Jibine and Tal
    Maleh") is the first of them; the codebook's location is one place (the others, when the sentence tells
    the incident at each, become events of their own, see `one_event_per_place`). A name the gazetteer knows
    whole stays whole."""
    if not location or not rules.enabled("one_place_per_location"):
        return location
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+|\s*&\s*", location) if p.strip()]
    if len(parts) < 2 or not all(p[:1].isupper() for p in parts) or place_known(country, location):
        return location
    rules.fired("one_place_per_location")
    return parts[0]


def _finish_draft(
    slots: IncidentSlots,
    cited: list[Sentence],
    article: Article,
    ref: date,
    etype: str,
    sub: str,
    actor1: Actor,
    actor2: Actor | None,
    country: str,
    fatalities: int,
) -> Draft:
    """Actors of protests and mobs, places and the date cue: the same for every way the type was settled."""
    text = article.text
    cited_text = " ".join(c.text for c in cited)
    if rules.enabled("protest_and_mob_actors"):
        paired = actors_for(etype, sub, actor1, actor2)
        if paired != (actor1, actor2):
            rules.fired("protest_and_mob_actors")
        actor1, actor2 = paired
    if sub in ("Protest with intervention", "Excessive force against protesters") and actor2 is None:
        actor2 = _intervener(country, cited_text)
    if sub in ("Air/drone strike", "Shelling/artillery/missile attack") and actor1 == _UNIDENTIFIED:
        actor1 = _striker_nearby(country, cited, text, slots.location) or actor1
    if etype in _VIOLENT_TYPES and actor1 == _UNIDENTIFIED:
        actor1 = _claimant_nearby(country, cited, text) or actor1
    location = _first_place(clean_place(slots.location, text), country)
    admin1 = clean_place(slots.admin1, text)
    if (slots.location and not location) or (slots.admin1 and not admin1):
        rules.fired("place_not_in_text")
    if location and location.lower() == country.lower():
        location = None
    if admin1 and admin1.lower() == country.lower():
        admin1 = None  # the country is not a first-level region
    if rules.enabled("town_for_site"):
        town = town_for_site(country, location, cited_text)
        if town is None and location and rules.enabled("town_for_site_nearby"):
            # the site's town told in a sentence nearby: the closest first, the one before on a tie
            # (the incident's own sentences were just read above)
            first, own = cited[0].number, {c.number for c in cited}
            nearby = sorted(_sentences_of(text), key=lambda s: (abs(s.number - first), s.number > first))[:8]
            for s in (s for s in nearby if s.number not in own):
                town = town_for_site(country, location, s.text)
                if town is not None:
                    rules.fired("town_for_site_nearby")
                    break
        if town is not None:
            rules.fired("town_for_site")
            location = town
    if rules.enabled("place_settled"):
        settled = settle_places(country, admin1, location, text)
        if settled != (admin1, location):
            rules.fired("place_settled")
        admin1, location = settled
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
    r"in another\b|in a separate\b)"
    # "Later on Saturday, another strike hit a building in central Kharkiv"
    r"|^[^.;]{0,40}\banother (?:\w+ )?(?:strike|attack|raid|blast|explosion|bombing|missile|drone|shell)s?\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def _sentences_of(text: str) -> tuple[Sentence, ...]:
    """An article's sentences, split once for all its incidents that look for a nearby town."""
    return tuple(split_sentences(text))


def _same_place(a: str, b: str) -> bool:
    """One place named twice, the second time more or less fully ("the mosque" / "a roadside mosque",
    "Kurmi" / "Kurmi village")."""
    x, y = (re.sub(r"^(?:the|a|an)\s+", "", p.strip().lower()) for p in (a, b))
    if x == y:
        return True
    short, long_ = sorted((x, y), key=len)
    return bool(short) and re.search(r"\b" + re.escape(short) + r"\b", long_) is not None


# "Sunday's attack on Gawa Qanqa village took place a day after ...": an incident named with a definite
# article or its day, as one the reader already knows.
_TOLD_BEFORE = re.compile(
    r"\b(?:[Tt]he|[Tt]his|[Tt]hat|[A-Z][a-z]+day[’']s)\s+(?:\w+\s+)?"
    r"(?:attack|assault|raid|ambush|massacre|killings|bombing|blast|explosion)\b"
)
_HARM_TYPES = frozenset({"Battles", "Explosions/Remote violence", "Violence against civilians", "Riots"})


def _told_before(a: Draft, b: Draft) -> bool:
    """Does sentence draft `b` name the violent incident of draft `a`, at its place, as one already told, adding
    no toll of its own? Then it is more about that incident, whatever code its own words suggest."""
    return (
        rules.enabled("told_before")
        and {a.event_type, b.event_type} <= _HARM_TYPES
        and bool(a.location and b.location and _same_place(a.location, b.location))
        and b.fatalities in (0, a.fatalities)
        and _TOLD_BEFORE.search(b.sentences[0].text) is not None
    )


def _compatible(a: Draft, b: Draft) -> bool:
    """Can sentence draft `b` be more about the incident of draft `a`?"""
    if a.event_type != b.event_type and not _told_before(a, b):
        return False
    if a.cue and b.cue and (a.cue.start != b.cue.start and not (a.cue.end and a.cue.start <= b.cue.start <= a.cue.end)):
        return False
    if a.location and b.location and not _same_place(a.location, b.location):
        return False
    # "Elsewhere", "In a separate incident": the writer says a new incident starts.
    if _NEW_INCIDENT.match(b.sentences[0].text):
        return False
    # A peaceful protest has no dead: deaths told nearby are another incident (an earlier crackdown).
    if "Peaceful protest" in (a.sub_event_type, b.sub_event_type) and (a.fatalities or b.fatalities):
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
    return b.actor2 is None or a.actor2 is None or is_generic(a.actor1) or is_generic(b.actor1)


# "four of the dead were children", "among them two women", "including 12 soldiers": a share of a toll.
_A_SHARE = re.compile(r"\b(?:of|among) (?:the (?:dead|victims|killed)|them|those)\b|\bincluding\b", re.IGNORECASE)


def _text_of(draft: Draft) -> str:
    return " ".join(s.text for s in draft.sentences)


def _merge(a: Draft, b: Draft) -> Draft:
    named: list[str] = []  # the rules that changed the merged incident
    actor1, actor2, assoc = a.actor1, a.actor2, list(a.assoc1)
    if is_generic(actor1) and not is_generic(b.actor1) and b.actor1.name not in {x.name for x in [actor2] if x}:
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
        low = a if a.fatalities <= b.fatalities else b
        if low.fatalities > 1 and rules.enabled("lowest_toll") and not _A_SHARE.search(_text_of(low)):
            # The codebook's toll is the lowest total reported for the event: a headline's "60 dead" over two
            # cities gives way to "30 people died in the capital". One victim named ("among the dead was a
            # journalist") or a share of the dead ("four of the dead were children") is a detail of the
            # incident, never its total.
            if low.fatalities != fatalities:
                fatalities = low.fatalities
                named.append("lowest_toll")
    sub_event_type = a.sub_event_type
    if a.event_type == "Explosions/Remote violence" and rules.enabled("event_code_from_sentence"):
        # "Maoists blow up vehicle" then "an improvised explosive device tore through it": the sentence
        # that names the weapon settles the sub-event type of the whole incident.
        if explosive_named(_text_of(a)) is None and explosive_named(_text_of(b)):
            if b.sub_event_type != sub_event_type:
                sub_event_type = b.sub_event_type
                named.append("event_code_from_sentence")
    return Draft(
        event_type=a.event_type,
        sub_event_type=sub_event_type,
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
        rules=list(dict.fromkeys([*a.rules, *b.rules, *named, "sentence_merge"])),
    )


def _merged(a: Draft, b: Draft) -> Draft:
    """`b` folded into `a`, recording `told_before` when only that rule let a sentence of another code join."""
    merged = _merge(a, b)
    if a.event_type != b.event_type:
        merged.rules = [*merged.rules, "told_before"]
    return merged


def group_drafts(drafts: list[Draft]) -> list[Draft]:
    """Fold each sentence into the incident just before it when they fit together.

    News copy tells one incident over several sentences ("Clashes broke out at
    dawn" / "The attack was led by ..." / "The clashes killed 29 ... and 31 ...");
    a sentence joins the incident right before it, or any earlier incident it
    matches on type, day, place and actors.
    """
    if not rules.enabled("sentence_merge"):
        return list(drafts)
    grouped: list[Draft] = []
    for draft in drafts:
        if grouped and _compatible(grouped[-1], draft):
            grouped[-1] = _merged(grouped[-1], draft)
            continue
        for i, kept in enumerate(grouped[:-1]):
            if (
                _compatible(kept, draft)
                and kept.actors & draft.actors
                and _same_place(kept.location or "", draft.location or "")  # both unnamed is the same too
            ):
                grouped[i] = _merged(kept, draft)
                break
        else:
            grouped.append(draft)
    return grouped


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
    for s in sentences[first : first + FOLLOWING_WINDOW + len(own)]:
        if s.number in own:
            continue
        if _NEW_INCIDENT.match(s.text):
            break
        # A headline or lede (which summarises) borrows from the next violent sentence; a later incident
        # only from a sentence that names its place, in any spelling.
        lede = first <= 3 and is_candidate(s)
        same_place = lede or bool(draft.location and names_place(draft.location, s.text))
        same_toll = bool(draft.fatalities) and states_deaths(s.text) and draft.fatalities in numbers_in(s.text)
        if same_place or same_toll:
            cue = date_cue(s.text, ref)
            if cue:
                return cue
    return None


_GENERIC_PLACE_WORDS = frozenset(
    "secondary primary high international national central northern southern eastern western upper lower "
    "general state province region county district street road town city village".split()
)


def names_place(location: str, text: str) -> bool:
    """Does the text name the place, in this or another spelling ("Lhubirira Secondary School" is named by
    "the school in Mpondwe-Lhubiriha")? A distinctive word of the name (not a site or generic word) must
    be in the text, spelled alike (edit similarity >= 80: one letter in five)."""
    if location.lower() in text.lower():
        return True
    from rapidfuzz import fuzz

    words = [w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) >= 5]
    for token in re.findall(r"[^\W\d_]+", location.lower()):
        if len(token) < 5 or token in _GENERIC_PLACE_WORDS or SITE_WORDS.search(token):
            continue
        if any(fuzz.ratio(token, w) >= 80 for w in words):
            return True
    return False


def event_from(
    draft: Draft, article: Article, ref: date, inherited: DateCue | None, sentences: list[Sentence]
) -> tuple[ConflictEvent, DateCue]:
    cue = draft.cue
    if cue is None and rules.enabled("date_from_other_sentence"):
        cue = following_cue(draft, sentences, ref) or inherited
        if cue is None:
            # Nothing in the incident itself: the closest earlier sentence with a date word.
            for s in reversed(sentences[: draft.sentences[0].number - 1]):
                cue = date_cue(s.text, ref)
                if cue:
                    break
        if cue is not None:
            draft.rules = [*draft.rules, "date_from_other_sentence"]
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
    event._rules = list(draft.rules)
    return event, cue


def article_block(article: Article, sentences: list[Sentence]) -> str:
    assert article.published is not None
    lines = [f"Published: {article.published.isoformat()} ({article.published.strftime('%A')})", ""]
    lines += [s.text for s in sentences]
    return "\n".join(lines)


MAX_SWEEP = 3


def _lede_for(sentence: Sentence, chunk: list[Sentence], text: str) -> Sentence | None:
    """The lede, when the listed sentence is the headline (rule `headline_read_with_lede`).

    A headline compresses its story ("Suspected rebels kill 25 in attack on school", "MSF counts 82 dead in
    prison raid"): who was hit and by what means the lede tells in full, the first body sentence that states
    harm (a scraped page may put a caption or a byline first, so the next three are looked at). The incident
    is read with both, so the code rules and the toll see what the lede says. A headline about a protest or
    an arrest, with no harm stated near it, is read alone."""
    if not rules.enabled("headline_read_with_lede") or sentence is not chunk[0] or len(chunk) < 2:
        return None
    own_line = text[sentence.end : sentence.end + 1] in ("\n", "")
    if not own_line or sentence.text.rstrip().endswith("."):
        return None  # the article starts with its lede, not a headline
    return next((s for s in chunk[1:4] if is_candidate(s) and (states_harm(s.text) or states_deaths(s.text))), None)


def _is_total(sentence: Sentence) -> bool:
    """A running total or a tally over a period, never an incident (rule `running_total`)."""
    return rules.enabled("running_total") and looks_like_total(sentence)


def _is_old(sentence: Sentence, ref: date) -> bool:
    """An incident dated only by a year long before the story is background (rule `old_background`)."""
    return rules.enabled("old_background") and dated_long_before(sentence.text, ref)


def _restates_a_toll(sentence: Sentence, known_tolls: set[int] | frozenset[int]) -> bool:
    """A listed toll again, or its per-side breakdown ("19 jihadists and 16 ..." of 35)."""
    stated = numbers_in(sentence.text) - {1}
    return bool(stated) and (stated <= set(known_tolls) or (len(stated) >= 2 and sum(stated) in known_tolls))


def sweep_candidates(
    sentences: list[Sentence],
    cited: set[int],
    known_tolls: set[int] | frozenset[int] = frozenset(),
    *,
    skip_lede: bool = True,
    limit: int = MAX_SWEEP,
    ref: date | None = None,
) -> list[Sentence]:
    """Sentences stating harm that no listed incident cites, in article order, at most MAX_SWEEP.

    The first two lines (headline and lede) restate the main incident the
    list already holds, so they are not swept; nor is a sentence whose every
    number is a toll already listed ("Ten people were killed, he said" after
    the strike that killed ten).
    """
    picked = []
    for s in sentences[2:] if skip_lede else sentences:
        if s.number in cited or not is_candidate(s) or _is_total(s) or not states_harm(s.text):
            continue
        if rules.enabled("toll_update_not_incident") and only_a_toll(s.text):
            continue  # a toll told again, of an incident told elsewhere
        if ref is not None and _is_old(s, ref):
            continue
        if _restates_a_toll(s, known_tolls):
            continue
        picked.append(s)
    return picked[:limit]


_HURT_OR_SHOT_AT = re.compile(r"\b(?:wound\w*|injur\w*|hurt|opened fire on|fired on|shot at)\b", re.IGNORECASE)


def _stands_without_deaths(draft: Draft, sentence: Sentence, *, screened_in: bool) -> bool:
    """May a swept incident that states no death be an event? Rape and abduction always; what the model
    screened in as an incident when it is of a kind that needs no death (a protest, riot, arrest, a change
    of territory) or tells its own day."""
    if draft.sub_event_type in ("Sexual violence", "Abduction/forced disappearance"):
        # when the sentence tells it (in English the code knows the words; elsewhere the model's reading stands)
        return languages.current() != languages.ENGLISH or tells_abduction_or_rape(sentence.text)
    if not screened_in:
        return False
    # Of what a yes/no screen lets through, agreements, "other" developments and attacks that hurt no one
    # are mostly statements about an incident (a condemnation, an inquiry, a truce announced), not one.
    if draft.event_type == "Strategic developments" and draft.sub_event_type not in ("Arrests",):
        return "territory" in draft.sub_event_type
    if draft.sub_event_type == "Attack":
        # an attack on people on a day of its own, who were shot at or hurt ("On November 1, militants opened
        # fire on two labourers"); other undeadly "attacks" are mostly statements about an incident
        return draft.cue is not None and _HURT_OR_SHOT_AT.search(sentence.text) is not None
    if draft.cue is None and draft.event_type in ("Battles", "Explosions/Remote violence"):
        # a clash or blast with no day of its own stands at a town its own sentence names ("while in Mastung
        # district gunmen raided a police station"), as one event per place; elsewhere it is mostly background
        return bool(draft.location) and _town_of_its_own(draft.country, draft.location or "", sentence.text)
    return draft.cue is not None or draft.event_type in ("Protests", "Riots") or "territory" in draft.sub_event_type


def _town_of_its_own(country: str, location: str, sentence: str) -> bool:
    """Does the sentence name the location as a town: one the gazetteer knows, or "the town of X"?"""
    return named_as_settlement(location, sentence) or any(
        names_place(town, location) for town in towns_named(country, sentence)
    )


def _places_told(drafts: list[Draft]) -> tuple[str, list[str]] | None:
    """The listed incidents' country and the places they are at or their sentences name."""
    if not drafts:
        return None
    country = Counter(d.country for d in drafts).most_common(1)[0][0]  # a tie: the first listed
    known = [p for d in drafts for p in (d.location, d.admin1) if p]
    known += [t for d in drafts for s in d.sentences for t in towns_named(country, s.text)]
    return country, known


def _names_a_new_place(sentence: Sentence, told: tuple[str, list[str]] | None) -> bool:
    """Does the sentence name a town or region of the incidents' country that none of them is at or names
    (rule `screen_new_place`)? The codebook codes one event per place and day: "Demonstrators also took to
    the streets in Khash" is an event of its own beside the march in Zahedan, with no day of its own."""
    if told is None or not rules.enabled("screen_new_place"):
        return False
    country, known = told
    towns = towns_named(country, sentence.text)
    return any(not any(names_place(k, town) or names_place(town, k) for k in known) for town in towns)


def screened(
    prompt: Prompt,
    caller: Any,
    block: str,
    sentences: list[Sentence],
    cited: set[int],
    harm: list[Sentence],
    *,
    skip_lede: bool,
    known_tolls: set[int] | frozenset[int] = frozenset(),
    ref: date | None = None,
    told: tuple[str, list[str]] | None = None,
) -> tuple[list[Sentence], set[int]]:
    """Harm sentences first, then the other candidate sentences the list left out that the model, asked one
    short question each (same cached prefix), says report a specific incident; at most `max_sweep`.

    Only sentences that give their own day are asked (rule `screen_dated_only`): a sentence that tells a
    new incident in news copy dates it ("On Monday, jets struck ..."), while the undated ones re-tell the
    listed incident or give background, and asking about those cost more precision than it gave. An
    undated sentence that names a town no listed incident is at is asked too (rule `screen_new_place`)."""
    limit = int(prompt.settings.get("max_sweep", MAX_SWEEP))
    picked = list(harm)
    screened_in: set[int] = set()
    others = [
        s
        for s in (sentences[2:] if skip_lede else sentences)
        if s.number not in cited
        and s not in harm
        and is_candidate(s)
        and not _is_total(s)
        and not _restates_a_toll(s, known_tolls)
        and not (ref is not None and _is_old(s, ref))
        and not (
            ref is not None
            and rules.enabled("screen_dated_only")
            and date_cue(s.text, ref) is None
            and not _names_a_new_place(s, told)
        )
    ]
    for sentence in others[: int(prompt.settings.get("max_screen", 6))]:
        if len(picked) >= limit:
            break
        try:
            answer = caller.ask(
                IncidentCheck,
                staged_messages(prompt, block, prompt.section("screen").replace("{sentence}", sentence.text)),
                stage="screen",
                max_tokens=16,
                max_retries=0,
            )
        except (InstructorRetryException, IncompleteOutputException):
            continue
        if answer.reports_incident:
            picked.append(sentence)
            screened_in.add(sentence.number)
    picked.sort(key=lambda s: s.number)
    return picked[:limit], screened_in


def _answers_about(
    prompt: Prompt, caller: Any, block: str, sentence: Sentence, place: str | None
) -> IncidentMeaning | None:
    """The model's answers to the `meaning` questions about one incident (same cached prefix, new last line)."""
    asked = meaning.question(prompt, sentence.text, place)
    return meaning.ask_meaning(caller, staged_messages(prompt, block, asked)) if asked else None


def staged_messages(prompt: Prompt, block: str, last: str) -> list[dict[str, str]]:
    """Every call of an article shares the system prompt and the article; only the last line differs,
    so llama.cpp reuses the evaluated prefix from call to call."""
    return [
        {"role": "system", "content": prompt.section("system")},
        {"role": "user", "content": f"{block}\n\n{last}"},
    ]


def sweep(
    article: Article,
    prompt: Prompt,
    caller: Any,
    sentences: list[Sentence],
    block: str,
    cited: set[int],
    ref: date,
    known_tolls: set[int],
    *,
    skip_lede: bool = True,
    told: tuple[str, list[str]] | None = None,
) -> list[Draft]:
    """One small fill call per harm sentence the list left out (same cached prefix, new last line).

    A swept sentence becomes an incident only with a toll the sentence really
    states (or a rape or abduction); sentences about an incident already listed
    are folded into it afterwards by `group_drafts`.
    """
    drafts = []
    limit = int(prompt.settings.get("max_sweep", MAX_SWEEP))
    picked = sweep_candidates(sentences, cited, known_tolls, skip_lede=skip_lede, limit=limit, ref=ref)
    screened_in: set[int] = set()
    if prompt.has_section("screen"):
        picked, screened_in = screened(
            prompt,
            caller,
            block,
            sentences,
            cited,
            picked,
            skip_lede=skip_lede,
            known_tolls=known_tolls,
            ref=ref,
            told=told,
        )
    for sentence in picked:
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
        answers = _answers_about(prompt, caller, block, sentence, slots.location)
        draft = draft_from(slots, [sentence], article, ref, answers)
        if draft is None:
            continue
        kept = _stands_without_deaths(draft, sentence, screened_in=sentence.number in screened_in)
        if draft.fatalities == 0 and not kept:
            continue
        draft.rules = [*draft.rules, "sweep"]
        if sentence.number in screened_in and draft.cue is None:  # the sentence's own day, found above
            draft.rules.append("screen_new_place")  # asked about only because it names a new place
        drafts.append(draft)
    return drafts


# An article block longer than this is split into chunks that each get their own list call
# (the system prompt and worked example stay the cached prefix). Characters, not tokens: a
# conservative budget for a 4,096-token context with the prompt and the answer's room.
MAX_CHUNK_CHARS = {"en": 7000, "fr": 6000, "es": 6000, "pt": 6000, "ar": 3500}
DEFAULT_CHUNK_CHARS = 4000


def chunks_of(sentences: list[Sentence], max_chars: int) -> list[list[Sentence]]:
    """Consecutive runs of sentences whose text fits in `max_chars` (a longer sentence is a chunk of its own)."""
    chunks: list[list[Sentence]] = [[]]
    size = 0
    for sentence in sentences:
        n = len(sentence.text) + 1
        if chunks[-1] and size + n > max_chars:
            chunks.append([])
            size = 0
        chunks[-1].append(sentence)
        size += n
    return [c for c in chunks if c]


def _clauses(sentence: Sentence) -> list[Sentence]:
    """The parts of a sentence between semicolons, as sentences with their own offsets in the article
    ("Rebels seize Goma airport; protesters attack embassies in Kinshasa")."""
    parts: list[Sentence] = []
    offset = 0
    for piece in sentence.text.split(";"):
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        if body:
            start = sentence.start + offset + lead
            parts.append(Sentence(sentence.number, start, start + len(body), body))
        offset += len(piece) + 1
    return parts


def _clause_index(sentence: Sentence, quote: str) -> int:
    """Which semicolon clause of the sentence the model's quote opens (0 when it cannot tell)."""
    clauses = _clauses(sentence)
    head = quote.strip(" .\"'")[:24].lower()
    for i, clause in enumerate(clauses):
        if head and head in clause.text.lower():
            return i
    return 0


def _sentences_split_by_the_list(located: list[tuple[IncidentSlots, Sentence | None]]) -> set[int]:
    """Rule `clause_of_its_own`: the sentences of which the model listed two incidents, quoting different
    semicolon clauses ("Rebels seize Goma airport; protesters attack embassies in Kinshasa"). Each incident is
    then read in its own clause, so the protest words of one do not recode the capture told in the other."""
    if not rules.enabled("clause_of_its_own"):
        return set()
    quoted: dict[int, set[int]] = {}
    for slots, sentence in located:
        if sentence is not None and ";" in sentence.text:
            quoted.setdefault(sentence.number, set()).add(_clause_index(sentence, slots.quote))
    return {number for number, clauses in quoted.items() if len(clauses) >= 2}


def _clause_quoted(sentence: Sentence, quote: str) -> Sentence:
    clauses = _clauses(sentence)
    return clauses[_clause_index(sentence, quote)] if clauses else sentence


def extract_staged(article: Article, prompt: Prompt, caller: Any) -> list[ConflictEvent]:
    """The staged design over one article, in the article's language (see `languages`)."""
    lang = languages.language_of(article.text)
    with languages.reading(lang):
        return _extract_staged(article, prompt, caller, lang)


def _extract_staged(article: Article, prompt: Prompt, caller: Any, lang: str) -> list[ConflictEvent]:
    assert article.published is not None
    sentences = split_sentences(article.text)
    ref = reference_day(sentences, article.published)
    drafts: list[Draft] = []
    for chunk in chunks_of(sentences, MAX_CHUNK_CHARS.get(lang, DEFAULT_CHUNK_CHARS)):
        drafts += _chunk_drafts(article, prompt, caller, sentences, chunk, ref, first=chunk[0] is sentences[0])
    drafts.sort(key=lambda d: d.sentences[0].number)

    events: list[ConflictEvent] = []
    inherited: DateCue | None = None
    for draft in group_drafts(drafts):
        event, cue = event_from(draft, article, ref, inherited, sentences)
        events.append(event)
        if cue.precision == 1:
            inherited = cue
    return events


def _chunk_drafts(
    article: Article,
    prompt: Prompt,
    caller: Any,
    sentences: list[Sentence],
    chunk: list[Sentence],
    ref: date,
    *,
    first: bool,
) -> list[Draft]:
    """The incidents of one chunk of the article: one list call, then the sweep of what it left out."""
    candidates = [s for s in chunk if is_candidate(s) and not looks_like_total(s)]
    if not candidates:
        return []  # no sentence carries an event cue: no event, and no model call
    block = article_block(article, chunk)
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
    seen: set[tuple[int, str, str]] = set()
    located = [(slots, locate(slots.quote, chunk)) for slots in listed]
    split = _sentences_split_by_the_list(located)
    for slots, sentence in located:
        # Only a sentence that exists can support an event; a running total
        # ("... since April") is never one, whatever the model says.
        if sentence is None or not is_candidate(sentence) or _is_total(sentence) or _is_old(sentence, ref):
            continue
        # The same sentence listed twice as the same incident is one incident; two places the sentence
        # names are two ("a woman was killed in Toretsk and a man in Velyka Novosilka").
        place = (slots.location or "").strip().lower()
        key = (sentence.number, slots.event, place if place and place in sentence.text.lower() else "")
        if key in seen:
            continue
        seen.add(key)
        answers = _answers_about(prompt, caller, block, sentence, slots.location)
        lede = _lede_for(sentence, chunk, article.text) if first else None
        own = _clause_quoted(sentence, slots.quote) if sentence.number in split else sentence
        draft = draft_from(slots, [own] if lede is None else [own, lede], article, ref, answers)
        if draft is not None:
            if lede is not None:
                draft.rules = [*draft.rules, "headline_read_with_lede"]
            if own is not sentence:
                draft.rules = [*draft.rules, "clause_of_its_own"]
            drafts.append(draft)
    if prompt.has_section("fill") and rules.enabled("sweep"):
        cited = {d.sentences[0].number for d in drafts}
        drafts += sweep(
            article,
            prompt,
            caller,
            chunk,
            block,
            cited,
            ref,
            {d.fatalities for d in drafts if d.fatalities},
            skip_lede=first,
            told=_places_told(drafts),
        )
    return one_event_per_place(drafts, article.text)


def _part_toll(part: str) -> int | None:
    """The dead one part of a sentence counts ("a 65-year-old woman was killed in Toretsk" is 1, "an 86-year-old
    man in Velyka Novosilka" is 1, "two children were killed - one in Frike" is 1, "and another in Khan
    Sheikhun" is 1): the one number stated after the part's last dash or colon, None when none or several."""
    tail = re.split(r"\s[—–-]\s|:\s", part)[-1]
    counts = numbers_in(tail)
    if not counts and re.search(r"\banother\b", tail, re.IGNORECASE):
        counts = {1}  # "and another (person) in ..."
    return next(iter(counts)) if len(counts) == 1 else None


def _means_of(part: PlacePart, event_type: str, sub_event_type: str) -> tuple[str, str]:
    """A clause's own weapon settles its explosion's sub-event type ("one in regime rocket fire in Frike and
    another in an air strike in Khan Sheikhun"); a plain list shares the incident's."""
    weapon = explosive_named(part.text) if not part.listed and event_type == "Explosions/Remote violence" else None
    return EVENT_CODES[weapon] if weapon is not None else (event_type, sub_event_type)


def one_event_per_place(drafts: list[Draft], text: str) -> list[Draft]:
    """Rule `one_event_per_place`: an incident whose sentence tells the same kind of incident at several towns
    ("protests in Doba and Sarh", "a woman was killed in Toretsk and a man in Velyka Novosilka") is one event
    per town, as the codebook codes one event per place and day "even in one sentence".

    The model's incident must be at one of the towns (the first, when its location names several: "Doba and
    Sarh"). Each town gets a copy of the incident at that town; a toll is split by the clause that tells each
    town (the one number the clause states; the remainder of the incident's toll for a clause that states
    none); a toll over a plain list of towns cannot be split, so such an incident stays one. A town that
    another incident of the same sentence is already at is left to it."""
    if not rules.enabled("one_event_per_place"):
        return drafts
    out: list[Draft] = []
    at = {(s.number, (d.location or "").lower()) for d in drafts for s in d.sentences}
    for draft in drafts:
        out.append(draft)
        if not draft.location:
            continue
        for sentence in draft.sentences:
            parts = places_apart(draft.country, sentence.text)
            own = [p for p in parts if names_place(p.town, draft.location) or names_place(draft.location, p.town)]
            if not own:
                continue  # the model put the incident elsewhere
            if parts[0].listed and draft.fatalities:
                break  # one toll over a list of towns: not split
            if parts[0].listed or not draft.fatalities or not states_deaths(sentence.text):
                tolls = [0] * len(parts)
            else:
                stated = [_part_toll(p.text) for p in parts]
                known = sum(t for t in stated if t is not None)
                unknown = [i for i, t in enumerate(stated) if t is None]
                rest = max(draft.fatalities - known, 0)
                tolls = [t if t is not None else (rest if len(unknown) == 1 else 0) for t in stated]
            split = [*draft.rules, "one_event_per_place"]
            for part, toll in zip(parts, tolls, strict=True):
                if part is own[0] or (sentence.number, part.town.lower()) in at:
                    continue
                at.add((sentence.number, part.town.lower()))
                admin1, location = settle_places(draft.country, None, part.town, text)
                etype, sub = _means_of(part, draft.event_type, draft.sub_event_type)
                out.append(
                    dataclasses.replace(
                        draft,
                        event_type=etype,
                        sub_event_type=sub,
                        admin1=admin1,
                        location=location,
                        fatalities=toll,
                        per_side=False,
                        sentences=[sentence],
                        rules=split,
                    )
                )
            draft.event_type, draft.sub_event_type = _means_of(own[0], draft.event_type, draft.sub_event_type)
            draft.location, draft.fatalities, draft.per_side = own[0].town, tolls[parts.index(own[0])], False
            draft.rules = split
            break
    return out
