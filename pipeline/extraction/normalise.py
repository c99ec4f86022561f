"""Code-side normalisation of the model's answers in the staged design.

Actor names onto the codebook's names and types (the actor table `actors.json`,
see `normalise_actor`), places into their slots with the offline gazetteer
(`settle_places`), geo precision, the actor pairs of protests and mob violence,
and the event code corrected by the words of the incident's own sentence
(`reconcile_event`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from unidecode import unidecode

from pipeline.extraction import rules
from pipeline.paths import data_file
from schemas import Actor
from schemas.taxonomy import ActorType

# ---------------------------------------------------------------------------
# 4. code-side normalisation: actors
# ---------------------------------------------------------------------------


class GuessedActor(Actor):
    """An actor no rule could type: a name the article contains, with nothing in its words to tell what it is.

    It carries the default type (political militia) like any actor, but the type
    is a guess, so it is no evidence that the target of an attack was armed
    (`is_armed` is false): a person's or a village's name must not turn violence
    against civilians into a battle.
    """


@lru_cache(maxsize=1)
def actor_rules() -> dict[str, Any]:
    """The actor table, with the views other code reads derived from its `groups`.

    `named` (canonical name -> aliases), `named_types` (canonical name -> actor
    type) and `countries` (canonical name -> countries where it operates).
    """
    rules = json.loads(data_file("actors.json").read_text(encoding="utf-8"))
    rules["named"] = {g["name"]: list(g["aliases"]) for g in rules["groups"]}
    rules["named_types"] = {g["name"]: g["type"] for g in rules["groups"]}
    rules["countries"] = {g["name"]: list(g["countries"]) for g in rules["groups"]}
    return rules


def _plain(text: str) -> str:
    """ASCII spelling with the case kept: accents, curly quotes and dashes folded."""
    return unidecode(unicodedata.normalize("NFC", text))


def _key(text: str) -> str:
    """Whole-name comparison key: case, accents, apostrophes, punctuation and a leading "the" ignored."""
    s = re.sub(r"'", "", _plain(text).casefold())
    s = re.sub(r"[^0-9a-z]+", " ", s).strip()
    return s[4:] if s.startswith("the ") else s


def _has_acronym(text: str) -> bool:
    """A word of two capitals or more, or a capital with a digit ("HTS", "FAMa", "M23", "ULA/AA")."""
    return any(
        sum(c.isupper() for c in w) >= 2 or (any(c.isupper() for c in w) and any(c.isdigit() for c in w))
        for w in re.split(r"[\s/()-]+", text)
    )


_MODIFIER_AFTER = r"(?!\s+(?:affiliated?|linked|allied|aligned|backed|inspired|offshoot|splinter)\b)"


def _alias_pattern(alias: str) -> re.Pattern[str]:
    """An alias as a case-aware pattern inside a longer name or a text.

    Acronyms match exactly; other aliases as written, except the case of their
    first letter ("al-Shabaab" / "Al-Shabaab") and of Arabic article particles.
    Spaces and hyphens are interchangeable and an apostrophe is optional. A
    name followed by "affiliated", "linked"... qualifies another group.
    """
    a = _plain(alias)
    exact = _has_acronym(a)
    out: list[str] = []
    for i, ch in enumerate(a):
        if ch in " -":
            if not out or out[-1] != r"[\s-]+":
                out.append(r"[\s-]+")
        elif ch == "'":
            out.append("'?")
        elif (
            ch.isalpha()
            and not exact
            and (i == 0 or (a[i - 1] in " -" and re.match(r"(?:a[lnrstdz]|e[ln]|ash)-", a[i:])))
        ):
            out.append(f"[{ch.upper()}{ch.lower()}]")
        else:
            out.append(re.escape(ch))
    # not inside a longer word or hyphenated compound ("Hezbollah-backed"), except the group leading ("HTS-led")
    return re.compile(r"(?<![\w-])" + "".join(out) + r"(?!\w|-(?!led\b))" + _MODIFIER_AFTER)


@dataclass(frozen=True)
class _Entry:
    name: str
    type: str
    countries: tuple[str, ...]  # the first is its home when it is a state force
    aliases: tuple[tuple[str, re.Pattern[str]], ...]  # (alias, pattern), canonical name first


@dataclass(frozen=True)
class _Table:
    entries: dict[str, _Entry]
    by_key: dict[str, list[_Entry]]
    demonyms: tuple[tuple[str, re.Pattern[str]], ...]  # (country, pattern of its names and demonyms)
    country_by_key: dict[str, str]
    branches: dict[str, dict[str, str]]
    generic_words: frozenset[str]


def _word_pattern(words: list[str]) -> re.Pattern[str]:
    """Names and demonyms of a country: acronyms in capitals only, other words in any case."""
    plain = sorted((_plain(w) for w in words), key=len, reverse=True)
    acronyms = [re.escape(w) for w in plain if _has_acronym(w)]
    others = [re.escape(w).replace(r"\ ", r"[\s-]+") for w in plain if not _has_acronym(w)]
    alternatives = ([f"(?i:{'|'.join(others)})"] if others else []) + acronyms
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?!\w)")


@lru_cache(maxsize=1)
def _table() -> _Table:
    rules = actor_rules()
    entries: dict[str, _Entry] = {}
    by_key: dict[str, list[_Entry]] = {}
    for g in rules["groups"]:
        names = [g["name"], *g["aliases"]]
        entry = _Entry(
            name=g["name"],
            type=g["type"],
            countries=tuple(g["countries"]),
            aliases=tuple((a, _alias_pattern(a)) for a in names),
        )
        entries[entry.name] = entry
        for a in names:
            by_key.setdefault(_key(a), []).append(entry)
    words = rules["words"]
    generic = {
        w for k in ("civilians", "protesters", "rioters", "armed", "institution", "descriptors") for w in words[k]
    }
    return _Table(
        entries=entries,
        by_key=by_key,
        demonyms=tuple((c, _word_pattern(ws)) for c, ws in rules["demonyms"].items()),
        country_by_key={_key(w): c for c, ws in rules["demonyms"].items() for w in [c, *ws]},
        branches=rules.get("branches", {}),
        generic_words=frozenset(generic),
    )


def canonical_country(country: str | None) -> str:
    """The table's name of a country given by a name or demonym ("Burmese", "DR Congo"); else the input."""
    c = (country or "").strip()
    return _table().country_by_key.get(_key(c), c) if c else ""


def _forces(kind: str, country: str) -> str:
    """ "Military Forces of Syria", "Police Forces of the Philippines"."""
    the = "the " if country in actor_rules().get("with_the", []) else ""
    return f"{kind} Forces of {the}{country}"


