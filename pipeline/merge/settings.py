"""Every threshold and weight of the merge, in one place.

How two event records are compared (see `score.py`):

1. **Blocking.** Only events of the same country whose dates lie at most
   ``max_date_gap_days`` apart are compared at all (an ``event_end_date`` span
   counts: the gap is between the two date intervals). Everything else is a
   different event without being scored, which keeps the cost near linear.
2. **Vetoes** (the pair is *incompatible*; it is never linked, and no cluster
   may hold both):
   - the two records come from the same article (the extractor already merged
     what one article says about one incident);
   - their event types are neither equal nor a confusable pair (``CONFUSABLE_TYPES``);
   - their sub-event types differ *and* their dates do not overlap
     (``other_sub_other_day_veto``: the territory taken the day after a clash
     is another event; one report's error in one field is common, in both rare);
   - both name a location, the names are not the same place (spelling-normalised,
     site words such as "junction" or "market" left out, consonant skeleton, fuzzy
     ratio, or one name inside the other) and the gazetteer does not put them within
     ``near_km`` of each other; unless one of them names a site (``SITE_WORDS``:
     "Inca Manco Capac airport", "Lhubiriha Secondary School") and the gazetteer
     does not place both, in which case it may be a site of the other's town
     (place part ``site_in_town``);
   - the places are unknown or vague on one side and both name a region
     (admin1), and the regions differ. (A location that only repeats its
     region, "Idlib, Idlib", is read as the region: it may mean the province.)
3. **Pair score** in [0, 1], a weighted sum of five parts:
   ``w_type`` (1 same sub-event type, ``same_type_other_sub`` same event type,
   ``confusable_type`` a confusable pair), ``w_date`` (1 overlapping dates,
   ``date_gap_score`` one day apart), ``w_place`` (1 same place,
   ``near_place`` within ``near_km``, ``site_in_town`` a site beside a town
   name, ``region_only`` same region with a
   location on one side only, ``unknown_place`` no place to compare),
   ``w_actors`` (share of the actors that match through the alias table;
   a wildcard actor such as "Unidentified armed group" matches any named one;
   ``no_actors`` when a side has none) and ``w_toll`` (1 tolls compatible:
   both zero, or the larger at most ``toll_ratio_ok`` times the smaller;
   ``toll_far`` when further apart; ``toll_zero_vs_some`` when one side
   reports deaths and the other none).
4. Two records are **linked** when compatible and their score is at least
   ``threshold``. Clusters are built best link first and two clusters join only
   when *every* pair across them is linked (complete link).

The toll of a merged event: ``toll_rule`` (see `merged.py`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Event types a model (or a reporter) may give for the same incident: these pairs are
# compared (with a low type score) instead of vetoed. Strategic developments stand alone.
CONFUSABLE_TYPES: frozenset[frozenset[str]] = frozenset(
    {
        frozenset({"Protests", "Riots"}),
        frozenset({"Battles", "Violence against civilians"}),
        frozenset({"Explosions/Remote violence", "Violence against civilians"}),
    }
)

# Words that name a site inside a town, not the town: "Zobe junction" is compared as "Zobe", and
# a site's name ("Inca Manco Capac airport") may stand beside its town's ("Juliaca").
SITE_WORDS: tuple[str, ...] = (
    "airport", "international airport", "air base", "base", "junction", "intersection", "roundabout",
    "crossroads", "market", "marketplace", "school", "secondary school", "primary school", "university",
    "prison", "jail", "mosque", "church", "hospital", "camp", "road", "street", "bridge", "checkpoint",
    "compound", "headquarters", "police station", "station", "hotel", "mall", "shopping centre",
    "shopping center", "hypermarket", "store", "building", "neighbourhood", "neighborhood", "district",
)  # fmt: skip

# Generic actor names that stand for any specific group: a first report's unknown
# perpetrator is the group a later report names.
WILDCARD_ACTORS: tuple[str, ...] = ("Unidentified armed group", "Rebel groups")


@dataclass(frozen=True)
class MergeSettings:
    """Thresholds and weights of the merge (see the module docstring for what each does)."""

    threshold: float = 0.70
    max_date_gap_days: int = 1

    w_type: float = 0.25
    w_date: float = 0.15
    w_place: float = 0.25
    w_actors: float = 0.15
    w_toll: float = 0.20

    same_type_other_sub: float = 0.5
    confusable_type: float = 0.25
    date_gap_score: float = 0.5
    other_sub_other_day_veto: bool = True

    near_km: float = 3.0
    near_place: float = 0.7
    site_in_town: float = 0.3
    region_only: float = 0.4
    unknown_place: float = 0.0

    no_actors: float = 0.5

    toll_ratio_ok: float = 3.0
    toll_far: float = 0.5
    toll_zero_vs_some: float = 0.0
    toll_zero_small: int = 3  # one side none, the other at most this many: toll_zero_small_score
    toll_zero_small_score: float = 0.6

    toll_rule: str = "latest"  # see merged.TOLL_RULES
    wildcard_actors: tuple[str, ...] = WILDCARD_ACTORS
    site_words: tuple[str, ...] = SITE_WORDS
    confusable_types: frozenset[frozenset[str]] = field(default=CONFUSABLE_TYPES)

    def with_threshold(self, threshold: float | None) -> MergeSettings:
        return self if threshold is None else replace(self, threshold=threshold)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["wildcard_actors"] = list(self.wildcard_actors)
        d["site_words"] = list(self.site_words)
        d["confusable_types"] = sorted(sorted(p) for p in self.confusable_types)
        return d

    def fingerprint(self) -> str:
        """A short hash of the settings: a merge with other settings rebuilds the clusters."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


DEFAULT_SETTINGS = MergeSettings()
