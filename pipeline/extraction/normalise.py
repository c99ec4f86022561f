"""Code-side normalisation of the model's answers in the staged design.

Actor names onto the codebook's names and types (alias table `actors.json`),
places into their slots with the offline gazetteer (`settle_places`), geo
precision, the actor pairs of protests and mob violence, and the event code
corrected by the words of the incident's own sentence (`reconcile_event`).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from pipeline.paths import data_file
from schemas import Actor
from schemas.taxonomy import ActorType

# ---------------------------------------------------------------------------
# 4. code-side normalisation
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def actor_rules() -> dict[str, Any]:
    return json.loads(data_file("actors.json").read_text(encoding="utf-8"))


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
        return Actor(
            name=canonical, actor_type=ActorType(rules["named_types"].get(canonical, actor_type or "rebel_group"))
        )

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


_PLACE_PREFIX = re.compile(
    r"^(the\s+)?((town|city|village|villages|area|district|region|province|outskirts|countryside|suburb|locality)\s+of\s+)",
    re.IGNORECASE,
)
_NEAR = re.compile(
    r"\b(near|east of|west of|north of|south of|northeast of|northwest of|southeast of|southwest of|outskirts of|vicinity of|around|countryside of|close to|outside)\b",
    re.IGNORECASE,
)


def clean_place(value: str | None, article_text: str) -> str | None:
    if not value:
        return None
    place = _PLACE_PREFIX.sub("", value.strip()).strip(" ,.")
    if len(place) < 2 or place.lower() not in article_text.lower():
        return None  # a place the article never names is a guess
    return place


_REGION_WORD = r"\s+(?:province|governorate|region|state|district|county|oblast|prefecture)\b"
_DIRECTIONAL = re.compile(
    r"^(?:north|south|east|west|central|northern|southern|eastern|western|"
    r"north-?eastern|north-?western|south-?eastern|south-?western)\b",
    re.IGNORECASE,
)


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
    from pipeline.geo.gazetteer import country_code, country_index
    from pipeline.geo.names import normalize

    if location and _DIRECTIONAL.search(location):
        location = None  # "northwestern Syria" names a direction, not a place
    cc = country_code(country)
    if cc is None:
        return admin1, location
    idx = country_index(cc)
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
        admin1 = (
            exact_region(town_hit, town)
            or region_of(location)
            or region_named_in(idx, _sentences_naming(text, location or town))
        )
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


GENERIC_NAMES = {"Rebel groups", "Unidentified armed group", "Civilians", "Protesters", "Rioters"}


def is_generic(actor: Actor) -> bool:
    """A catch-all name (`GENERIC_NAMES`) or a country's military or police forces, not a specific group."""
    return actor.name in GENERIC_NAMES or actor.name.startswith(("Military Forces of", "Police Forces of"))


