"""Blocking and the pair score of two event records (the rules are in `settings.py`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pipeline.geo.gazetteer import haversine_km
from pipeline.geo.place_names import places_equivalent
from pipeline.merge.features import NOT_PERPETRATORS, MergeEvent
from pipeline.merge.settings import MergeSettings


@dataclass(frozen=True)
class PairScore:
    """The comparison of two events: ``score`` None when they are incompatible (``reason`` says why)."""

    score: float | None
    reason: str = ""
    parts: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)  # type, date, place, actors, toll

    @property
    def compatible(self) -> bool:
        return self.score is not None


def incompatible(reason: str) -> PairScore:
    return PairScore(None, reason)


# --------------------------------------------------------------------------- blocking


def candidate_pairs(
    events: Sequence[MergeEvent], settings: MergeSettings, only: Iterable[int] | None = None
) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) of the same country whose date intervals lie at most
    ``max_date_gap_days`` apart. ``only``: pairs with at least one of these indices.

    Each event is filed under every day of its interval; a pair is found by looking
    up the days of one interval widened by the gap. Events without a date or a
    country are never paired.
    """
    gap = settings.max_date_gap_days
    by_day: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, e in enumerate(events):
        if not e.has_date or not e.country:
            continue
        for day in range(e.start, min(e.end, e.start + 31) + 1):  # a long span is filed under its first month
            by_day[(e.country, day)].append(i)
    wanted = None if only is None else set(only)
    seen: set[tuple[int, int]] = set()
    for i, e in enumerate(events):
        if not e.has_date or not e.country:
            continue
        if wanted is not None and i not in wanted:
            continue
        for day in range(e.start - gap, min(e.end, e.start + 31) + gap + 1):
            for j in by_day.get((e.country, day), ()):
                if j == i:
                    continue
                pair = (i, j) if i < j else (j, i)
                if pair not in seen:
                    seen.add(pair)
                    yield pair


# --------------------------------------------------------------------------- parts


def _type_part(a: MergeEvent, b: MergeEvent, s: MergeSettings) -> float | None:
    if a.event_type == b.event_type:
        return 1.0 if a.sub_event_type == b.sub_event_type else s.same_type_other_sub
    if frozenset({a.event_type, b.event_type}) in s.confusable_types:
        return s.confusable_type
    return None


def _date_part(a: MergeEvent, b: MergeEvent, s: MergeSettings) -> float | None:
    gap = max(a.start, b.start) - min(a.end, b.end)  # <= 0: the intervals overlap
    if gap <= 0:
        return 1.0
    if gap <= s.max_date_gap_days:
        return s.date_gap_score
    return None


@lru_cache(maxsize=200_000)
def same_place(a: str, b: str) -> bool:
    """Two spelling-normalised place keys name the same place: equivalent spellings
    (`places_equivalent`), or every word of one is a word of the other
    ("mpondwe" / "mpondwe lhubiriha")."""
    if a == b:
        return True
    if places_equivalent(a, b):
        return True
    ta, tb = set(a.split()), set(b.split())
    short = ta if len(ta) <= len(tb) else tb
    if not short or max(len(t) for t in short) < 4:
        return False
    return short <= (tb if short is ta else ta)


def _place_part(a: MergeEvent, b: MergeEvent, s: MergeSettings) -> tuple[float | None, str]:
    if a.location and b.location:
        if same_place(a.location, b.location):
            return 1.0, ""
        if a.lat is not None and b.lat is not None and a.lon is not None and b.lon is not None:
            km = haversine_km(a.lat, a.lon, b.lat, b.lon)
            if km <= s.near_km:
                return s.near_place, ""
            return None, f"places {a.location_raw!r} and {b.location_raw!r} are {km:.0f} km apart"
        if (a.site or b.site) and not (a.admin1 and b.admin1 and not same_place(a.admin1, b.admin1)):
            return s.site_in_town, ""
        return None, f"places {a.location_raw!r} and {b.location_raw!r} differ"
    if a.admin1 and b.admin1 and not same_place(a.admin1, b.admin1):
        # a location on one side may be the other's region given as a town ("Saada" / "Saada")
        if not (a.location and same_place(a.location, b.admin1)) and not (
            b.location and same_place(b.location, a.admin1)
        ):
            return None, "regions differ"
    if a.location or b.location:
        return s.region_only, ""
    if a.admin1 and b.admin1:
        return s.region_only, ""
    return s.unknown_place, ""


def _actors_part(a: MergeEvent, b: MergeEvent, s: MergeSettings, wildcards: frozenset[str]) -> float:
    if not a.actors or not b.actors:
        return s.no_actors
    rest_a, rest_b = list(a.actors), list(b.actors)
    matched = 0
    for name in list(rest_a):
        if name in rest_b:
            rest_a.remove(name)
            rest_b.remove(name)
            matched += 1
    # a wildcard on one side stands for one named perpetrator left on the other
    for mine, other in ((rest_a, rest_b), (rest_b, rest_a)):
        for name in [n for n in mine if n in wildcards]:
            target = next((o for o in other if o not in NOT_PERPETRATORS), None)
            if target is not None and name in mine:
                mine.remove(name)
                other.remove(target)
                matched += 1
    return matched / max(len(a.actors), len(b.actors))


def _toll_part(a: MergeEvent, b: MergeEvent, s: MergeSettings) -> float:
    lo, hi = sorted((a.fatalities, b.fatalities))
    if hi == 0:
        return 1.0
    if lo == 0:
        return s.toll_zero_small_score if hi <= s.toll_zero_small else s.toll_zero_vs_some
    return 1.0 if hi <= s.toll_ratio_ok * lo else s.toll_far


def compare(a: MergeEvent, b: MergeEvent, s: MergeSettings, wildcards: frozenset[str] = frozenset()) -> PairScore:
    """Score two events (see `settings.py`); incompatible pairs carry the reason."""
    if a.article and a.article == b.article:
        return incompatible("same article")
    if a.country != b.country:
        return incompatible("countries differ")
    t = _type_part(a, b, s)
    if t is None:
        return incompatible(f"event types differ ({a.event_type} / {b.event_type})")
    d = _date_part(a, b, s)
    if d is None:
        return incompatible("dates too far apart")
    if s.other_sub_other_day_veto and d < 1.0 and a.sub_event_type != b.sub_event_type:
        return incompatible(f"another sub-event type ({a.sub_event_type} / {b.sub_event_type}) on another day")
    p, why = _place_part(a, b, s)
    if p is None:
        return incompatible(why)
    act = _actors_part(a, b, s, wildcards)
    toll = _toll_part(a, b, s)
    score = s.w_type * t + s.w_date * d + s.w_place * p + s.w_actors * act + s.w_toll * toll
    return PairScore(round(score, 4), "", (t, d, p, act, toll))