def _demonym_hits(text: str) -> list[tuple[int, int, str]]:
    """Countries named in `text`, as (start, end, country), earliest and longest first, without overlaps."""
    hits = [(m.start(), m.end(), c) for c, p in _table().demonyms for m in p.finditer(text)]
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    out: list[tuple[int, int, str]] = []
    for h in hits:
        if not out or h[0] >= out[-1][1]:
            out.append(h)
    return out


def _country_of(name: str) -> str | None:
    """Whose forces a name means: the first country it names, not as a sponsor ("Russian-backed", "pro-Turkish")."""
    plain = _plain(name)
    modifiers = "|".join(actor_rules()["words"]["hyphen_modifiers"])
    for start, end, country in _demonym_hits(plain):
        if re.match(rf"-(?:{modifiers})\b", plain[end:], re.IGNORECASE):
            continue
        if re.search(r"\b(?:pro|anti)-$", plain[:start], re.IGNORECASE):
            continue
        return country
    return None


def _country_named(raw: str) -> str | None:
    """The country an actor name is nothing but ("Syria", "Russia", "the Syrian government")."""
    core = re.sub(r"\s+(government|regime|state|authorities)$", "", raw.strip(), flags=re.IGNORECASE)
    core = re.sub(r"'s$|’s$", "", core)
    return _table().country_by_key.get(_key(core)) if core else None


def _named_countries(name: str) -> frozenset[str]:
    return frozenset(c for _, _, c in _demonym_hits(_plain(name)))


def _allowed(entry: _Entry, country: str, named: frozenset[str]) -> bool:
    """An entry applies to events in its countries, or when the name itself names one of them (`named`)."""
    return not country or country in entry.countries or not named.isdisjoint(entry.countries)


def _exact_entry(raw: str, country: str) -> _Entry | None:
    """The entry whose canonical name or alias the whole name is (case and punctuation ignored)."""
    named = _named_countries(raw)
    for key in dict.fromkeys([_key(raw), _key(re.sub(r"\s*\([^)]*\)\s*$", "", raw))]):
        candidates = [e for e in _table().by_key.get(key, []) if _allowed(e, country, named)]
        if candidates:
            # the entry of the event's country before one the name merely names
            return next((e for e in candidates if country in e.countries), candidates[0])
    return None


def _entry_inside(raw: str, country: str) -> _Entry | None:
    """The entry whose alias occurs inside a longer name: the longest alias, then the last one."""
    plain = _plain(raw)
    named = _named_countries(raw)
    best: tuple[int, int, _Entry] | None = None
    for entry in _table().entries.values():
        if not _allowed(entry, country, named):
            continue
        for alias, pattern in entry.aliases:
            for m in pattern.finditer(plain):
                score = (len(alias), m.start())
                if best is None or score > best[:2]:
                    best = (*score, entry)
    return best[2] if best else None


@lru_cache(maxsize=4096)
def _entry_in_text(name: str, text: str) -> bool:
    """Does the article name this entry (its canonical name or an alias, case-aware)?"""
    plain = _plain(text)
    return any(p.search(plain) for _, p in _table().entries[name].aliases)


_GENERIC_OF_TYPE = {
    "rebel_group": ("Rebel groups", ActorType.REBEL_GROUP),
    "civilians": ("Civilians", ActorType.CIVILIANS),
    "protesters": ("Protesters", ActorType.PROTESTERS),
    "rioters": ("Rioters", ActorType.RIOTERS),
}


def _generic(kind: str | None, country: str, where: str | None = None) -> Actor:
    """The codebook's generic actor for a kind of actor."""
    if kind in ("state_forces", "external_forces"):
        where = where or country
        atype = ActorType.STATE_FORCES if where == country else ActorType.EXTERNAL_FORCES
        return Actor(name=_forces("Military", where), actor_type=atype)
    name, atype = _GENERIC_OF_TYPE.get(kind or "", ("Unidentified armed group", ActorType.POLITICAL_MILITIA))
    return Actor(name=name, actor_type=atype)


def _from_entry(entry: _Entry, country: str, text: str, raw: str) -> Actor:
    """The actor a table entry stands for in this event's country (`raw`: the model's name for it)."""
    state_name = entry.name.startswith(("Military Forces of", "Police Forces of"))
    said = _entry_in_text(entry.name, text) or _plain(raw).lower() in _plain(text).lower()
    if text and not state_name and not said:
        # A named group the article never names is the model's guess: keep only what kind of actor it is.
        return _generic(entry.type if entry.type != "state_forces" else None, country)
    branch = _table().branches.get(entry.name, {}).get(country)
    if branch:
        entry = _table().entries[branch]
    atype = ActorType(entry.type)
    if atype == ActorType.STATE_FORCES and country:
        # A state's forces are external forces outside their own country.
        home = canonical_country(re.sub(r"^(?:Military|Police) Forces of (?:the )?", "", entry.name))
        if not state_name:
            home = entry.countries[0]
        if home != country:
            atype = ActorType.EXTERNAL_FORCES
    return Actor(name=entry.name, actor_type=atype)


_SPLIT = re.compile(
    r"\s+(?:of|from|in|at|on|near|with|and|or|loyal to|linked to|allied (?:to|with)|affiliated (?:to|with)|"
    r"belonging to|backed by|supported by|led by|under)\s+|\s*[,;(]\s*",
    re.IGNORECASE,
)


def _head(raw: str) -> str:
    """The part of a name before its qualifiers: "Residents" of "Residents of Saluti", "Syrian regime" of "Syrian regime and Russian forces"."""
    return _SPLIT.split(raw, maxsplit=1)[0].strip() or raw


def _tokens(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][\w'.]*(?:-[\w'.]+)*", _plain(text))


def _proper_words(segment: str) -> list[str]:
    """The capitalised words of a name that are not demonyms, country names or generic words.

    "Syrian regime forces", "Islamist militants", "Russian-backed government
    forces" have none; "People's Defence Force", "Arakan Army", "Free Syrian
    Army" do. A capitalised possessive ("People's") is always a proper part.
    """
    words = actor_rules()["words"]
    generic = _table().generic_words
    modifiers = set(words["hyphen_modifiers"]) | {"pro", "anti", "ex", "non", "self"}
    out = []
    for token in _tokens(segment):
        if not token[0].isupper():
            continue
        base = re.sub(r"'s?$", "", token)
        if base.lower() in generic:
            continue
        if _country_named(base) or _demonym_hits(base) and _demonym_hits(base)[0][:2] == (0, len(base)):
            continue
        if token.endswith("'s"):
            out.append(token)
            continue
        parts = [p for p in base.split("-") if p]
        if len(parts) > 1 and parts[-1].lower() in modifiers:
            continue  # "Russian-backed", "al-Qaeda-linked": who stands behind, not who acts
        if all(
            p.lower() in generic or p.lower() in modifiers or p.lower() in words["particles"] or _country_named(p)
            for p in parts
        ):
            continue
        out.append(token)
    return out


