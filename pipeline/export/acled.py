"""Export events as ACLED-format rows (the 31 columns of ACLED's public export).

Derived columns follow the ACLED codebook:

* ``inter1``/``inter2``: the actor-type codes 1 State forces, 2 Rebel groups,
  3 Political militias, 4 Identity militias, 5 Rioters, 6 Protesters,
  7 Civilians, 8 External/Other forces; 0 when there is no such actor.
  (ACLED's 2024 exports spell these as words; this export keeps the numeric
  codes of the codebook and of most analysis code.)
* ``interaction``: the two inter codes as one two-digit number, smaller code
  first (State forces vs Rebel groups -> 12, Civilians vs State forces -> 17,
  Protesters alone -> 60, two rebel groups -> 22).
* ``disorder_type`` (added by ACLED in 2023), by sub-event type:
  Battles, Explosions/Remote violence and Violence against civilians ->
  "Political violence"; Protests and Riots -> "Demonstrations", except the two
  sub-event types that are violence *and* demonstration:
  "Excessive force against protesters" (lethal force against peaceful
  protesters) and "Mob violence" (violent mobs attacking others) ->
  "Political violence; Demonstrations"; Strategic developments ->
  "Strategic developments".
* ``civilian_targeting``: "Civilian targeting" or "".
* ``iso``: ISO 3166-1 numeric code (Syria 760); ``event_id_cnty``: ISO alpha-3
  plus a sequence number per country, in input order ("SYR1", "SYR2", ...).
* ``tags``, ``source_scale``, ``admin2``, ``admin3``: "" unless the event
  carries them. Our own ``event_id`` is not an ACLED column; ``keep_ids=True``
  appends it as a 32nd column.
* ``region``: ACLED's region names (a fixed country table below, with a
  fallback by continent).
* ``timestamp``: unix seconds of the extraction (``extracted_at``) when known.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any

from pipeline.geo.gazetteer import country_info
from pipeline.geo.names import plain

ACLED_COLUMNS = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
]

INTER_CODES = {
    "state_forces": 1,
    "rebel_group": 2,
    "political_militia": 3,
    "identity_militia": 4,
    "rioters": 5,
    "protesters": 6,
    "civilians": 7,
    "external_forces": 8,
}

POLITICAL_VIOLENCE = "Political violence"
DEMONSTRATIONS = "Demonstrations"
BOTH = "Political violence; Demonstrations"
STRATEGIC = "Strategic developments"

DISORDER_BY_EVENT_TYPE = {
    "Battles": POLITICAL_VIOLENCE,
    "Explosions/Remote violence": POLITICAL_VIOLENCE,
    "Violence against civilians": POLITICAL_VIOLENCE,
    "Protests": DEMONSTRATIONS,
    "Riots": DEMONSTRATIONS,
    "Strategic developments": STRATEGIC,
}
DISORDER_BY_SUB_EVENT_TYPE = {
    "Excessive force against protesters": BOTH,
    "Mob violence": BOTH,
}

# ACLED region of each country (ISO alpha-2). ACLED's regions: Western, Middle,
# Eastern, Southern and Northern Africa; Middle East; South, Southeast, East
# Asia; Caucasus and Central Asia; Europe; Central America (with Mexico);
# Caribbean; South America; North America; Oceania; Antarctica.
_REGION_MEMBERS = {
    "Western Africa": "BJ BF CV CI GM GH GN GW LR ML MR NE NG SN SL TG SH",
    "Middle Africa": "AO CM CF TD CG CD GQ GA ST",
    "Eastern Africa": "BI KM DJ ER ET KE MG MU YT RE RW SC SO SS TZ UG",
    "Southern Africa": "BW SZ LS MW MZ NA ZA ZM ZW",
    "Northern Africa": "DZ EG LY MA SD TN EH",
    "Middle East": "BH IR IQ IL JO KW LB OM PS QA SA SY TR AE YE",
    "South Asia": "AF BD BT IN MV NP PK LK",
    "Southeast Asia": "BN KH ID LA MY MM PH SG TH TL VN",
    "East Asia": "CN HK MO JP KP KR MN TW",
    "Caucasus and Central Asia": "AM AZ GE KZ KG TJ TM UZ",
    "Central America": "BZ CR SV GT HN MX NI PA",
    "Caribbean": "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI",
    "South America": "AR BO BR CL CO EC FK GF GY PY PE SR UY VE",
    "North America": "BM CA GL PM US",
    "Europe": (
        "AL AD AT BY BE BA BG HR CY CZ DK EE FO FI FR DE GI GR GG HU IS IE IM IT JE XK LV LI "
        "LT LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SE CH UA GB VA AX"
    ),
    "Oceania": "AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV VU WF",
    "Antarctica": "AQ",
}
COUNTRY_REGION = {cc: region for region, members in _REGION_MEMBERS.items() for cc in members.split()}
CONTINENT_REGION = {  # fallback for a country missing above
    "AF": "Eastern Africa",
    "AS": "South Asia",
    "EU": "Europe",
    "NA": "North America",
    "SA": "South America",
    "OC": "Oceania",
    "AN": "Antarctica",
}


def inter_code(actor: Any, actor_type: str | None = None) -> int:
    """ACLED inter code of an actor ({"name", "actor_type"} or a flat type); 0 without actor."""
    if actor is None or actor == "":
        return 0
    if isinstance(actor, dict):
        if not actor.get("name") and not actor.get("actor_type"):
            return 0
        actor_type = actor.get("actor_type")
    key = str(getattr(actor_type, "value", actor_type) or "").strip().lower().replace(" ", "_")
    return INTER_CODES.get(key, 0)


def interaction_code(inter1: int, inter2: int) -> int:
    """Two inter codes as ACLED's interaction: smaller first (1, 2 -> 12; 7, 1 -> 17; 6, 0 -> 60)."""
    codes = sorted(c for c in (inter1, inter2) if c)
    if not codes:
        return 0
    if len(codes) == 1:
        return codes[0] * 10
    return codes[0] * 10 + codes[1]


