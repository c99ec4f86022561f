"""How scoring compares two spellings of a place ("Maaret al-Numan" / "Ma'arrat al-Nu'man").

`place_key` is a spelling-normalised key, `place_skeleton` its consonants, and
`places_equivalent` decides whether two names denote the same place. Unlike
`names.py` nothing is looked up in the gazetteer. `ascii_fold` and the
`APOS_RE`/`PAREN_RE`/`NON_ALNUM_RE` patterns also build scoring's actor keys.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from unidecode import unidecode

FUZZY_THRESHOLD = 85  # rapidfuzz ratio at or above which two place spellings are the same place


# --------------------------------------------------------------------------- names


_APOSTROPHES = "'\u2018\u2019\u02bc\u02bb\u02bf\u02be`\u00b4\u2032"
APOS_RE = re.compile("[" + re.escape(_APOSTROPHES) + "]")
PAREN_RE = re.compile(r"\([^)]*\)")
NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")


def ascii_fold(text: str) -> str:
    """ASCII transliteration (``unidecode``), casefolded."""
    return unidecode(unicodedata.normalize("NFC", text)).casefold()


# --------------------------------------------------------------------------- places


# Arabic definite article in its plain and sun-letter-assimilated spellings when
# hyphen-attached ("al-", "el-", "ash-", "as-", "ad-", "ar-", "at-", "az-", "an-",
# "ath-", "adh-", with e- variants), plus a free-standing "al"/"el".
_ARTICLE_HYPHEN_RE = re.compile(r"\b(?:a|e|u|i)(?:l|sh|th|dh|s|d|r|t|z|n)-")
_ARTICLE_TOKENS = {"al", "el"}
# Transliteration variants of the same word.
_TOKEN_SYNONYMS = {"tell": "tal", "tall": "tal", "tel": "tal", "sud": "south", "nord": "north"}
# Generic administrative / descriptive words that do not change which place is meant.
_GENERIC_PLACE_TOKENS = {
    "province",
    "governorate",
    "governorat",
    "muhafazat",
    "region",
    "oblast",
    "krai",
    "state",
    "district",
    "municipality",
    "city",
    "of",
    "town",
    "village",
    "county",
    "prefecture",
    "department",
    "trading",
    "centre",
    "center",
    "commune",
    "territory",
}
# Vowel digraphs written differently for the same sound (applied before doubled letters collapse).
_DIGRAPHS = (("ee", "i"), ("oo", "u"), ("ou", "u"), ("ei", "ay"), ("ai", "ay"), ("ey", "ay"))
_DOUBLE_RE = re.compile(r"([a-z])\1+")
_FINAL_AH_RE = re.compile(r"([a-z]{2})[ae]h\b")
_VOWELS_RE = re.compile(r"[aeiouy]")
# Words that tell two different places apart even when the rest is spelled alike
# ("North Kivu" / "South Kivu", "East Ghouta" / "West Ghouta"): names whose sets of
# these words differ are never equivalent.
_QUALIFIER_TOKENS = {
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
    "upper",
    "lower",
    "middle",
    "central",
    "new",
    "old",
    "greater",
    "little",
}


@lru_cache(maxsize=4096)
def _place_qualifiers(name: str) -> frozenset[str]:
    s = NON_ALNUM_RE.sub(" ", APOS_RE.sub("", ascii_fold(name)))
    return frozenset(t for t in (_TOKEN_SYNONYMS.get(t, t) for t in s.split()) if t in _QUALIFIER_TOKENS)


@lru_cache(maxsize=4096)
def place_key(name: str) -> str:
    """Spelling-normalised key of a place name.

    Steps: ascii-fold + casefold (``unidecode``); apostrophes/ayn/hamza marks
    removed ("Dar'a" -> "dara"); hyphen-attached Arabic articles removed
    ("al-", "el-", "ash-", "as-", "ad-", ...), other punctuation and hyphens
    -> space; free-standing "al"/"el" tokens dropped; tell/tall/tel -> tal,
    sud -> south, nord -> north; generic words (province, governorate, region,
    oblast, state, district, municipality, city, of, town, village, ...)
    dropped unless nothing else is left; digraphs ee -> i, oo/ou -> u,
    ei/ai/ey -> ay; runs of one letter collapsed (aa -> a, rr -> r); a
    word-final -ah/-eh -> -a (ta marbuta).
    """
    s = ascii_fold(name)
    s = PAREN_RE.sub(" ", s)
    s = APOS_RE.sub("", s)
    s = _ARTICLE_HYPHEN_RE.sub("", s)
    s = NON_ALNUM_RE.sub(" ", s)
    tokens = [_TOKEN_SYNONYMS.get(t, t) for t in s.split() if t not in _ARTICLE_TOKENS]
    kept = [t for t in tokens if t not in _GENERIC_PLACE_TOKENS]
    tokens = kept or tokens
    out = []
    for tok in tokens:
        for a, b in _DIGRAPHS:
            tok = tok.replace(a, b)
        tok = _DOUBLE_RE.sub(r"\1", tok)
        tok = _FINAL_AH_RE.sub(r"\1a", tok)
        out.append(tok)
    return " ".join(out)


@lru_cache(maxsize=4096)
def place_skeleton(name: str) -> str:
    """Consonant skeleton of ``place_key``: spaces and vowels (a e i o u y) removed,
    repeated consonants collapsed ("Maaret al-Noman" and "Maarrat al-Numan" -> "mrtnmn")."""
    s = place_key(name).replace(" ", "")
    s = _VOWELS_RE.sub("", s)
    return _DOUBLE_RE.sub(r"\1", s)


def places_equivalent(a: Any, b: Any) -> bool:
    """Two place names denote the same place: equal ``place_key``; otherwise, when they
    carry the same directional qualifiers (north/south/east/west/upper/lower/...),
    equal ``place_skeleton`` (>= 3 consonants, or 2 with fuzzy ratio >= 70) or a
    rapidfuzz ``ratio`` >= 85 between the keys."""
    if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
        return False
    ka, kb = place_key(a), place_key(b)
    if ka == kb:
        return True
    if _place_qualifiers(a) != _place_qualifiers(b):
        return False
    ratio = fuzz.ratio(ka, kb)
    sa, sb = place_skeleton(a), place_skeleton(b)
    if sa and sa == sb and (len(sa) >= 3 or ratio >= 70):
        return True
    return ratio >= FUZZY_THRESHOLD