def _unarmed_kind(segment: str, whole: str) -> str | None:
    """Civilians, protesters or rioters when the name's head noun says so ("Amhara civilians", "Houthi supporters").

    Not when an armed word comes after it ("Civilian Joint Task Force", "People's
    Defence Force"), the name is armed ("armed men") or its capitalised head noun
    is part of a proper name ("Bakassi Boys"). `segment` is the head of the name,
    `whole` the whole name ("members of the Amhara ethnic group": a people).
    """
    words = actor_rules()["words"]
    tokens = _tokens(segment)
    if not tokens or re.search(r"\barmed\b|\bgunm[ae]n\b", segment, re.IGNORECASE):
        return None
    kinds = {k: set(words[k]) for k in ("civilians", "protesters", "rioters")}
    armed = (set(words["armed"]) | set(words["institution"])) - {"members", "member"}
    last = None
    for i, token in enumerate(tokens):
        low = re.sub(r"'s?$", "", token.lower())
        kind = next((k for k, ws in kinds.items() if low in ws), None)
        if kind:
            last = (i, token, kind)
        elif low in armed:
            last = None
    if last is None:
        # "members of the Amhara ethnic group", "the Kuki community": a people, not a militia.
        people = re.search(
            r"\b(?:ethnic (?:group|community|minority)|communit(?:y|ies)|tribes?|minorit(?:y|ies))$", whole, re.I
        )
        armed_before = people and re.search(
            r"militia|fighters|gunmen|vigilante|\barmed\b|forces?\b|army|soldiers|troops|police|rebels|militants",
            whole[: people.start()],
            re.I,
        )
        return "civilians" if people and not armed_before else None
    i, token, kind = last
    if i > 0 and token[0].isupper() and _proper_words(segment):
        return None
    return kind


def _kind_from_words(name: str) -> str | None:
    """The actor type a name's own words tell (militia, army, front, brigade, liberation...), if any."""
    lower = _plain(name).lower()
    for kind, pattern in actor_rules()["kinds"].items():
        if re.search(pattern, lower):
            return kind
    return None


def _looks_like_person(name: str) -> bool:
    """Two to four capitalised words with no group, state or generic word: a person's name ("Kanyonyi Baluku")."""
    words = actor_rules()["words"]
    tokens = _plain(name).split()
    if not 2 <= len(tokens) <= 4 or _kind_from_words(name) or _demonym_hits(_plain(name)):
        return False
    particles = set(words["particles"])
    for t in tokens:
        low = t.lower()
        if low in particles or re.match(r"(?:al|el|bin|ibn|abu)-", low):
            continue
        if not re.fullmatch(r"[A-Z][a-z'-]+", t) or low in _table().generic_words:
            return False
    return True


_FOLLOWERS = r"\b(?:supporters|activists|sympathi[sz]ers|followers|cadres|loyalists)$"


def normalise_actor(name: str | None, actor_type: str | None, country: str, text: str) -> Actor | None:
    """Map a free-text actor name onto the codebook's names and types; a specific name is never made generic.

    In order: a name the table knows as a whole (case ignored); unarmed people
    named by what they are (civilians, protesters, rioters); a table name inside
    a longer description (case-aware); a country named as the actor; police and
    state forces, whose country is the one the name gives (else the event's); the
    codebook's generic names, only when no proper-name part is left; otherwise
    the model's own name when the article contains it, typed from its words.
    Table entries apply in their countries only, and a named group the article
    never names falls back to its kind's generic name.
    """
    if not name or not name.strip():
        return None
    rules = actor_rules()
    patterns = rules["patterns"]
    country = canonical_country(country)
    raw = re.sub(r"^(the|a|an)\s+", "", " ".join(name.split()), flags=re.IGNORECASE).strip(" .,;:")
    if not raw:
        return None
    entry = _exact_entry(raw, country)
    if entry is not None:
        return _from_entry(entry, country, text, raw)
    head = _head(raw)
    unarmed = _unarmed_kind(head, raw)
    entry = _entry_inside(raw, country)
    if (
        unarmed == "protesters"
        and entry is not None
        and entry.type == "political_militia"
        and re.search(_FOLLOWERS, head, re.IGNORECASE)
    ):
        unarmed = None  # a party's activists in a clash are its militia (a protest pairs them as protesters anyway)
    if unarmed:
        return _generic(unarmed, country)
    if entry is not None:
        return _from_entry(entry, country, text, raw)
    country_named = _country_named(raw) or _country_named(head)
    if country_named:
        # "Syria", "the Syrian government": the state acting, through its forces.
        return _generic("state_forces", country, country_named)
    lower_head = _plain(head).lower()
    proper = _proper_words(head)
    not_state = re.search(patterns["not_state"], lower_head)
    if re.search(patterns["police"], _plain(raw).lower()) and not not_state:
        # Regional and special police are their country's police ("Balochistan Police", "Kenya Police").
        where = _country_of(raw) or country
        return Actor(name=_forces("Police", where), actor_type=ActorType.STATE_FORCES)
    stateish = re.search(patterns["state"], lower_head) or (
        re.search(patterns["state_weapons"], lower_head) and _country_of(head)
    )
    if stateish and not not_state and not proper:
        # "regime forces", "government troops": the forces of the country the name gives, else the event's.
        return _generic("state_forces", country, _country_of(raw) or country)
    if not proper:
        for kind, pattern in (
            ("protesters", "protesters"),
            ("rioters", "rioters"),
            ("rebel_group", "rebels"),
            (None, "unidentified"),
            ("civilians", "civilians"),
        ):
            if re.search(patterns[pattern], lower_head):
                return _generic(kind, country)
    head_tokens = _tokens(head)
    if head_tokens and head_tokens[-1].lower() in rules["words"]["events"]:
        return _generic(None, country)  # "Idlib clashes": an event, not who took part in it
    kind = actor_type or _kind_from_words(raw)
    if text and _plain(raw).lower() in _plain(text).lower():
        # A specific name the article contains is kept, typed from its own words.
        if kind:
            return Actor(name=raw[:80], actor_type=ActorType(kind))
        if _looks_like_person(raw):
            return Actor(name=raw[:80], actor_type=ActorType.CIVILIANS)
        return GuessedActor(name=raw[:80], actor_type=ActorType.POLITICAL_MILITIA)
    # A specific name the article does not contain is a guess: fall back to a generic name.
    if kind == "state_forces":
        return _generic("state_forces", country, _country_of(raw) or country)
    return _generic(kind if kind in _GENERIC_OF_TYPE else None, country)


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
        if words and words[0].lower() == "the":
            words = words[1:]  # "The Idlib province town of ...": the region is "Idlib"
        for k in range(len(words)):  # "Western Bahr el Ghazal" before "Ghazal"
            name = " ".join(words[k:])
            code, confidence = idx.match_admin1(name)
            if code is not None and confidence >= 0.9:
                found.setdefault(code, name)
                break
    return next(iter(found.values())) if len(found) == 1 else None