def disorder_type(event_type: str | None, sub_event_type: str | None) -> str:
    if sub_event_type in DISORDER_BY_SUB_EVENT_TYPE:
        return DISORDER_BY_SUB_EVENT_TYPE[sub_event_type]
    return DISORDER_BY_EVENT_TYPE.get(event_type or "", "")


def region_of(country: str | None) -> str:
    info = country_info(country)
    if info is None:
        return ""
    return COUNTRY_REGION.get(info["iso"]) or CONTINENT_REGION.get(info.get("continentcode", ""), "")


def _name(actor: Any) -> str:
    if isinstance(actor, dict):
        return str(actor.get("name") or "")
    return str(actor or "")


def _join(values: Iterable[str] | str | None) -> str:
    if values is None:
        return ""
    if isinstance(values, str):
        return values
    return "; ".join(str(v) for v in values if v)


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _timestamp(value: Any) -> int | str:
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


def _num(value: Any) -> Any:
    return "" if value is None else value


def to_acled_rows(events: list[dict[str, Any]], *, keep_ids: bool = False) -> list[dict[str, Any]]:
    """ACLED rows (dicts keyed by :data:`ACLED_COLUMNS`, in that order) from event dicts.

    Accepts codebook records (``actor1`` as ``{"name", "actor_type"}``) and the
    flat ``events`` table rows (``actor1`` a name, ``actor1_type`` its type).
    ``keep_ids`` appends our ``event_id`` as a 32nd column.
    """
    seq: dict[str, int] = defaultdict(int)
    rows = []
    for ev in events:
        ev = {k: plain(v) for k, v in ev.items()}  # gold files' {"any_of": [...]}: first choice
        info = country_info(ev.get("country"))
        iso3 = info["iso3"] if info else "XXX"
        seq[iso3] += 1
        d = _date(ev.get("event_date"))
        a1, a2 = ev.get("actor1"), ev.get("actor2")
        inter1 = inter_code(a1, ev.get("actor1_type"))
        inter2 = inter_code(a2, ev.get("actor2_type"))
        row = {
            "event_id_cnty": f"{iso3}{seq[iso3]}",
            "event_date": d.isoformat() if d else "",
            "year": d.year if d else "",
            "time_precision": _num(ev.get("time_precision")),
            "disorder_type": disorder_type(ev.get("event_type"), ev.get("sub_event_type")),
            "event_type": ev.get("event_type") or "",
            "sub_event_type": ev.get("sub_event_type") or "",
            "actor1": _name(a1),
            "assoc_actor_1": _join(ev.get("assoc_actors_1")),
            "inter1": inter1,
            "actor2": _name(a2),
            "assoc_actor_2": _join(ev.get("assoc_actors_2")),
            "inter2": inter2,
            "interaction": interaction_code(inter1, inter2),
            "civilian_targeting": "Civilian targeting" if ev.get("civilian_targeting") else "",
            "iso": int(info["isonumeric"]) if info and info.get("isonumeric") is not None else "",
            "region": region_of(ev.get("country")),
            "country": ev.get("country") or "",
            "admin1": ev.get("admin1") or "",
            "admin2": ev.get("admin2") or "",
            "admin3": ev.get("admin3") or "",
            "location": ev.get("location") or "",
            "latitude": _num(ev.get("latitude")),
            "longitude": _num(ev.get("longitude")),
            "geo_precision": _num(ev.get("geo_precision")),
            "source": ev.get("source") or "",
            "source_scale": ev.get("source_scale") or "",
            "notes": ev.get("notes") or "",
            "fatalities": int(ev.get("fatalities") or 0),
            "tags": _join(ev.get("tags")),
            "timestamp": _timestamp(ev.get("extracted_at") or ev.get("created_at")),
        }
        if keep_ids:
            row["event_id"] = ev.get("event_id") or ""
        rows.append(row)
    return rows


def write_acled_csv(events: list[dict[str, Any]], path: str | Path | IO[str], *, keep_ids: bool = False) -> int:
    """Write events as an ACLED-format CSV (header + one row per event) to a path
    or an open text stream (e.g. sys.stdout). Returns rows written."""
    rows = to_acled_rows(events, keep_ids=keep_ids)
    columns = ACLED_COLUMNS + (["event_id"] if keep_ids else [])

    def _write(fh: IO[str]) -> None:
        writer = csv.DictWriter(fh, fieldnames=columns, quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        writer.writerows(rows)

    if hasattr(path, "write"):
        _write(path)  # type: ignore[arg-type]
    else:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            _write(fh)
    return len(rows)
