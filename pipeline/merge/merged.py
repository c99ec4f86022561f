"""The merged row of one unique event, from its member records.

The toll (``fatalities``) follows one written rule, ``TOLL_RULES[settings.toll_rule]``.
The default, ``latest``, is ACLED's practice: code the figure a reliable report
gives and revise it when a later report updates it. So the merged row takes the
figure of the **latest-published report that gives one** (a later article that
states no deaths does not reset it; reports published the same day: the lower
figure, the conservative one). The lowest, highest and latest figures are kept
beside it (``fatalities_low``, ``fatalities_high``, ``fatalities_latest``).
``lowest`` and ``highest`` are the other rules ``merge-events --toll-rule`` offers.

The other fields come from the members:

- event type and sub-event type: the most frequent pair (ties: the earliest report's);
- date: the most frequent date (ties: the earliest); ``event_end_date`` the latest
  date or end date the members give when it is later;
- place: the member with the most precise place (geo precision, then a gazetteer hit,
  then the most frequent location);
- actors: the most frequent named actor on each side; a wildcard
  ("Unidentified armed group") only when no report names the group;
- civilian targeting when any report says so; ``sources``: every member's source
  and every article's outlet, in publication order; evidence: every member's quotes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from pipeline.merge.features import as_date
from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings


def _order_key(r: dict[str, Any]) -> tuple[Any, ...]:
    pub = as_date(r.get("published")) or date.max
    return (pub, str(r.get("file_name") or r.get("article") or ""), r.get("event_index") or 0, str(r.get("event_id")))


def _toll_latest(reports: list[tuple[date, int]]) -> int:
    with_figure = [(d, f) for d, f in reports if f > 0]
    if not with_figure:
        return 0
    last = max(d for d, _ in with_figure)
    return min(f for d, f in with_figure if d == last)


def _toll_lowest(reports: list[tuple[date, int]]) -> int:
    figures = [f for _, f in reports if f > 0]
    return min(figures) if figures else 0


def _toll_highest(reports: list[tuple[date, int]]) -> int:
    return max((f for _, f in reports), default=0)


TOLL_RULES: dict[str, tuple[Callable[[list[tuple[date, int]]], int], str]] = {
    "latest": (_toll_latest, "latest report that gives a toll"),
    "lowest": (_toll_lowest, "lowest toll reported"),
    "highest": (_toll_highest, "highest toll reported"),
}


def _most_common(values: Sequence[Any]) -> Any:
    """The most frequent non-empty value; ties: the first given (the earliest report's)."""
    vals = [v for v in values if v not in (None, "")]
    if not vals:
        return None
    counts = Counter(vals)
    best = max(counts.values())
    return next(v for v in vals if counts[v] == best)


def _names(records: Sequence[dict[str, Any]], side: str, wildcards: set[str]) -> tuple[str | None, str | None]:
    pairs = [(r.get(side), r.get(f"{side}_type")) for r in records if r.get(side)]
    named = [p for p in pairs if p[0] not in wildcards]
    chosen = _most_common(named or pairs)
    return chosen if chosen else (None, None)


def merged_row(records: Sequence[dict[str, Any]], settings: MergeSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """The unique event's columns (without its id and timestamps) from flat member records.

    Each record is an `events` row plus the article's ``published`` date, ``file_name``
    and ``article_source``.
    """
    rs = sorted(records, key=_order_key)
    types = _most_common([(r.get("event_type"), r.get("sub_event_type")) for r in rs]) or (None, None)
    dates = [as_date(r.get("event_date")) for r in rs]
    counts = Counter(d for d in dates if d)
    event_date = min((d for d in counts if counts[d] == max(counts.values())), default=None)
    ends = [d for r in rs for d in (as_date(r.get("event_end_date")), as_date(r.get("event_date"))) if d]
    last = max(ends, default=None)
    event_end_date = last if event_date and last and last > event_date else None

    def place_rank(r: dict[str, Any]) -> tuple[int, int, int]:
        gp = r.get("geo_precision") or 4
        hit = 0 if r.get("geo_method") in ("exact", "fuzzy") else 1
        return (gp, hit, 0 if r.get("location") else 1)

    loc_counts = Counter(r.get("location") for r in rs if r.get("location"))
    place = min(rs, key=lambda r: (*place_rank(r), -loc_counts.get(r.get("location"), 0)))

    reports = [(as_date(r.get("published")) or date.min, int(r.get("fatalities") or 0)) for r in rs]
    rule, rule_text = TOLL_RULES.get(settings.toll_rule, TOLL_RULES["latest"])
    figures = [f for _, f in reports if f > 0] or [0]
    latest = _toll_latest(reports)
    wildcards = set(settings.wildcard_actors)
    a1, a1_type = _names(rs, "actor1", wildcards)
    a2, a2_type = _names(rs, "actor2", wildcards)
    sources: list[str] = []
    for r in rs:
        for s in (r.get("source"), r.get("article_source")):
            if s and str(s).strip() and str(s).strip() not in sources:
                sources.append(str(s).strip())
    evidence: list[str] = []
    for r in rs:
        for q in r.get("evidence") or []:
            if q and q not in evidence:
                evidence.append(q)
    articles = list(dict.fromkeys(str(r.get("file_name") or r.get("article_id")) for r in rs))
    assoc1 = list(dict.fromkeys(a for r in rs for a in (r.get("assoc_actors_1") or []) if a and a != a1))
    assoc2 = list(dict.fromkeys(a for r in rs for a in (r.get("assoc_actors_2") or []) if a and a != a2))
    pubs = [d for d, _ in reports if d != date.min]
    precisions = [int(r["time_precision"]) for r in rs if r.get("time_precision")]
    return {
        "event_date": event_date,
        "event_end_date": event_end_date,
        "time_precision": min(precisions) if precisions else None,
        "event_type": types[0],
        "sub_event_type": types[1],
        "actor1": a1,
        "actor1_type": a1_type,
        "assoc_actors_1": assoc1,
        "actor2": a2,
        "actor2_type": a2_type,
        "assoc_actors_2": assoc2,
        "country": _most_common([r.get("country") for r in rs]),
        "admin1": place.get("admin1") or _most_common([r.get("admin1") for r in rs]),
        "location": place.get("location"),
        "geo_precision": place.get("geo_precision"),
        "latitude": place.get("latitude"),
        "longitude": place.get("longitude"),
        "geo_method": place.get("geo_method"),
        "fatalities": rule(reports),
        "fatalities_low": min(figures),
        "fatalities_high": max(figures),
        "fatalities_latest": latest,
        "fatalities_rule": rule_text,
        "civilian_targeting": any(bool(r.get("civilian_targeting")) for r in rs),
        "sources": "; ".join(sources),
        "articles": articles,
        "notes": next((r.get("notes") for r in reversed(rs) if r.get("notes")), None),
        "evidence": evidence,
        "n_events": len(rs),
        "n_articles": len({r.get("article_id") for r in rs}),
        "first_published": min(pubs) if pubs else None,
        "last_published": max(pubs) if pubs else None,
    }
