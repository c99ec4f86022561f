"""Coordinates of event places: `geocode()` and `apply_geocode()`.

The country's gazetteer index finds the named place; failing that, the admin1
or the country centroid stands in (geo_precision 3). The model never supplies
coordinates. `python -m pipeline.geo.geocode COUNTRY ADMIN1 [LOCATION]` looks
one up; `build-admin1 GEOCODE_GZ` rebuilds the admin1 table.
"""

from __future__ import annotations

import sys
from typing import Any

from pipeline.geo.gazetteer import (
    ADMIN1_TABLE,
    GeoResult,
    build_admin1_table,
    countries,
    country_code,
    country_index,
)
from pipeline.geo.names import plain

# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def geocode(country: str | None, admin1: str | None, location: str | None) -> GeoResult:
    """Coordinates for an event place. Never raises on unknown names.

    geo_precision in the result: 1 the named place was found; 2 only a place
    named by part of the location was found (near it); 3 only the admin1 or the
    country is known (centroid). None with method "none".
    """
    cc = country_code(country)
    if cc is None:
        return GeoResult(None, None, None, "none", 0.0)
    idx = country_index(cc)
    a1_code, a1_conf = idx.match_admin1(admin1) if admin1 else (None, 0.0)

    if location and location.strip():
        hit = idx.match_place(location, a1_code, strict=a1_conf >= 0.85)
        if hit is not None:
            return hit

    if a1_code is not None:
        c = idx.admin1_centroid(a1_code)
        if c is not None:
            return GeoResult(
                round(c[0], 5),
                round(c[1], 5),
                3,
                "admin1_centroid",
                round(0.3 * a1_conf, 3),
                matched_name=idx.admin1_names.get(a1_code),
                country_code=cc,
                admin1=idx.admin1_names.get(a1_code),
            )
    if admin1 and admin1.strip() and a1_code is None:
        # An admin1 the gazetteer does not list as such (a city-region like
        # "Belgrade", a district like "Kasese"): its namesake place stands in.
        hit = idx.match_place(admin1, None)
        if hit is not None and hit.method == "exact":
            return GeoResult(
                hit.latitude,
                hit.longitude,
                3,
                "admin1_centroid",
                round(0.3 * hit.confidence, 3),
                matched_name=hit.matched_name,
                geonameid=hit.geonameid,
                country_code=cc,
                admin1=hit.admin1,
            )
    if idx.centroid is not None:
        return GeoResult(
            round(idx.centroid[0], 5),
            round(idx.centroid[1], 5),
            3,
            "country_centroid",
            0.1,
            matched_name=countries()[cc]["name"],
            country_code=cc,
        )
    return GeoResult(None, None, None, "none", 0.0, country_code=cc)


def apply_geocode(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event dict with latitude, longitude, geo_method and
    geo_confidence filled from :func:`geocode` (any coordinates already in the
    dict are replaced: the gazetteer is their only source).

    The event's own geo_precision is kept (2 "near X" stays 2 when X is found);
    it is only raised to 3 when the place could not be found and a centroid
    (admin1 or country) was used, and set to 2 when only part of the location's
    name was found. When nothing is found, latitude/longitude are None.
    """
    out = dict(event)
    res = geocode(plain(event.get("country")), plain(event.get("admin1")), plain(event.get("location")))
    out["latitude"] = res.latitude
    out["longitude"] = res.longitude
    out["geo_method"] = res.method
    out["geo_confidence"] = res.confidence
    own = plain(event.get("geo_precision"))
    if res.method in ("admin1_centroid", "country_centroid"):
        out["geo_precision"] = 3
    elif res.geo_precision == 2 and (own is None or own < 2):
        out["geo_precision"] = 2
    elif own is None and res.geo_precision is not None:
        out["geo_precision"] = res.geo_precision
    return out


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) == 3 and sys.argv[1] == "build-admin1":
        print(build_admin1_table(sys.argv[2]), "rows written to", ADMIN1_TABLE)
    elif len(sys.argv) >= 3:
        print(geocode(sys.argv[1], sys.argv[2] or None, sys.argv[3] if len(sys.argv) > 3 else None))
    else:
        print("usage: python -m pipeline.geo.geocode COUNTRY ADMIN1 [LOCATION] | build-admin1 GEOCODE_GZ")
