"""How the gazetteer normalises a place name for matching.

`normalize` (ASCII, casefolded, Arabic articles dropped, variant spellings of
generic toponym words made one), `skeleton` (consonants only), `query_variants`
(also without generic and compass words) and `normalize_admin1` for regions.
`plain` gives the first choice of a gold file's ``{"any_of": [...]}`` field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from unidecode import unidecode

_PHRASE_RE_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

# Arabic (and a few Romance) article tokens, dropped when they stand alone.
ARTICLES = frozenset("al el an ash ar as ad at az adh ath dh ez es ed er en et ech ul il l".split())

# Variant spellings of generic toponym words, made one.
TOKEN_CANON = {
    **dict.fromkeys(["tel", "tell", "tall", "tal"], "tal"),
    **dict.fromkeys(["sheikh", "shaykh", "shaikh", "sheik", "shekh", "shiekh", "cheikh", "sheykh"], "shaykh"),
    **dict.fromkeys(["deir", "dayr", "dair", "deyr"], "dayr"),
    **dict.fromkeys(["ain", "ayn", "ein", "ayin"], "ayn"),
    **dict.fromkeys(["kafr", "kfar", "kafar", "kfr", "kefr"], "kafr"),
    **dict.fromkeys(["jabal", "jebel", "jbel", "djebel", "jabel"], "jabal"),
    **dict.fromkeys(["khirbet", "khirbat", "kherbet", "khirbit"], "khirbat"),
    **dict.fromkeys(["abu", "abou", "abo"], "abu"),
    **dict.fromkeys(["umm", "um", "oum", "om"], "umm"),
    **dict.fromkeys(["beit", "bayt", "bait", "beyt"], "bayt"),
    **dict.fromkeys(["qasr", "kasr"], "qasr"),
    **dict.fromkeys(["saint", "st", "ste", "sainte"], "saint"),
    **dict.fromkeys(["mount", "mt"], "mount"),
    **dict.fromkeys(["fort", "ft"], "fort"),
}

# Generic words that say what kind of place it is, not which; dropped in a
# second try. Multi-word phrases first.
GENERIC_PHRASES = [
    "military airport",
    "military air base",
    "military airbase",
    "military base",
    "air base",
    "airbase",
    "airport",
    "airfield",
    "air field",
    "army base",
    "base",
    "trading centre",
    "trading center",
    "local government area",
    "sub county",
    "subcounty",
    "sub district",
    "subdistrict",
    "countryside",
    "outskirts",
    "suburbs",
    "suburb",
    "environs",
    "vicinity",
    "village",
    "villages",
    "town",
    "township",
    "city",
    "district",
    "area",
    "region",
    "province",
    "governorate",
    "county",
    "municipality",
    "commune",
    "neighbourhood",
    "neighborhood",
    "quarter",
    "square",
    "camp",
    "checkpoint",
    "frontline",
    "front line",
    "rural",
    "lga",
    "of",
    "the",
    "near",
    "in",
    "around",
]
COMPASS_WORDS = [
    "north",
    "south",
    "east",
    "west",
    "northern",
    "southern",
    "eastern",
    "western",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
    "north east",
    "north west",
    "south east",
    "south west",
    "northeastern",
    "northwestern",
    "southeastern",
    "southwestern",
    "central",
    "upper",
    "lower",
]
# Admin1 names: words of the kind of unit, dropped before matching.
ADMIN1_GENERIC = [
    "governorate",
    "province",
    "provincia",
    "region",
    "regional state",
    "state",
    "oblast",
    "county",
    "department",
    "departement",
    "district",
    "prefecture",
    "division",
    "muhafazat",
    "muhafazah",
    "wilayat",
    "vilayet",
    "city of",
    "capital territory",
    "territory",
    "of",
    "the",
]


def _phrase_re(phrases: Iterable[str]) -> re.Pattern[str]:
    key = tuple(phrases)
    pat = _PHRASE_RE_CACHE.get(key)
    if pat is None:
        alts = sorted(key, key=len, reverse=True)
        pat = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in alts) + r")\b")
        _PHRASE_RE_CACHE[key] = pat
    return pat


def ascii_words(s: str) -> str:
    """ASCII, casefolded, apostrophes and marks removed, other punctuation to spaces."""
    s = unicodedata.normalize("NFKC", s)
    s = unidecode(s).casefold()
    s = re.sub(r"['`\"^~]", "", s)  # ayn/hamza/apostrophes: Ma'arrat -> maarrat
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return s.strip()


def normalize(name: str | None) -> str:
    """Normalised form of a place name used for exact matching."""
    if not name:
        return ""
    tokens = ascii_words(name).split()
    kept = [TOKEN_CANON.get(t, t) for t in tokens if t not in ARTICLES]
    if not kept:  # a name made only of article-like tokens: keep it as is
        kept = tokens
    return " ".join(kept)


def _strip_phrases(normed_words: str, phrases: Iterable[str]) -> str:
    out = _phrase_re(phrases).sub(" ", normed_words)
    return " ".join(out.split())


def skeleton(normed: str) -> str:
    """Consonant skeleton of a normalised name: vowels (and y, w) dropped after the
    first letter, q->k, doubled letters collapsed, spaces removed.

    "idlib"/"idleb" -> "idlb"; "maarat numan"/"maarrat noman" -> "mrtnmn".
    """
    s = normed.replace(" ", "").replace("q", "k").replace("ou", "u")
    if not s:
        return ""
    head, tail = s[0], re.sub(r"[aeiouyw]", "", s[1:])
    s = head + tail
    return re.sub(r"(.)\1+", r"\1", s)


def query_variants(location: str) -> list[str]:
    """Normalised forms of a location to try, most literal first."""
    base = normalize(location)
    words = ascii_words(location)
    variants = [base]
    no_generic = normalize(_strip_phrases(words, GENERIC_PHRASES))
    variants.append(no_generic)
    variants.append(normalize(_strip_phrases(_strip_phrases(words, GENERIC_PHRASES), COMPASS_WORDS)))
    seen: list[str] = []
    for v in variants:
        if v and v not in seen:
            seen.append(v)
    return seen


def normalize_admin1(name: str | None) -> str:
    if not name:
        return ""
    words = ascii_words(name)
    stripped = _strip_phrases(words, ADMIN1_GENERIC)
    return normalize(stripped or words)


def plain(value: Any) -> Any:
    """A gold-file {"any_of": [...]} field: its first non-null choice."""
    if isinstance(value, dict) and "any_of" in value:
        return next((v for v in value["any_of"] if v is not None), None)
    return value