def _gazetteer_of(country: str) -> Any | None:
    """The offline gazetteer's index of the country's places and regions, or None for a country it lacks."""
    from pipeline.geo.gazetteer import country_code, country_index

    cc = country_code(country)
    return country_index(cc) if cc is not None else None


def _exact_place(idx: Any, name: str) -> bool:
    """Does the gazetteer know this name, or one of its other spellings, exactly, as a place?"""
    hit = idx.match_place(name, None)
    return hit is not None and hit.method == "exact"


# An exact gazetteer hit this confident names one place (an alternate spelling of an unambiguous name).
UNAMBIGUOUS_EXACT = 0.9


def settle_places(country: str, admin1: str | None, location: str | None, text: str) -> tuple[str | None, str | None]:
    """Put each name in its slot: admin1 a first-level region, location a place.

    A small model often writes the town into admin1 ("Manbij") or a region
    into location ("northwestern Syria", "Idlib" of "Idlib province"). The
    offline gazetteer tells regions from places; nothing here is guessed from
    outside the article, except the region a named town lies in.
    """
    from pipeline.geo.names import normalize

    if location and _DIRECTIONAL.search(location):
        location = None  # "northwestern Syria" names a direction, not a place
    idx = _gazetteer_of(country)
    if idx is None:
        return admin1, location
    code, confidence = idx.match_admin1(admin1) if admin1 else (None, 0.0)

    def exact_region(hit: Any, place: str, *, other_spelling: bool = False) -> str | None:
        # Only an exact gazetteer name: a fuzzy hit puts a village in another region. With
        # `other_spelling`, an exact hit on another spelling the gazetteer lists for one place
        # ("Wad Madani" of Wad Medani) counts too, after the regions the article itself names.
        if hit is not None and hit.method == "exact":
            if normalize(hit.matched_name) == normalize(place):
                return hit.admin1
            if other_spelling and hit.confidence >= UNAMBIGUOUS_EXACT:
                return hit.admin1
        return None

    def region_of(place: str | None, *, other_spelling: bool = False) -> str | None:
        return exact_region(idx.match_place(place, None), place, other_spelling=other_spelling) if place else None

    if admin1 and code is None:
        # Not a region of this country: a town (or a district) given as admin1.
        town, town_hit = admin1, idx.match_place(admin1, None)
        admin1 = (
            exact_region(town_hit, town)
            or region_of(location)
            or region_named_in(idx, _sentences_naming(text, location or town))
            or exact_region(town_hit, town, other_spelling=True)
            or region_of(location, other_spelling=True)
        )
        if location is None and town_hit is not None:
            location = town
    elif admin1 is None:
        admin1 = (
            region_of(location)
            or region_named_in(idx, _sentences_naming(text, location))
            or region_of(location, other_spelling=True)
        )
    elif code is not None and confidence < 1.0 and admin1:
        admin1 = idx.admin1_names.get(code, admin1)  # "Khyber" -> "Khyber Pakhtunkhwa"
    if location and admin1 and location.lower() == admin1.lower():
        # "Idlib" of "Idlib province" is the region; "Nairobi" of "in Nairobi" is the city.
        if re.search(re.escape(location) + _REGION_WORD, text, re.IGNORECASE):
            location = None
    if admin1:
        admin1 = _region_as_written(idx, admin1, text)
    return admin1, location


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]+(?:[ -][A-Z][\w'’-]+){0,2}")


def _region_as_written(idx: Any, admin1: str, text: str) -> str:
    """The region as the article spells it: the gazetteer's "Northern Darfur" is "North Darfur" in the story,
    its "Rangpur Division" is "Rangpur". A name in the text that shares a word with the region and that the
    gazetteer matches to the same region, confidently."""
    if re.search(r"\b" + re.escape(admin1) + r"\b", text, re.IGNORECASE):
        return admin1
    code, confidence = idx.match_admin1(admin1)
    if code is None or confidence < 0.9:
        return admin1
    words = {w.lower() for w in re.findall(r"[^\W\d_]{4,}", admin1)}
    # a short name is no other spelling: "Khyber" stays "Khyber Pakhtunkhwa" ("Rangpur Division" is "Rangpur")
    needed = len([w for w in admin1.split() if not _REGION_SUFFIX.search(w) and w.lower() != "division"])
    for m in _CAPITALISED.finditer(text):
        name = re.sub(r"^(?:The|In|At|On|Of|From|By|And|But|A|An)\s+", "", m.group(0))
        if name == admin1 or len(name.split()) < needed:
            continue
        if not words & {w.lower() for w in re.findall(r"[^\W\d_]{4,}", name)}:
            continue
        found, sure = idx.match_admin1(name)
        if found == code and sure >= 0.75:
            return name
    return admin1


# Words for a part of a town or an administrative area ("Bokkos LGA", "Sokoto metropolis").
_AREA_WORDS = r"lga|metropolis|municipality|township|district|area|market|camp|cent(?:re|er)|junction"
# A generic last word of a place's name, dropped to find the town it names.
_SITE_SUFFIX = re.compile(r"\s+(?:" + _AREA_WORDS + r"|town|city|village|county|outskirts)$", re.IGNORECASE)
# A location naming one of these is a site, not a settlement.
_SITE_WORDS = re.compile(
    r"\b(?:" + _AREA_WORDS + r"|school|college|university|hospital|clinic|mosque|church|basilica|cathedral|"
    r"temple|shrine|prison|jail|base|barracks|headquarters|station|airport|port|beach|hotel|parliament|ministry|"
    r"palace|embassy|embassies|intersection|square|roundabout|bridge|highway|road|street|checkpoint|building|"
    r"compound|factory|mine)\b",
    re.IGNORECASE,
)
SITE_WORDS = _SITE_WORDS  # a place name's site words (school, market, ...): not its distinctive part
_TOWN_AFTER = re.compile(r"\b(?:in|at|of|near|outside|from)\s+((?:[A-Z][\w'’-]+)(?:[ -][A-Z][\w'’-]+){0,2})")


def towns_named(country: str, sentence: str) -> list[str]:
    """The places of `country` the sentence names after "in", "at", "near", ... that the gazetteer knows by
    that exact name (towns and first-level regions), in the order named. English only: the prepositions
    are English, so in another language the list is empty."""
    from pipeline.geo.names import normalize

    idx = _gazetteer_of(country)
    if idx is None:
        return []
    found: list[str] = []
    for m in _PLACE_AFTER.finditer(sentence):
        words = m.group(1).split()
        for n in range(len(words), 0, -1):
            name = " ".join(words[:n])
            if normalize(name) == normalize(country) or name in found:
                continue
            if _exact_place(idx, name) or idx.match_admin1(name)[1] >= 1.0:
                found.append(name)
                break
    return found


# A capitalised name after a preposition of place, or after "and" or a comma in a list of them.
_PLACE_AFTER = re.compile(
    r"(?:\b(?:[Ii]n|[Aa]t|[Nn]ear|outside|from|and)\s+|,\s*)((?:[A-Z][\w'’-]+)(?:[ -][A-Z][\w'’-]+){0,2})"
)


def town_for_site(country: str, location: str | None, sentence: str) -> str | None:
    """The town a site lies in, when the model gave a site the gazetteer does not know as a place.

    The codebook's location is the most specific named place; a small model often
    writes the site instead ("the Halima school", "Sokoto metropolis", "the
    parliament") while the sentence names the town ("... school in Jabalia"). The
    site is a location that names a kind of site (a school, a market, an airport,
    a district, ...), which a village the gazetteer lacks does not: that stays. The
    town is a name the gazetteer has, exactly, for the incident's country: the
    site's name less a generic last word ("Bokkos" of "Bokkos LGA"), else the first
    capitalised name after "in", "at", "of", "near", "outside" or "from" in the
    incident's sentence. None when the location is a known place, or no town is
    found (rule `town_for_site`).
    """
    from pipeline.geo.names import normalize

    if not location:
        return None
    idx = _gazetteer_of(country)
    if idx is None:
        return None

    def known(name: str) -> bool:
        hit = idx.match_place(name, None)
        return hit is not None and hit.method == "exact" and normalize(hit.matched_name or "") == normalize(name)

    if known(location) or idx.match_admin1(location)[1] >= 0.9:
        return None
    # "Peshawar's Police Lines", "Gaza City's Shujaiya": a place the gazetteer lacks, named as the town's own
    owner = re.search(
        r"((?:[A-Z][\w'’-]+[ -]){0,2}[A-Z][\w-]+)['’]s\s+(?:the\s+)?(?i:" + re.escape(location) + r")\b", sentence
    )
    if owner:
        words = owner.group(1).split()
        for n in range(len(words)):
            candidate = " ".join(words[n:])
            if normalize(candidate) != normalize(country) and known(candidate):
                return candidate
    if not _SITE_WORDS.search(location):
        return None  # a village the gazetteer lacks is still the most specific place: only sites give way
    lead = _SITE_SUFFIX.sub("", location).strip(" ,")
    if lead != location and lead[:1].isupper() and known(lead):
        return lead
    for m in _TOWN_AFTER.finditer(sentence):
        name = m.group(1)
        for n in range(len(name.split()), 0, -1):
            candidate = " ".join(name.split()[:n])
            if normalize(candidate) != normalize(country) and known(candidate):
                return candidate
    return None


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
            r"\b(?:air ?strikes?|air raids?|warplanes?|war planes?|jets?|aircraft|drones?|helicopters?|barrel bombs?|aerial)\b",
        ),
        ("explosion_shelling_artillery_missile", r"\b(?:shell(?:s|ed|ing)?|artillery|rockets?|missiles?|mortars?)\b"),
    )
)
_SEXUAL_WORDS = re.compile(
    r"\b(?:rap(?:e|ed|es|ing)|sexual(?:ly)? (?:violence|assault\w*|abuse\w*|violated))\b", re.IGNORECASE
)
_ABDUCTION_WORDS = re.compile(
    r"\b(?:abduct\w*|kidnap\w*|taken hostage|held hostage|forcibly disappeared)\b"
    # people taken away: "seized about 200 displaced women", "carried away an unknown number of residents"
    r"|\b(?:seized|carried away|carted away|took away|whisked away|marched away)\s+(?:[\w-]+\s+){0,5}?"
    r"(?:women|men|children|pupils|students|schoolchildren|residents|villagers|people|passengers|girls|boys|"
    r"worshippers|farmers|travell?ers|persons|civilians|hostages)\b",
    re.IGNORECASE,
)
_DISPERSED = re.compile(
    r"\b(?:broke up|break up|breaking up|dispers\w*)\s+(?:the\s+|a\s+)?(?:\w+\s+)?(?:crowds?|gatherings?|sit-ins?)\b",
    re.IGNORECASE,
)
# Demonstrators doing violence: attacking, burning, looting, wrecking, stoning.
_RIOT_WORDS = re.compile(
    r"\b(?:riot(?:s|ing|ers?|ed)?\b(?!\s+(?:police|policemen|gear|squads?|units?|control))|rampage|"
    r"turn(?:s|ed)? violent|vandali[sz]\w*|torch\w*|set (?:\w+ )?(?:ablaze|alight|on fire)|"
    r"loot\w*|ransack\w*|stormed|hurl(?:ed|ing) stones|threw stones|stone-throwing|attack(?:ed|ing)? (?:the |a |an )?"
    r"(?:[\w.'’-]+ ){0,2}?(?:embass\w*|compound|offices?|police station|buildings?|homes?|houses?|shops?))\b",
    re.IGNORECASE,
)
# Protesters as the ones fired on: then the force's violence, not theirs, is the event.
_SHOT_AT_PROTESTERS = re.compile(
    r"\b(?:fired|opened fire|shot)\b[^.;]{0,40}\b(?:protesters|demonstrators|crowds?)\b", re.IGNORECASE
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
    """State, external or rebel forces, or a militia (not a name whose type is only the default guess)."""
    return (
        actor is not None
        and not isinstance(actor, GuessedActor)
        and actor.actor_type
        in (
            ActorType.STATE_FORCES,
            ActorType.EXTERNAL_FORCES,
            ActorType.REBEL_GROUP,
            ActorType.POLITICAL_MILITIA,
            ActorType.IDENTITY_MILITIA,
        )
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
    if sub == "Violent demonstration":
        # Rioters act; the other side is the force they fought, or the civilians they attacked, or no one (an
        # official, a building or an embassy the model named is none of these).
        state = actor1 if _is_state(actor1) else actor2 if _is_state(actor2) else None
        civilians = actor2 if actor2 is not None and actor2.actor_type == ActorType.CIVILIANS else None
        return Actor(name="Rioters", actor_type=ActorType.RIOTERS), state or civilians
    return actor1, actor2


# Arms taken, found or made safe are no blast: "seizing 10 firearms and three explosive devices", "defused a
# roadside bomb" (what the troops fought or did is told by the rest of the sentence).
_ARMS_SEIZED = re.compile(
    r"\b(?:seiz(?:e|es|ed|ing)|recover(?:s|ed|ing)?|confiscat(?:e|es|ed|ing)|defus(?:e|es|ed|ing)|"
    r"dismantl(?:e|es|ed|ing)|found|discovered|captur(?:e|es|ed|ing))\s+(?:[\w,'’-]+\s+){0,8}?"
    r"(?:explosive devices?|explosives|IEDs?|bombs?|grenades?|land ?mines?|mortars?|rockets?|missiles?)\b",
    re.IGNORECASE,
)


def _without_arms_seized(text: str) -> str:
    return _ARMS_SEIZED.sub(" ", text) if rules.enabled("arms_seized_no_blast") else text


def _explosions_in(text: str) -> list[str]:
    """The event codes of the kinds of explosive or strike the text names, in the table's order."""
    return [c for c, pattern in _EXPLOSION_WORDS if pattern.search(text)]


def explosive_named(text: str) -> str | None:
    """The event code of the first kind of explosive or strike the text names, or None."""
    return next(iter(_explosions_in(_without_arms_seized(text))), None)


def named_as_settlement(place: str, sentence: str) -> bool:
    """Does the sentence call the place a settlement ("the town of X", "the village of X")?"""
    return any(
        _SETTLEMENT_OF.search(sentence[: m.start()]) for m in re.finditer(r"\b" + re.escape(place) + r"\b", sentence)
    )


def reconcile_event(code: str, sentence: str, fatalities: int, story: str | None = None) -> str:
    """The event code, corrected by what the incident's sentence says happened (and, when the sentence names no
    means at all, by whether the `story` around it tells of anything fired from afar or exploding)."""
    family = code.split("_")[0]
    # "police broke up the crowds": a gathering dispersed is a protest met by force
    protest_said = bool(_PROTEST_WORDS.search(sentence) or _DISPERSED.search(sentence))
    # Protesters met by force: with excessive force when some died.
    protest_code = "protest_excessive_force_against_protesters" if fatalities else "protest_with_intervention"
    if (
        _SEXUAL_WORDS.search(sentence)
        and code != "violence_against_civilians_sexual_violence"
        and (fatalities == 0 or family not in ("explosion", "battle"))
        and not (family == "protest" and protest_said)
    ):  # a march against rape is a protest
        return "violence_against_civilians_sexual_violence"
    if (
        _ABDUCTION_WORDS.search(sentence)
        and fatalities == 0
        and (family != "explosion" or not explosive_named(sentence))
    ):
        # people taken away, and nothing fired from afar or exploding named: whatever family the model chose
        return "violence_against_civilians_abduction"
    if code == "violence_against_civilians_abduction" and _ARREST_WORDS.search(sentence) and "warrant" not in sentence:
        return "strategic_arrests"  # "police later arrested two suspects": a detention by the state is an arrest
    if _MOB_WORDS.search(sentence) and code in ("violence_against_civilians_attack", "riot_violent_demonstration"):
        return "riot_mob_violence"
    if (
        protest_said
        and _RIOT_WORDS.search(sentence)
        and code
        in ("violence_against_civilians_attack", "battle_armed_clash", "strategic_agreement", "protest_peaceful")
    ):
        # protesters who attack, torch or loot: a violent demonstration ("protesters attack embassies",
        # "a protest turns violent"), unless they were the ones shot dead
        if not (fatalities and _SHOT_AT_PROTESTERS.search(sentence)):
            return "riot_violent_demonstration"
    if protest_said and code in ("violence_against_civilians_attack", "battle_armed_clash"):
        return protest_code
    if code != "strategic_agreement" and _DEAL_WORDS.search(sentence) and not _VIOLENCE_WORDS.search(sentence):
        return "strategic_agreement"  # a truce signed, with no violence told: an agreement
    if code == "strategic_agreement" and not _AGREEMENT_WORDS.search(sentence):
        # The first strategic code a small model reaches for; a sentence with no deal in it tells another
        # development: a place taken, or people arrested.
        if _CAPTURE_WORDS.search(sentence):
            return "battle_nonstate_actor_overtakes_territory"
        if _ARREST_WORDS.search(sentence):
            return "strategic_arrests"
    if code in ("battle_armed_clash", "violence_against_civilians_attack") and _PLACE_TAKEN.search(sentence):
        # "Rebels seize Goma airport", "the army says it has retaken Wad Madani": a place changed hands
        # (the state or a non-state side as the winner is settled with the actors, see `territory_code`)
        return "battle_nonstate_actor_overtakes_territory"
    if family == "explosion" or code == "violence_against_civilians_attack":
        used = _without_arms_seized(sentence)
        present = _explosions_in(used)
        if used != sentence and present != _explosions_in(sentence):
            rules.fired("arms_seized_no_blast")
        if present and (code not in present or present[0] == "explosion_suicide_bomb"):
            return present[0]
        if not present and family == "explosion":
            # Nothing fired from afar in the sentence: what it does say decides.
            if protest_said:
                return protest_code
            if CLASH_WORDS.search(sentence) or FIGHTER_WORDS.search(sentence):
                return "battle_armed_clash"
            if _DIRECT_ATTACK_WORDS.search(sentence) and not _EXPLODED.search(sentence):
                # No weapon fired from afar and no blast, but shots, blades or blows: armed men attacking people.
                return "violence_against_civilians_attack"
            if not _BLAST_WORDS.search(sentence) and story is not None and not _fired_or_exploded(story):
                # A sentence that names no means at all ("a dozen villages were hit") in a story that never tells
                # of anything fired from afar or exploding: armed men attacking people. In a story of shelling
                # and drone strikes ("a woman was killed in Toretsk"), the model's reading stands.
                return "violence_against_civilians_attack"
    return code


_AGREEMENT_WORDS = re.compile(
    r"\b(?:agree\w*|deals?|truces?|cease-?fires?|accords?|signed|signing|talks|negotiat\w*|treaty|pact|peace)\b",
    re.IGNORECASE,
)
_CAPTURE_WORDS = re.compile(
    r"\b(?:captur\w*|seiz\w*|took control|taken control|take control|overr[au]n|liberat\w*|fell to|falls to|"
    r"retook|retaken|recaptur\w*)\b",
    re.IGNORECASE,
)
# A place taken: a capture word followed by the place (not by people: "captured two soldiers" is no territory).
_PLACE_TAKEN = re.compile(
    r"\b(?:captur(?:e|es|ed|ing)|seiz(?:e|es|ed|ing)|took control of|taken control of|take control of|"
    r"overr[au]n|retook|retaken|retake|recaptur(?:e|es|ed|ing)|liberat(?:e|es|ed|ing))\s+(?:the\s+)?"
    r"(?!\d|two|three|four|five|six|seven|eight|nine|ten|dozens|hundreds|several|some|soldiers|fighters|"
    r"members|people|civilians|weapons|arms|ammunition|vehicles)"
    r"(?:[\w'’-]+\s+){0,3}?(?:[A-Z][\w'’-]+|town|city|village|villages|airport|base|district|area|hill|"
    r"border|crossing|positions?|headquarters|capital)\b"
)
_DEAL_WORDS = re.compile(r"\b(?:signed|signing|agreed|agreement|deal|truce|cease-?fire|accord|treaty|pact)\b", re.I)
_VIOLENCE_WORDS = re.compile(
    r"\b(?:kill\w*|dead|died|attack\w*|strikes?|struck|clash\w*|shell\w*|bomb\w*|blast\w*|explo\w*|fired|shot|"
    r"shoot\w*|raid\w*|ambush\w*|assault\w*|massacre\w*|abduct\w*|kidnap\w*|captur\w*|seiz\w*|arrest\w*|"
    r"protest\w*|riot\w*|wound\w*|injur\w*)\b",
    re.IGNORECASE,
)
_ARREST_WORDS = re.compile(r"\b(?:arrest\w*|detain\w*|custody|warrants?)\b", re.IGNORECASE)


# Harm done up close: shots, blades, blows, fire set by hand.
_DIRECT_ATTACK_WORDS = re.compile(
    r"\b(?:shot|shoot\w*|gun\w*|opened fire|fired on|fired at|bullets?|rifles?|stabb\w*|knife|knives|hack\w*|machetes?|"
    r"beat(?:en|ing)?|lynch\w*|hanged|behead\w*|slaughter\w*|torched|set (?:on )?fire|burn\w* (?:alive|to death)|"
    r"executed|massacre\w*|raid\w*|storm\w*|attack\w*|gunmen|assailants|militants|attackers)\b",
    re.IGNORECASE,
)
# Something exploded ("assailants struck" is no explosion; "a strike" unnamed may be one, see below).
_EXPLODED_WORDS = r"explo\w*|blasts?|bomb\w*|detonat\w*|bl[eo]w(?:n)? up"
_EXPLODED = re.compile(r"\b(?:" + _EXPLODED_WORDS + r")\b", re.IGNORECASE)


def _fired_or_exploded(story: str) -> bool:
    """Does the story tell of any weapon fired from afar or anything exploding (a kind of strike or explosive
    named, or a blast, bomb or explosion)?"""
    return explosive_named(story) is not None or _EXPLODED.search(story) is not None


# An explosion the sentence names without saying what exploded: the model's explosion code stands.
_BLAST_WORDS = re.compile(r"\b(?:" + _EXPLODED_WORDS + r"|strikes?|struck)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PlacePart:
    """One town of a sentence that tells the same kind of incident at several towns, with the part of the
    sentence that tells it there (the whole sentence for a plain list: "in Doba and Sarh")."""

    town: str
    text: str
    listed: bool  # named in a plain list, sharing the rest of the sentence with the others


# A town named after a preposition of place ("in Toretsk", "the streets of Atbara", "in the village of
# Velyka Novosilka", "in occupied Gorlivka"), or as the next item of a list (", Kosti", "and Ibb").
_TOWN_MENTION = re.compile(
    r"(?:\b(?:[Ii]n|[Aa]t|on|of|and)\s+(?:the\s+(?:(?:port\s+)?city|town|village|capital)\s+of\s+)?"
    r"(?:(?:occupied|rebel-held|government-held|nearby)\s+)?|,\s*)"
    r"((?:[A-Z][\w'’-]+)(?:[ -][A-Z][\w'’-]+){0,2})"
)
_DAY_OR_MONTH = re.compile(
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|"
    r"august|september|october|november|december)\b",
    re.IGNORECASE,
)
_SETTLEMENT_OF = re.compile(r"\bthe\s+(?:(?:port\s+)?city|town|village)\s+of\s+$")
# What may stand between two towns of a plain list.
_LIST_GAP = re.compile(r"^\s*,?\s*(?:and\s+)?(?:in\s+)?$")
# Two clauses joined, the second at a town of its own: "... killed in Toretsk and an 86-year-old man in
# Velyka Novosilka", "... in Eldoret, and another person was killed by gunfire in Matuu".
_CLAUSE_JOIN = re.compile(r",\s*and\b|;|\band\b|\bwhile\b|\bwhereas\b", re.IGNORECASE)
_CLAUSE_END = re.compile(
    r"\b(?:in|at|on)\s+(?:the\s+(?:(?:port\s+)?city|town|village|capital)\s+of\s+)?"
    r"(?:(?:occupied|rebel-held|government-held|nearby)\s+)?$"
)
# A town told in relation to another is one place, not two ("20 km from X", "north of X", "near X").
_RELATIVE = re.compile(
    r"\b(?:km|kilometres?|kilometers?|miles?|north|south|east|west|near|outside|from|to|towards?)\b", re.IGNORECASE
)
_REGION_SUFFIX = re.compile(r"\b(?:county|province|region|state|governorate|district|oblast)$", re.IGNORECASE)
# "Idlib and Hama provinces", "in Bolan district": regions, not towns.
_REGION_AFTER = re.compile(
    r"\s+(?:provinces?|regions?|states?|governorates?|count(?:y|ies)|districts?|oblasts?)\b", re.IGNORECASE
)


def places_apart(country: str, sentence: str) -> list[PlacePart]:
    """The towns at which one sentence tells the same kind of incident, each with its part of the sentence.

    The codebook codes one event per place and day, "even in one sentence". Two towns count only when they
    are a plain list ("protests in Doba and Sarh") or each ends a clause of its own joined to the other
    ("a woman was killed in Toretsk and a man in Velyka Novosilka"); a town told relative to another ("20 km
    from", "north of") or a region is not a place apart. Towns are names the gazetteer has exactly, for the
    country. Fewer than two towns: an empty list."""
    from pipeline.geo.names import normalize

    idx = _gazetteer_of(country)
    if idx is None:
        return []
    mentions: list[tuple[str, int, int, bool]] = []  # (name, start of name, end of name, a region)
    for m in _TOWN_MENTION.finditer(sentence):
        words = m.group(1).split()
        # "the village of Frike" says it is a settlement, known to the gazetteer or not
        settlement = _SETTLEMENT_OF.search(sentence[: m.start(1)]) is not None
        for n in range(len(words), 0, -1):
            name = " ".join(words[:n])
            if normalize(name) == normalize(country) or _REGION_SUFFIX.search(name) or _DAY_OR_MONTH.match(name):
                continue
            after = sentence[m.start(1) + len(name) :]
            region = _REGION_AFTER.match(after) is not None
            # "in Bolan district, ... while in Mastung district": a region that a clause of its own is at
            if _exact_place(idx, name) or (settlement and n == len(words)) or (region and n == len(words)):
                if not any(normalize(name) == normalize(x) for x, *_ in mentions):
                    mentions.append((name, m.start(1), m.start(1) + len(name), region))
                break
    if len(mentions) < 2:
        return []
    # the longest run of towns, each joined to the one before as a list item or a clause of its own
    # (a region is a place apart only as a clause of its own: "Idlib and Hama provinces" is one region list)
    runs: list[list[tuple[str, int, int, bool]]] = [[(*mentions[0][:3], True)]]
    for prev, cur in zip(mentions, mentions[1:], strict=False):
        gap = sentence[prev[2] : cur[1]]
        joins = list(_CLAUSE_JOIN.finditer(gap))
        plain = _LIST_GAP.match(gap) is not None
        listed = plain and not (prev[3] or cur[3])
        clause = (
            not plain
            and len(gap) <= 150
            and bool(joins)
            and _CLAUSE_END.search(gap) is not None
            # "20 km from X", "north of X": the town after the last join is told relative to the other
            and not _RELATIVE.search(gap[joins[-1].end() :] if joins else gap)
        )
        if listed or clause:
            runs[-1].append((*cur[:3], listed))
        else:
            runs.append([(*cur[:3], True)])
    run = max(runs, key=len)
    if len(run) < 2:
        return []
    if all(listed for *_, listed in run[1:]):
        return [PlacePart(name, sentence, True) for name, *_ in run]
    if any(listed for *_, listed in run[1:]):
        return []  # a list inside clauses: which part tells which town is unclear
    # clauses: each town's part runs from the join before it to the join after it
    cuts = [0]
    for left, right in zip(run, run[1:], strict=False):
        joins = list(_CLAUSE_JOIN.finditer(sentence, left[2], right[1]))
        cuts.append(joins[-1].start())
    cuts.append(len(sentence))
    return [PlacePart(name, sentence[cuts[i] : cuts[i + 1]].strip(" ,;"), False) for i, (name, *_) in enumerate(run)]


# Who flew or fired, as news copy attributes a strike: "Russian warplanes carried out the raid", "residents
# blamed Russian jets", "regime aircraft bombed the town", "an Israeli drone".
_STRIKER = re.compile(
    r"\b((?:[A-Z][\w-]+|regime|government|army)\s+(?:war)?(?:planes?|jets?|aircraft|air\s*force|drones?|"
    r"helicopters?|gunships?|bombers?|air\s*strikes?|bombs|missiles|rockets?(?:\s+fire)?|artillery|shelling|"
    r"shells|mortars?))\b"
)
# The force that broke up a protest: "police fired tear gas", "Chadian security forces turned their guns".
_INTERVENER = re.compile(
    r"\b((?:[A-Z][\w-]+\s+)?(?i:(?:riot\s+)?(?:police(?:men)?|security forces|soldiers|troops|army|gendarmes|"
    r"gendarmerie)))\b"
)


def striker_named(country: str, text: str) -> Actor | None:
    """The state force a text names as flying or firing a strike ("Russian warplanes"), or None."""
    for m in _STRIKER.finditer(text):
        actor = normalise_actor(m.group(1), None, country, text)
        if actor is not None and _is_state(actor) and actor.name.startswith("Military Forces of"):
            return actor
    return None


def intervener_named(country: str, text: str) -> Actor | None:
    """The police or military a text names (as breaking up a protest), or None."""
    for m in _INTERVENER.finditer(text):
        actor = normalise_actor(m.group(1), None, country, text)
        if actor is not None and _is_state(actor):
            return actor
    return None


# A claim of responsibility: "Somali-based al-Qaeda affiliated group al-Shabaab claimed responsibility for the
# attack", "The Islamic State group claimed the bombing".
_CLAIM = re.compile(
    r"^(?:[\"“']?)(.{3,120}?)\s+(?:has\s+|had\s+|later\s+|quickly\s+)?claimed\s+(?:responsibility|the\s+"
    r"(?:attack|bombing|blast|killings?|raid|ambush|strike|assault|explosion|abduction|kidnapping))\b",
    re.IGNORECASE,
)


def claimant_named(country: str, text: str) -> Actor | None:
    """The armed group a sentence says claimed an attack, when the actor table knows it or its type is armed;
    None for anyone else (a state, a generic name, a name the table does not know)."""
    m = _CLAIM.search(text)
    if m is None or re.match(r"(?:no|none|nobody|no one|neither)\b", m.group(1).strip(), re.IGNORECASE):
        return None  # "No group has claimed responsibility"
    actor = normalise_actor(m.group(1), None, country, text)
    if actor is None or is_generic(actor) or _is_state(actor) or not is_armed(actor):
        return None
    return actor


def territory_code(code: str, actor1: Actor) -> str:
    """A place taken by the country's own state forces is the government regaining territory; by anyone else
    (a foreign army included, as ACLED codes it), a non-state actor overtaking it."""
    if code in ("battle_nonstate_actor_overtakes_territory", "battle_government_regains_territory"):
        own_state = actor1.actor_type == ActorType.STATE_FORCES
        return "battle_government_regains_territory" if own_state else "battle_nonstate_actor_overtakes_territory"
    return code


def tells_abduction_or_rape(text: str) -> bool:
    """Does the (English) text tell people abducted, taken away or raped?"""
    return _ABDUCTION_WORDS.search(text) is not None or _SEXUAL_WORDS.search(text) is not None


def place_known(country: str, name: str) -> bool:
    """Does the gazetteer know this exact name as a place of the country?"""
    idx = _gazetteer_of(country)
    return idx is not None and _exact_place(idx, name)
