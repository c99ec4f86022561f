"""`run-eval` scores the merge step when the gold folder has a clusters.json beside it.

A tiny invented set: strike A on Kafr Zaytun told by n1 and n2, strike B on Tal Hamra
(a hard negative to A: same day, same kind, another town) told by n2 and n3. The stored
run gets n3's town wrong, so its report of B is merged into A end to end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli.evaluate import run_eval_command
from pipeline.evaluation.harness import run_eval
from pipeline.evaluation.merging import GoldClusters, link_scores, load_clusters
from pipeline.store.database import Store
from tests.test_merge import _add_article


def gold_event(location: str, fatalities: int, date: str = "2021-03-01") -> dict[str, Any]:
    return {
        "required": True,
        "event_date": date,
        "event_end_date": None,
        "time_precision": 1,
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "actor1": {"name": "Military Forces of Syria", "actor_type": "state_forces"},
        "assoc_actors_1": [],
        "actor2": {"name": "Civilians", "actor_type": "civilians"},
        "assoc_actors_2": [],
        "country": "Syria",
        "admin1": "Idlib",
        "location": location,
        "geo_precision": 1,
        "fatalities": fatalities,
        "civilian_targeting": True,
        "source": "",
        "notes": "",
        "evidence": [f"strike on {location}"],
    }


@pytest.fixture
def dedup_set(tmp_path: Path) -> Path:
    gold = tmp_path / "set" / "gold"
    gold.mkdir(parents=True)
    files = {
        "n1.txt": ("2021-03-01", [gold_event("Kafr Zaytun", 10)]),
        "n2.txt": ("2021-03-02", [gold_event("Kfar Zeitoun", 14), gold_event("Tal Hamra", 3)]),
        "n3.txt": ("2021-03-03", [gold_event("Tal Hamra", 4)]),
    }
    for name, (published, events) in files.items():
        (gold / name.replace(".txt", ".json")).write_text(
            json.dumps({"article": name, "published": published, "events": events})
        )
    clusters = {
        "clusters": [
            {"id": "kA", "description": "strike on Kafr Zaytun", "members": [
                {"article": "n1.txt", "event": 0}, {"article": "n2.txt", "event": 0}]},
            {"id": "kB", "description": "HARD NEGATIVE to kA: strike on Tal Hamra, same day", "members": [
                {"article": "n2.txt", "event": 1}, {"article": "n3.txt", "event": 0}]},
        ]
    }  # fmt: skip
    (tmp_path / "set" / "clusters.json").write_text(json.dumps(clusters))
    db = tmp_path / "eval.duckdb"
    with Store(db) as store:
        store.start_run({"run_id": "run1", "model": "m", "prompt_hash": "h", "started_at": None})
        _add_article(store, "run1", "n1", "2021-03-01", [{"fatalities": 10}])
        _add_article(store, "run1", "n2", "2021-03-02", [{"fatalities": 14, "location": "Kfar Zeitoun"},
                                                         {"fatalities": 3, "location": "Tal Hamra"}])  # fmt: skip
        # the run puts n3's strike on the wrong town: it joins strike A
        _add_article(store, "run1", "n3", "2021-03-03", [{"fatalities": 4, "location": "Kafr Zaytun"}])
    return tmp_path


def test_clusters_file_gives_labels_and_hard_negative_pairs(dedup_set):
    clusters = load_clusters(dedup_set / "set" / "clusters.json")
    assert clusters.label[("n2.txt", 1)] == "kB" and clusters.n_clusters == 2
    assert clusters.is_hard("kA", "kB") and clusters.is_hard("kB", "kA")


def test_link_and_bcubed_scores_by_hand():
    clusters = GoldClusters({}, {"g1": "", "g2": ""}, {frozenset({"g1", "g2"})})
    gold = {"a": "g1", "b": "g1", "c": "g2", "d": "g2"}
    pred = {"a": 0, "b": 0, "c": 0, "d": 1}  # c wrongly with a and b; d alone
    s = link_scores(pred, gold, clusters, {})  # type: ignore[arg-type]
    assert (s.true_links, s.pred_links, s.tp) == (2, 3, 1)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 2)
    # B-cubed: precision a,b,c = 2/3, 2/3, 1/3, d = 1; recall a,b = 1, c,d = 1/2
    assert s.bcubed_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert s.bcubed_recall == pytest.approx(3 / 4)
    assert s.hard_negatives_merged == 2
    assert [w["kind"] for w in s.wrong_links] == ["hard negative merged", "hard negative merged", "missed link"]


def test_run_eval_scores_merging_on_gold_events_and_end_to_end(dedup_set):
    with Store(dedup_set / "eval.duckdb") as store:
        outcome = run_eval(store, dedup_set / "set" / "gold", runs=["run1"], out=dedup_set / "report")
    gold = outcome.merge_gold
    assert gold is not None
    assert (gold["f1"], gold["bcubed_f1"], gold["hard_negatives_merged"]) == (1.0, 1.0, 0)
    assert (gold["n_unique_events"], gold["n_gold_clusters_all"]) == (2, 2)
    e2e = outcome.columns[0].merge
    assert e2e is not None
    assert (e2e["n_items"], e2e["true_links"], e2e["pred_links"], e2e["tp"]) == (4, 2, 3, 1)
    assert e2e["hard_negatives_merged"] == 2 and e2e["n_unique_events"] == 2
    kinds = [w["kind"] for w in e2e["wrong_links"]]
    assert kinds == ["hard negative merged", "hard negative merged", "missed link"]
    assert e2e["wrong_links"][-1]["why"].startswith("vetoed: places")
    md = (dedup_set / "report.md").read_text()
    section = md[md.index("## Merging reports of the same event") :]
    assert "| gold events as input (merge logic alone) | 4 | 2 / 2 | 1.00 | 1.00 | 1.00 | 1.00 | 0 |" in section
    run_wrong = section[section.rindex("### Wrong links") :]
    assert "(end to end) (3)" in run_wrong
    assert run_wrong.index("| hard negative merged |") < run_wrong.index("| missed link |")
    html = (dedup_set / "report.html").read_text()
    assert 'id="merging"' in html and "hard negative merged" in html


def test_run_eval_command_prints_merge_scores_and_skips_them_without_a_clusters_file(dedup_set):
    args = ["--db", str(dedup_set / "eval.duckdb"), "--gold", str(dedup_set / "set" / "gold"), "--run", "run1"]
    result = CliRunner().invoke(run_eval_command, [*args, "--out", str(dedup_set / "r1")])
    assert result.exit_code == 0, result.output
    assert "Merging, gold events as input: pairwise P 1.00 R 1.00 F1 1.00" in result.output
    assert "hard negatives merged 2" in result.output
    (dedup_set / "set" / "clusters.json").unlink()
    result = CliRunner().invoke(run_eval_command, [*args, "--out", str(dedup_set / "r2")])
    assert result.exit_code == 0 and "Merging" not in result.output
    assert "## Merging" not in (dedup_set / "r2.md").read_text()
