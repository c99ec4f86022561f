"""ACLED-format export: columns, derived codes, and a CSV DuckDB reads back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from pipeline.export.acled import (
    ACLED_COLUMNS,
    disorder_type,
    interaction_code,
    region_of,
    to_acled_rows,
    write_acled_csv,
)

GOLD = Path(__file__).resolve().parents[1] / "evals" / "gold"

EXPECTED_COLUMNS = (
    "event_id_cnty event_date year time_precision disorder_type event_type sub_event_type "
    "actor1 assoc_actor_1 inter1 actor2 assoc_actor_2 inter2 interaction civilian_targeting "
    "iso region country admin1 admin2 admin3 location latitude longitude geo_precision "
    "source source_scale notes fatalities tags timestamp"
).split()


def battle(**kw):
    ev = {
        "event_id": "e1",
        "event_date": "2019-08-27",
        "time_precision": 1,
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": {"name": "Hurras al-Din", "actor_type": "rebel_group"},
        "assoc_actors_1": ["Ansar al-Din", "Rebel groups"],
        "actor2": {"name": "Military Forces of Syria", "actor_type": "state_forces"},
        "assoc_actors_2": [],
        "country": "Syria",
        "admin1": "Idlib",
        "location": "Khan Sheikhun",
        "geo_precision": 2,
        "latitude": 35.44208,
        "longitude": 36.65095,
        "fatalities": 60,
        "civilian_targeting": False,
        "source": "Syrian Observatory for Human Rights",
        "notes": "Jihadists attacked regime positions east of Khan Sheikhun.",
        "extracted_at": "2024-05-01T12:00:00+00:00",
    }
    ev.update(kw)
    return ev


def test_column_list_and_order():
    assert ACLED_COLUMNS == EXPECTED_COLUMNS
    assert len(ACLED_COLUMNS) == 31
    row = to_acled_rows([battle()])[0]
    assert list(row) == EXPECTED_COLUMNS


def test_battle_row():
    row = to_acled_rows([battle()])[0]
    assert row["event_id_cnty"] == "SYR1"
    assert row["event_date"] == "2019-08-27" and row["year"] == 2019
    assert row["disorder_type"] == "Political violence"
    assert row["inter1"] == 2 and row["inter2"] == 1 and row["interaction"] == 12
    assert row["assoc_actor_1"] == "Ansar al-Din; Rebel groups"
    assert row["assoc_actor_2"] == ""
    assert row["iso"] == 760 and row["region"] == "Middle East"
    assert row["civilian_targeting"] == ""
    assert row["admin2"] == row["admin3"] == row["tags"] == row["source_scale"] == ""
    assert row["timestamp"] == 1714564800
    assert row["fatalities"] == 60 and row["geo_precision"] == 2


def test_air_strike_on_civilians():
    row = to_acled_rows(
        [
            battle(
                event_type="Explosions/Remote violence",
                sub_event_type="Air/drone strike",
                actor1={"name": "Military Forces of Russia", "actor_type": "external_forces"},
                assoc_actors_1=[],
                actor2={"name": "Civilians", "actor_type": "civilians"},
                civilian_targeting=True,
            )
        ]
    )[0]
    assert (row["inter1"], row["inter2"], row["interaction"]) == (8, 7, 78)
    assert row["civilian_targeting"] == "Civilian targeting"
    assert row["disorder_type"] == "Political violence"


def test_one_sided_events_and_sequence_per_country():
    rows = to_acled_rows(
        [
            battle(),
            battle(
                event_type="Protests",
                sub_event_type="Peaceful protest",
                country="Kenya",
                actor1={"name": "Protesters", "actor_type": "protesters"},
                actor2=None,
            ),
            battle(
                event_type="Strategic developments",
                sub_event_type="Agreement",
                actor1={"name": "Military Forces of Syria", "actor_type": "state_forces"},
                actor2=None,
            ),
            battle(country="Nigeria"),
        ]
    )
    assert [r["event_id_cnty"] for r in rows] == ["SYR1", "KEN1", "SYR2", "NGA1"]
    assert (rows[1]["inter1"], rows[1]["inter2"], rows[1]["interaction"]) == (6, 0, 60)
    assert rows[1]["disorder_type"] == "Demonstrations"
    assert rows[1]["iso"] == 404 and rows[1]["region"] == "Eastern Africa"
    assert rows[1]["actor2"] == ""
    assert (rows[2]["interaction"], rows[2]["disorder_type"]) == (10, "Strategic developments")
    assert rows[3]["iso"] == 566 and rows[3]["region"] == "Western Africa"


@pytest.mark.parametrize(
    "event_type, sub, expected",
    [
        ("Battles", "Armed clash", "Political violence"),
        ("Explosions/Remote violence", "Suicide bomb", "Political violence"),
        ("Violence against civilians", "Abduction/forced disappearance", "Political violence"),
        ("Protests", "Peaceful protest", "Demonstrations"),
        ("Protests", "Protest with intervention", "Demonstrations"),
        ("Protests", "Excessive force against protesters", "Political violence; Demonstrations"),
        ("Riots", "Violent demonstration", "Demonstrations"),
        ("Riots", "Mob violence", "Political violence; Demonstrations"),
        ("Strategic developments", "Arrests", "Strategic developments"),
    ],
)
def test_disorder_type(event_type, sub, expected):
    assert disorder_type(event_type, sub) == expected


def test_interaction_codes():
    assert interaction_code(1, 2) == 12
    assert interaction_code(2, 1) == 12
    assert interaction_code(1, 0) == 10
    assert interaction_code(0, 6) == 60
    assert interaction_code(3, 3) == 33
    assert interaction_code(0, 0) == 0


@pytest.mark.parametrize(
    "country, iso, region",
    [
        ("Syria", 760, "Middle East"),
        ("Nigeria", 566, "Western Africa"),
        ("Ethiopia", 231, "Eastern Africa"),
        ("Somalia", 706, "Eastern Africa"),
        ("Pakistan", 586, "South Asia"),
        ("Afghanistan", 4, "South Asia"),
        ("Ukraine", 804, "Europe"),
        ("Serbia", 688, "Europe"),
        ("Mexico", 484, "Central America"),
        ("Myanmar", 104, "Southeast Asia"),
        ("Democratic Republic of Congo", 180, "Middle Africa"),
        ("Mozambique", 508, "Southern Africa"),
        ("South Sudan", 728, "Eastern Africa"),
        ("Russia", 643, "Europe"),
    ],
)
def test_iso_and_region(country, iso, region):
    row = to_acled_rows([battle(country=country)])[0]
    assert row["iso"] == iso
    assert row["region"] == region == region_of(country)


def test_flat_store_rows_are_accepted():
    flat = battle(
        actor1="Hurras al-Din", actor1_type="rebel_group", actor2="Military Forces of Syria", actor2_type="state_forces"
    )
    row = to_acled_rows([flat])[0]
    assert (row["actor1"], row["inter1"], row["inter2"], row["interaction"]) == ("Hurras al-Din", 2, 1, 12)


def test_csv_loads_in_duckdb_with_the_31_columns(tmp_path):
    events = [
        battle(),
        battle(
            latitude=None, longitude=None, location=None, geo_precision=3, notes='Quote "inside", comma, and\nnewline'
        ),
    ]
    path = tmp_path / "acled.csv"
    assert write_acled_csv(events, path) == 2
    con = duckdb.connect()
    rel = con.read_csv(str(path))
    assert rel.columns == EXPECTED_COLUMNS
    described = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM read_csv('{path}')").fetchall()]
    assert described == EXPECTED_COLUMNS
    rows = con.sql(
        f"SELECT event_id_cnty, year, interaction, iso, fatalities, notes FROM read_csv('{path}') ORDER BY 1"
    ).fetchall()
    assert rows[0][:5] == ("SYR1", 2019, 12, 760, 60)
    assert rows[1][5] == 'Quote "inside", comma, and\nnewline'


def test_gold_events_export(tmp_path):
    events = []
    for f in sorted(GOLD.glob("*.json")):
        events.extend(json.loads(f.read_text())["events"])
    assert events
    path = tmp_path / "gold.csv"
    write_acled_csv(events, path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(events)
    assert all(r["disorder_type"] for r in rows)
    assert all(r["iso"] for r in rows)
    assert len({r["event_id_cnty"] for r in rows}) == len(rows)
    described = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_csv('{path}')").fetchall()]
    assert described == EXPECTED_COLUMNS


def test_write_to_a_stream():
    import io

    buf = io.StringIO()
    assert write_acled_csv([battle()], buf) == 1
    header, first = buf.getvalue().splitlines()[:2]
    assert header.split(",") == EXPECTED_COLUMNS
    assert first.startswith("SYR1,2019-08-27,2019,1,Political violence,Battles,Armed clash,")
