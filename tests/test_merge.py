"""The merge step: reports of one real event in several articles become one unique event.

The events are invented (towns, groups and tolls of our own), one case per pattern
the merge must get right: the look-alikes that must stay apart, the variants of one
event that must come together, the toll rule, the incremental and idempotent merge
of a real DuckDB file, the views, the exports and the commands.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.cli.export import export_events_command
from pipeline.cli.merge import merge_events_command
from pipeline.cli.run import run_pipeline_command
from pipeline.merge.cluster import cluster_events
from pipeline.merge.features import to_merge_event
from pipeline.merge.merged import merged_row
from pipeline.merge.score import compare
from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings
from pipeline.merge.stage import merge_store
from pipeline.store import unique
from pipeline.store.database import Store
from pipeline.store.rows import ArticleWrite, event_to_row

# --------------------------------------------------------------------------- invented events


def ev(article: str, **fields: Any) -> dict[str, Any]:
    """A flat event record with defaults: an air strike on the invented town of Kafr Zaytun."""
    record: dict[str, Any] = {
        "event_id": f"{article}-{fields.pop('n', 0)}",
        "article_id": article,
        "file_name": f"{article}.txt",
        "published": "2021-03-02",
        "event_date": "2021-03-01",
        "event_end_date": None,
        "time_precision": 1,
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "actor1": "Military Forces of Syria",
        "actor1_type": "state_forces",
        "actor2": "Civilians",
        "actor2_type": "civilians",
        "country": "Syria",
        "admin1": "Idlib",
        "location": "Kafr Zaytun",
        "geo_precision": 1,
        "latitude": None,
        "longitude": None,
        "geo_method": None,
        "fatalities": 10,
        "civilian_targeting": True,
        "source": "",
        "evidence": [f"quote of {article}"],
    }
    record.update(fields)
    return record


def clusters_of(records: list[dict[str, Any]], settings: MergeSettings = DEFAULT_SETTINGS) -> list[set[str]]:
    events = [to_merge_event(r) for r in records]
    result = cluster_events(events, settings)
    return sorted(({records[i]["event_id"] for i in c} for c in result.clusters), key=lambda s: sorted(s))


def pair(a: dict[str, Any], b: dict[str, Any]):
    from pipeline.merge.features import wildcard_keys

    return compare(to_merge_event(a), to_merge_event(b), DEFAULT_SETTINGS, wildcard_keys(DEFAULT_SETTINGS))


# --------------------------------------------------------------------------- look-alikes stay apart


def test_the_same_town_struck_again_two_days_later_is_another_event():
    first = ev("a1", event_date="2021-03-01", fatalities=9)
    again = ev("a2", event_date="2021-03-03", published="2021-03-03", fatalities=9)
    assert pair(first, again).reason == "dates too far apart"
    assert len(clusters_of([first, again])) == 2


def test_the_same_attack_in_a_town_25_km_away_is_another_event():
    # geocoded: the gazetteer puts the two towns 25 km apart
    here = ev("a1", location="Kafr Zaytun", latitude=35.70, longitude=36.60, geo_method="exact")
    there = ev("a2", location="Tal Hamra", latitude=35.925, longitude=36.60, geo_method="exact", fatalities=8)
    ps = pair(here, there)
    assert not ps.compatible and "km apart" in ps.reason
    # not geocoded: two names that are not the same place are different places
    plain_here, plain_there = ev("a1"), ev("a2", location="Tal Hamra", fatalities=8)
    assert not pair(plain_here, plain_there).compatible
    assert len(clusters_of([here, there])) == 2


def test_a_village_within_the_gazetteer_tolerance_is_the_same_place():
    here = ev("a1", location="Kafr Zaytun", latitude=35.70, longitude=36.60, geo_method="exact")
    near = ev("a2", location="Tell Qarn", latitude=35.71, longitude=36.60, geo_method="exact", fatalities=12)
    ps = pair(here, near)
    assert ps.compatible and ps.parts[2] == DEFAULT_SETTINGS.near_place


def test_a_site_named_by_one_report_may_stand_beside_its_town():
    town = ev("a1", location="Kafr Zaytun", fatalities=10)
    airport = ev("a2", location="Abu Qasim airport", fatalities=13)
    ps = pair(town, airport)
    assert ps.compatible and ps.parts[2] == DEFAULT_SETTINGS.site_in_town and ps.score >= DEFAULT_SETTINGS.threshold
    # the same site word in other spellings is the same place
    assert pair(ev("a1", location="Zaytun junction"), ev("a2", location="Zeitoun intersection")).parts[2] == 1.0
    # a site in another region is not
    assert not pair(town, ev("a3", location="Abu Qasim airport", admin1="Hama")).compatible


def test_a_location_that_only_repeats_the_region_is_compared_as_the_region():
    town = ev("a1", location="Kafr Zaytun", latitude=35.70, longitude=36.60, geo_method="exact")
    province = ev("a2", location="Idlib", latitude=35.93, longitude=36.63, geo_method="exact", fatalities=12)
    ps = pair(town, province)
    assert ps.compatible and ps.parts[2] == DEFAULT_SETTINGS.region_only


def test_the_same_armed_group_in_another_province_the_same_day_is_another_event():
    kw = {"actor1": "Saudi-led coalition", "actor1_type": "external_forces", "country": "Yemen"}
    prison = ev("a1", admin1="Marib", location="Wadi Abida", fatalities=40, **kw)
    port = ev("a2", admin1="Al Mahrah", location="Nishtun", fatalities=3, **kw)
    assert not pair(prison, port).compatible
    # the second article's report of the port strike gives only the province
    port_vague = ev("a3", admin1="Al Mahrah", location=None, fatalities=3, **kw)
    assert pair(prison, port_vague).reason == "regions differ"
    assert pair(port, port_vague).compatible
    assert clusters_of([prison, port, port_vague]) == [{"a1-0"}, {"a2-0", "a3-0"}]


def test_a_protest_and_a_separate_mob_killing_in_one_city_the_same_night_stay_apart():
    city = {"country": "Peru", "admin1": "Cusco", "location": "Sicuani", "civilian_targeting": False}
    protest = {
        "event_type": "Protests",
        "sub_event_type": "Excessive force against protesters",
        "actor1": "Protesters",
        "actor1_type": "protesters",
        "actor2": "Police Forces of Peru",
        "actor2_type": "state_forces",
    }
    mob = {
        "event_type": "Riots",
        "sub_event_type": "Mob violence",
        "actor1": "Rioters",
        "actor1_type": "rioters",
        "actor2": "Police Forces of Peru",
        "actor2_type": "state_forces",
    }
    # one article tells only the protest, the other tells only the killing: still apart
    assert pair(ev("a1", fatalities=9, **city, **protest), ev("a2", fatalities=1, **city, **mob)).score < 0.7
    records = [
        ev("a1", n=0, fatalities=9, **city, **protest),
        ev("a1", n=1, fatalities=1, **city, **mob),
        ev("a2", n=0, fatalities=11, published="2021-03-03", **city, **protest),
        ev("a2", n=1, fatalities=1, published="2021-03-03", **city, **mob),
    ]
    assert clusters_of(records) == [{"a1-0", "a2-0"}, {"a1-1", "a2-1"}]


def test_the_same_place_and_actors_the_day_before_with_another_sub_event_type_is_another_event():
    kw = {
        "event_type": "Battles",
        "actor1": "M23",
        "actor1_type": "rebel_group",
        "actor2": "Military Forces of the Democratic Republic of Congo",
        "actor2_type": "state_forces",
        "country": "Democratic Republic of Congo",
        "admin1": "North Kivu",
        "location": "Kitagoma",
        "fatalities": 0,
    }
    clash = ev("a1", sub_event_type="Armed clash", event_date="2022-05-01", **kw)
    takeover = ev("a2", sub_event_type="Non-state actor overtakes territory", event_date="2022-05-02", **kw)
    assert "another sub-event type" in pair(clash, takeover).reason
    assert len(clusters_of([clash, takeover])) == 2


def test_another_target_in_the_same_city_the_same_day_without_deaths_is_another_event():
    kw = {"country": "Ukraine", "admin1": "Sumy", "location": "Sumy", "actor1": "Military Forces of Russia"}
    store_strike = ev("a1", fatalities=8)
    office_strike = ev("a2", sub_event_type="Shelling/artillery/missile attack", fatalities=0)
    store_strike.update(kw)
    office_strike.update(kw)
    assert pair(store_strike, office_strike).score < DEFAULT_SETTINGS.threshold


def test_a_vague_third_report_never_chains_two_incompatible_events():
    first = ev("a1", location="Kafr Zaytun", fatalities=10)
    second = ev("a2", location="Tal Hamra", fatalities=10)
    vague = ev("a3", location=None, fatalities=10)  # only the province: compatible with both
    assert pair(first, vague).score >= 0.7 and pair(second, vague).score >= 0.7
    assert not pair(first, second).compatible
    found = clusters_of([first, second, vague])
    assert len(found) == 2 and not any({"a1-0", "a2-0"} <= c for c in found)


def test_two_events_of_one_article_are_never_merged():
    assert pair(ev("a1", n=0), ev("a1", n=1)).reason == "same article"


# --------------------------------------------------------------------------- variants come together


def test_spellings_tolls_relative_dates_and_an_unnamed_perpetrator_join_one_event():
    wire = ev("a1", location="Kafr Zaytun", actor1="Unidentified armed group", actor1_type="rebel_group",
              event_type="Violence against civilians", sub_event_type="Attack", fatalities=12)  # fmt: skip
    local = ev("a2", location="Kfar Zeitoun", actor1="Hurras al-Din", actor1_type="rebel_group",
               event_type="Violence against civilians", sub_event_type="Attack", fatalities=31,
               event_date="2021-02-28", published="2021-03-03")  # fmt: skip
    assert pair(wire, local).score >= DEFAULT_SETTINGS.threshold
    assert clusters_of([wire, local]) == [{"a1-0", "a2-0"}]
    row = merged_row([wire, local])
    assert row["actor1"] == "Hurras al-Din"  # the named group, not the wildcard


def test_the_toll_is_the_latest_report_that_gives_one():
    reports = [
        ev("a1", published="2022-01-21", fatalities=70, source="Monitor"),
        ev("a2", published="2022-01-22", fatalities=87, source="Ministry"),
        ev("a3", published="2022-01-23", fatalities=82, source="Aid agency"),
        ev("a4", published="2022-01-24", fatalities=0),  # mentions it without a toll
    ]
    row = merged_row(reports)
    assert (row["fatalities"], row["fatalities_low"], row["fatalities_high"], row["fatalities_latest"]) == (
        82,
        70,
        87,
        82,
    )
    assert row["fatalities_rule"] == "latest report that gives a toll"
    assert row["sources"] == "Monitor; Ministry; Aid agency"
    assert row["n_articles"] == 4 and row["articles"] == ["a1.txt", "a2.txt", "a3.txt", "a4.txt"]
    lowest = merged_row(reports, MergeSettings(toll_rule="lowest"))
    assert lowest["fatalities"] == 70 and lowest["fatalities_rule"] == "lowest toll reported"


def test_an_end_date_span_overlaps_a_report_of_its_second_day():
    night = ev("a1", event_date="2021-06-04", event_end_date="2021-06-05", fatalities=100)
    later = ev("a2", event_date="2021-06-05", published="2021-06-06", fatalities=132)
    assert pair(night, later).parts[1] == 1.0


# --------------------------------------------------------------------------- a real DuckDB file


def _add_article(store: Store, run_id: str, name: str, published: str, events: list[dict[str, Any]]) -> list[str]:
    article_id = f"id-{name}"
    rows = []
    for k, e in enumerate(events):
        record = {**ev(name), **e}
        record["actor1"] = {"name": record["actor1"], "actor_type": record["actor1_type"]}
        record["actor2"] = {"name": record["actor2"], "actor_type": record["actor2_type"]}
        rows.append(
            event_to_row(
                record,
                event_id=f"{name}-{k}" + ("" if run_id == "run1" else f"-{run_id}"),
                run_id=run_id,
                article_id=article_id,
                index=k,
                offsets=[None],
            )
        )
    store.write_articles(
        [
            ArticleWrite(
                run_row={
                    "run_id": run_id,
                    "article_id": article_id,
                    "file_name": f"{name}.txt",
                    "status": "ok",
                    "n_events": len(rows),
                },  # fmt: skip
                article_row={
                    "article_id": article_id,
                    "file_name": f"{name}.txt",
                    "published": published,
                    "text": f"text of {name}",
                    "source": f"{name} News",
                },  # fmt: skip
                events=rows,
            )
        ]
    )
    return [r["event_id"] for r in rows]


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("unique_events", "unique_event_members", "unique_event_links")
        }
    finally:
        con.close()


@pytest.fixture
def two_reports(db_path: Path) -> Path:
    """Two articles: the same strike (10 then 14 dead; the second names no victims) and, in the
    second, a strike on another town."""
    with Store(db_path) as store:
        store.start_run({"run_id": "run1", "model": "m", "prompt_hash": "h"})
        _add_article(store, "run1", "wire", "2021-03-01", [{"fatalities": 10, "source": "Monitor"}])
        _add_article(
            store,
            "run1",
            "local",
            "2021-03-02",
            [
                {"fatalities": 14, "location": "Kfar Zeitoun", "actor2": None, "actor2_type": None},
                {"location": "Tal Hamra", "fatalities": 3},
            ],
        )
    return db_path


def test_views_count_each_real_event_once_and_work_before_any_merge(two_reports):
    def per_day(db: Path) -> list[tuple]:
        with Store(db) as store:
            return store.con.execute("SELECT * FROM events_per_day").fetchall()

    day = per_day(two_reports)[0]
    assert (day[1], day[2]) == (3, 27)  # no merge yet: every report counts as its own event
    with Store(two_reports) as store:
        summary = merge_store(store)
        assert (summary.n_events, summary.n_unique, summary.n_multi) == (3, 2, 1)
        by_admin1 = store.con.execute("SELECT events, fatalities FROM fatalities_by_admin1").fetchall()
        dyads = store.con.execute("SELECT events, fatalities FROM actor_dyads").fetchall()
    day = per_day(two_reports)[0]
    assert (day[1], day[2]) == (2, 17)  # the strike once, with the later report's 14, plus the other strike
    assert by_admin1 == [(2, 17)] and dyads == [(2, 17)]


def test_an_article_added_after_the_merge_counts_as_its_own_event_until_the_next(two_reports):
    with Store(two_reports) as store:
        merge_store(store)
        store.start_run({"run_id": "run2", "model": "m", "prompt_hash": "h"})
        _add_article(store, "run2", "followup", "2021-03-04", [{"fatalities": 16}])
        assert store.con.execute("SELECT events, fatalities FROM events_per_day").fetchall() == [(3, 33)]
        merge_store(store)
        assert store.con.execute("SELECT events, fatalities FROM events_per_day").fetchall() == [(2, 19)]


def test_merging_again_changes_nothing_and_new_reports_join_the_stored_event(two_reports):
    with Store(two_reports) as store:
        merge_store(store)
        [merged] = [r for r in unique.unique_records(store) if r["n_events"] == 2]
    before = _snapshot(two_reports)
    with Store(two_reports) as store:
        again = merge_store(store)
    assert again.n_changed == 0 and _snapshot(two_reports) == before

    with Store(two_reports) as store:
        store.start_run({"run_id": "run2", "model": "m", "prompt_hash": "h"})
        [follow_up] = _add_article(store, "run2", "followup", "2021-03-04", [{"fatalities": 16, "source": "Council"}])
        summary = merge_store(store)
        assert (summary.mode, summary.n_new_events, summary.n_unique) == ("incremental", 1, 2)
        rows = {r["unique_event_id"]: r for r in unique.unique_records(store)}
        members = unique.memberships(store)
    joined = rows[merged["unique_event_id"]]  # the stored unique event, same id
    assert members[follow_up] == merged["unique_event_id"]
    assert (joined["n_events"], joined["fatalities"], joined["fatalities_low"], joined["fatalities_high"]) == (
        3,
        16,
        10,
        16,
    )
    assert "Monitor" in joined["sources"] and "Council" in joined["sources"]
    assert joined["created_at"] == merged["created_at"] and joined["updated_at"] > merged["updated_at"]
    with Store(two_reports) as store:
        assert merge_store(store).n_changed == 0


def test_an_article_extracted_again_leaves_its_old_events_out(two_reports):
    with Store(two_reports) as store:
        merge_store(store)
        store.start_run({"run_id": "run2", "model": "m", "prompt_hash": "h2"})
        _add_article(store, "run2", "local", "2021-03-02", [{"fatalities": 15, "location": "Kfar Zeitoun"}])
        merge_store(store)
        records = unique.unique_records(store)
    assert sorted(r["n_events"] for r in records) == [2]
    assert records[0]["fatalities"] == 15
    assert sorted(records[0]["members"]) == ["local-0-run2", "wire-0"]


def test_another_threshold_rebuilds_the_clusters(two_reports):
    with Store(two_reports) as store:
        merge_store(store)
        strict = merge_store(store, DEFAULT_SETTINGS.with_threshold(0.99))
        assert strict.mode == "rebuild" and strict.n_unique == 3
        assert merge_store(store, DEFAULT_SETTINGS.with_threshold(0.99)).n_changed == 0


# --------------------------------------------------------------------------- commands


def invoke(command, *args: object):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_merge_events_command_merges_and_says_what(two_reports):
    result = invoke(merge_events_command, "--db", two_reports)
    assert result.exit_code == 0, result.output
    assert "3 events -> 2 unique events (1 reported more than once)" in result.output
    assert "Unique events reported by several articles (1" in result.output
    assert "wire.txt" in result.output and "local.txt" in result.output
    stricter = invoke(merge_events_command, "--db", two_reports, "--threshold", "0.99")
    assert stricter.exit_code == 0 and "3 unique events" in stricter.output and "rebuild" in stricter.output
    missing = invoke(merge_events_command, "--db", two_reports.parent / "none.duckdb")
    assert missing.exit_code == 2 and "run-pipeline" in missing.output
    bad = invoke(merge_events_command, "--db", two_reports, "--threshold", "2")
    assert bad.exit_code == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "acled-csv", "parquet"])
def test_export_unique_writes_one_row_per_real_event_with_every_source(two_reports, tmp_path, fmt):
    assert invoke(merge_events_command, "--db", two_reports).exit_code == 0
    out = tmp_path / f"unique.{fmt}"
    result = invoke(export_events_command, "--db", two_reports, "--unique", "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    assert "Wrote 2 unique events" in result.output
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        [merged] = [r for r in rows if r["n_events"] == 2]
        assert merged["fatalities"] == 14 and merged["articles"] == ["wire.txt", "local.txt"]
        assert merged["source"] == "Monitor; wire News; local News" and merged["actor1"]["name"]
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(out).to_pylist()
        assert sorted(r["n_events"] for r in rows) == [1, 2]
    else:
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
        assert len(rows) == 2
        sources = sorted(r["source"] for r in rows)
        assert sources == ["Monitor; wire News; local News", "local News"]
        if fmt == "acled-csv":
            assert sorted(r["fatalities"] for r in rows) == ["14", "3"]
            assert list(rows[0])[0] == "event_id_cnty"


def test_export_unique_refuses_a_run_and_works_before_a_merge(two_reports, tmp_path):
    refused = invoke(export_events_command, "--db", two_reports, "--unique", "--run", "run1")
    assert refused.exit_code == 2 and "--unique" in refused.output
    result = invoke(export_events_command, "--db", two_reports, "--unique", "-o", tmp_path / "u.jsonl")
    assert result.exit_code == 0 and "Wrote 3 unique events" in result.output  # no merge yet: one row each


def test_run_pipeline_merges_unless_told_not_to(seeds_dir, tmp_path):
    plain = tmp_path / "plain.duckdb"
    result = invoke(run_pipeline_command, seeds_dir, "--db", plain, "--model", "fake", "--no-merge", "-q")
    assert result.exit_code == 0, result.output
    with Store(plain) as store:
        assert not unique.has_merge(store)
    merged = tmp_path / "merged.duckdb"
    result = invoke(run_pipeline_command, seeds_dir, "--db", merged, "--model", "fake", "-q")
    assert result.exit_code == 0, result.output
    assert "Merged:" in result.output
    with Store(merged) as store:
        assert unique.has_merge(store)
        n_latest = store.con.execute("SELECT count(*) FROM latest_events").fetchone()[0]
        n_members = store.con.execute("SELECT count(*) FROM unique_event_members").fetchone()[0]
    assert n_latest == n_members > 0
