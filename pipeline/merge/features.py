"""What of an event the pair score reads, computed once per event (`MergeEvent`).

Events come as flat `events` rows (``actor1`` a name) or codebook records
(``actor1`` an object); gold files' ``{"any_of": [...]}`` fields count as their
first choice. Places go through the scorer's spelling normalisation
(`pipeline.geo.place_names`), regions through the gazetteer's
(`pipeline.geo.names.normalize_admin1`), actors through the alias table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pipeline.geo.gazetteer import country_code
from pipeline.geo.names import normalize_admin1, plain
from pipeline.geo.place_names import place_key
from pipeline.merge.aliases import AliasTable, actor_key, default_aliases
from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings

# Coordinates from these gazetteer methods name the place itself (a centroid of a region does not).
PRECISE_GEO_METHODS = frozenset({"exact", "fuzzy"})
# Actors a wildcard ("Unidentified armed group") never stands for: the victims and crowds.
NOT_PERPETRATORS = frozenset(actor_key(n) for n in ("Civilians", "Protesters", "Rioters"))


def as_date(value: Any) -> date | None:
    value = plain(value)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _actor_name(value: Any) -> str | None:
    value = plain(value)
    if isinstance(value, dict):
        value = plain(value.get("name"))
    return value if isinstance(value, str) and value.strip() else None


@lru_cache(maxsize=4096)
def _country_key(country: str) -> str:
    return country_code(country) or country.strip().casefold()


@lru_cache(maxsize=65536)
def _place(name: str) -> str:
    return place_key(name)


@lru_cache(maxsize=4096)
def _site_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted({place_key(w) for w in words}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(a) for a in alts if a) + r")\b")


@lru_cache(maxsize=65536)
def _site(key: str, words: tuple[str, ...]) -> tuple[str, bool]:
    """A place key without its site words, and whether it had any ("zobe junction" -> "zobe", True)."""
    stripped = " ".join(_site_pattern(words).sub(" ", key).split())
    if stripped == key:
        return key, False
    return (stripped or key), True


@lru_cache(maxsize=16384)
def _region(name: str) -> str:
    return place_key(normalize_admin1(name) or name)


@dataclass
class MergeEvent:
    """One event as the merge compares it. ``record`` is the input dict, untouched."""

    event_id: str
    article: str
    published: date | None
    country: str
    start: int  # date ordinals; end >= start
    end: int
    event_type: str
    sub_event_type: str
    location: str  # place_key of the location without site words ("" when none)
    location_raw: str
    site: bool  # the location names a site (airport, school, junction ...)
    admin1: str  # normalised region ("" when none)
    lat: float | None
    lon: float | None
    actors: tuple[str, ...]  # canonical keys of actor1 and actor2 (wildcards included)
    fatalities: int
    record: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def has_date(self) -> bool:
        return self.start > 0


def to_merge_event(
    record: dict[str, Any],
    *,
    event_id: str | None = None,
    article: str | None = None,
    aliases: AliasTable | None = None,
    settings: MergeSettings = DEFAULT_SETTINGS,
) -> MergeEvent:
    """A `MergeEvent` from an events row or a codebook record."""
    aliases = aliases or default_aliases()
    start_d = as_date(record.get("event_date"))
    end_d = as_date(record.get("event_end_date"))
    start = start_d.toordinal() if start_d else 0
    end = max(start, end_d.toordinal()) if end_d and start else start
    country = plain(record.get("country")) or ""
    location = plain(record.get("location")) or ""
    loc_key, site = _site(_place(location), settings.site_words) if location.strip() else ("", False)
    admin1 = plain(record.get("admin1")) or ""
    lat, lon = plain(record.get("latitude")), plain(record.get("longitude"))
    method = plain(record.get("geo_method"))
    precise = isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and method in PRECISE_GEO_METHODS
    region = _region(admin1) if admin1.strip() else ""
    if loc_key and region and loc_key == region:
        # a location that only repeats the region ("Idlib, Idlib") may mean the region: compared as the region
        loc_key, precise = "", False
    names = [n for n in (_actor_name(record.get("actor1")), _actor_name(record.get("actor2"))) if n]
    fatalities = plain(record.get("fatalities"))
    return MergeEvent(
        event_id=str(event_id or record.get("event_id") or ""),
        article=str(article or record.get("article_id") or record.get("article") or ""),
        published=as_date(record.get("published")),
        country=_country_key(country) if country else "",
        start=start,
        end=end,
        event_type=str(plain(record.get("event_type")) or ""),
        sub_event_type=str(plain(record.get("sub_event_type")) or ""),
        location=loc_key,
        location_raw=location,
        site=site,
        admin1=region,
        lat=float(lat) if precise else None,
        lon=float(lon) if precise else None,
        actors=tuple(sorted(aliases.canonical(n) for n in names)),
        fatalities=int(fatalities) if isinstance(fatalities, (int, float)) and not isinstance(fatalities, bool) else 0,
        record=record,
    )


def wildcard_keys(settings: MergeSettings, aliases: AliasTable | None = None) -> frozenset[str]:
    aliases = aliases or default_aliases()
    return frozenset(aliases.canonical(n) for n in settings.wildcard_actors)