# What the sentence says happened, in the words the codebook's sub-event types
# are defined by. A small model's event code leans towards its worked examples
# ("air strike" for a roadside bomb, "attack" for shelling or a lynching);
# these words in the incident's own sentence settle the code.
_EXPLOSION_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern, re.IGNORECASE))
    for code, pattern in (
        (
            "explosion_suicide_bomb",
            r"\bsuicide[- ](?:bomb\w*|attack\w*|car bomb\w*|vest)|\bblew (?:himself|herself|themselves) up",
        ),
        (
            "explosion_remote_explosive_landmine_ied",
            r"\b(?:roadside (?:bomb|blast|explosion)s?|improvised explosive|IEDs?|land ?mines?|car bombs?|explosive devices?|"
            r"bombs? (?:exploded|went off|blast)|planted (?:a |an )?(?:bomb|explosive))",
        ),
        ("explosion_grenade", r"\bgrenades?\b"),
        (
            "explosion_air_or_drone_strike",
            r"\b(?:air ?strikes?|air raids?|warplanes?|war planes?|jets?|drones?|helicopters?|barrel bombs?|aerial)\b",
        ),
        ("explosion_shelling_artillery_missile", r"\b(?:shell(?:s|ed|ing)?|artillery|rockets?|missiles?|mortars?)\b"),
    )
)
_SEXUAL_WORDS = re.compile(
    r"\b(?:rap(?:e|ed|es|ing)|sexual(?:ly)? (?:violence|assault\w*|abuse\w*|violated))\b", re.IGNORECASE
)
_ABDUCTION_WORDS = re.compile(
    r"\b(?:abduct\w*|kidnap\w*|taken hostage|held hostage|forcibly disappeared)\b", re.IGNORECASE
)
_MOB_WORDS = re.compile(r"\b(?:mobs?|lynch\w*)\b", re.IGNORECASE)
CLASH_WORDS = re.compile(
    r"\b(?:clash(?:es|ed)?|fighting|fought|gun ?battles?|firefights?|skirmish\w*|exchanged? fire|"
    r"attacked (?:\w+ ){0,2}positions)\b",
    re.IGNORECASE,
)
# Armed men as the ones who died or fought: a sentence about them, with nothing
# fired from afar and no civilian in it, tells a battle.
FIGHTER_WORDS = re.compile(
    r"\b(?:fighters|combatants|soldiers|troops|forces|rebels|jihadists|militants|insurgents|gunmen|loyalists|"
    r"servicemen|policemen|police officers)\b",
    re.IGNORECASE,
)
_PROTEST_WORDS = re.compile(r"\b(?:protest\w*|demonstrat(?:ors?|ions?|ed|ing)|rall(?:y|ies))\b", re.IGNORECASE)


def _is_state(actor: Actor | None) -> bool:
    return actor is not None and actor.actor_type in (ActorType.STATE_FORCES, ActorType.EXTERNAL_FORCES)


def is_armed(actor: Actor | None) -> bool:
    """State, external or rebel forces, or a militia."""
    return actor is not None and actor.actor_type in (
        ActorType.STATE_FORCES,
        ActorType.EXTERNAL_FORCES,
        ActorType.REBEL_GROUP,
        ActorType.POLITICAL_MILITIA,
        ActorType.IDENTITY_MILITIA,
    )


def actors_for(etype: str, sub: str, actor1: Actor, actor2: Actor | None) -> tuple[Actor, Actor | None]:
    """Actors as the codebook pairs them for protests and mob violence."""
    if etype == "Protests":
        # Protesters act; the other side is the force that intervened, if any.
        state = actor1 if _is_state(actor1) else actor2 if _is_state(actor2) else None
        protesters = Actor(name="Protesters", actor_type=ActorType.PROTESTERS)
        return protesters, (state if sub != "Peaceful protest" else None)
    if sub == "Mob violence" and not _is_state(actor1):
        return Actor(name="Rioters", actor_type=ActorType.RIOTERS), Actor(
            name="Civilians", actor_type=ActorType.CIVILIANS
        )
    return actor1, actor2


def reconcile_event(code: str, sentence: str, fatalities: int) -> str:
    """The event code, corrected by what the incident's sentence says happened."""
    family = code.split("_")[0]
    protest_said = bool(_PROTEST_WORDS.search(sentence))
    # Protesters met by force: with excessive force when some died.
    protest_code = "protest_excessive_force_against_protesters" if fatalities else "protest_with_intervention"
    if (
        _SEXUAL_WORDS.search(sentence)
        and code != "violence_against_civilians_sexual_violence"
        and (fatalities == 0 or family not in ("explosion", "battle"))
        and not (family == "protest" and protest_said)
    ):  # a march against rape is a protest
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
            if CLASH_WORDS.search(sentence) or FIGHTER_WORDS.search(sentence):
                return "battle_armed_clash"
            if not _BLAST_WORDS.search(sentence):
                # No weapon fired from afar and no blast: armed men attacking people.
                return "violence_against_civilians_attack"
    return code


# An explosion the sentence names without saying what exploded: the model's explosion code stands.
_BLAST_WORDS = re.compile(r"\b(?:explo\w*|blasts?|bomb\w*|detonat\w*|blew up)\b", re.IGNORECASE)
