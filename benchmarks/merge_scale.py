"""How the merge step's cost grows with the number of events.

Synthesises N events from the dedup set (`../shared/dedup`: 64 gold events in 36
real events, with its hard negatives): copy after copy of the whole set, each copy's
countries mapped onto other countries of the gazetteer, its dates shifted within one
year, its places renamed (one invented name per place and copy, spelled differently
in some reports, coordinates moved with the place so distances inside a copy stay
true) and its tolls jittered. That is one year of news at ACLED's scale at 100,000
reports (about 2.7 reports per country and day over 100 countries). Then it merges
them as `merge-events` does (features, blocking, pair scores, complete-link
clustering, merged rows), each size in a fresh process, and prints the seconds, the
peak memory (max RSS of that process), the pairs compared after blocking and the
pairwise F1 against the copies' known clusters.

    python benchmarks/merge_scale.py                       # 10k, 30k, 100k
    python benchmarks/merge_scale.py --sizes 1000 5000 --countries 50
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.evaluation.harness import load_gold_folder  # noqa: E402
from pipeline.evaluation.merging import _flat_gold, load_clusters  # noqa: E402
from pipeline.geo.gazetteer import countries  # noqa: E402
from pipeline.merge.cluster import cluster_events  # noqa: E402
from pipeline.merge.features import to_merge_event  # noqa: E402
from pipeline.merge.merged import merged_row  # noqa: E402

DEDUP = ROOT.parent / "shared" / "dedup"
SYLLABLES = "ka ma ra sa ta na ba da la ha za qa fa ya wa ki mi ri si ti ni bi di li hu zu qu ku mu ru su tu nu".split()


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _variant(name: str, rng: random.Random) -> str:
    """Another spelling of the same name, as a second outlet writes it."""
    choice = rng.randrange(4)
    if choice == 0:
        return "al-" + name
    if choice == 1:
        return name.replace("u", "ou", 1)
    if choice == 2:
        return name + "h" if name.endswith("a") else name
    return name.replace("i", "ee", 1)


def synthesise(n: int, n_countries: int, seed: int = 7) -> tuple[list[dict[str, Any]], list[str]]:
    """N event records and their true cluster labels."""
    gold = load_gold_folder(DEDUP / "gold")
    clusters = load_clusters(DEDUP / "clusters.json")
    template = []
    for name in sorted(gold):
        for idx, e in enumerate(gold[name]["events"]):
            flat = _flat_gold(e)
            flat["published"] = gold[name]["published"]
            template.append((name, idx, flat))
    rng = random.Random(seed)
    pool = sorted(c["name"] for c in countries().values())
    rng.shuffle(pool)
    pool = pool[:n_countries]
    start = date(2023, 1, 1)
    records: list[dict[str, Any]] = []
    labels: list[str] = []
    copy = 0
    while len(records) < n:
        country_map: dict[str, tuple[str, timedelta, float, float]] = {}
        places: dict[tuple[str, str], str] = {}
        for name, idx, e in template:
            if len(records) >= n:
                break
            if e["country"] not in country_map:  # this copy's country, date shift and place shift
                shift = start + timedelta(days=rng.randrange(365)) - date.fromisoformat(e["published"])
                country_map[e["country"]] = (rng.choice(pool), shift, rng.uniform(-20, 20), rng.uniform(-40, 40))
            country, delta, dlat, dlon = country_map[e["country"]]

            def moved(value: Any, delta: timedelta = delta) -> Any:
                return (date.fromisoformat(str(value)[:10]) + delta).isoformat() if value else value

            r = dict(e)
            loc = e.get("location")
            if loc:
                key = (e["country"], loc)
                places.setdefault(key, _name(rng))
                r["location"] = places[key] if rng.random() < 0.7 else _variant(places[key], rng)
            r["country"] = country
            r["admin1"] = f"{e['admin1']} {copy}" if e.get("admin1") else None  # regions renamed per copy
            r["event_date"], r["event_end_date"], r["published"] = (
                moved(e.get("event_date")),
                moved(e.get("event_end_date")),
                moved(e["published"]),
            )
            if r.get("latitude") is not None and r.get("geo_method") in ("exact", "fuzzy"):
                r["latitude"] = max(-89.0, min(89.0, r["latitude"] + dlat))
                r["longitude"] = ((r["longitude"] + dlon + 180) % 360) - 180
            r["fatalities"] = int(round((e.get("fatalities") or 0) * rng.uniform(0.85, 1.2)))
            r["event_id"] = f"c{copy}-{name}#{idx}"
            r["article_id"] = f"c{copy}-{name}"
            r["file_name"] = r["article_id"] + ".txt"
            records.append(r)
            labels.append(f"c{copy}-{clusters.label[(name, idx)]}")
        copy += 1
    return records, labels


def pairwise_f1(clusters: list[list[int]], labels: list[str]) -> float:
    from collections import Counter

    pred = tp = 0
    for members in clusters:
        pred += len(members) * (len(members) - 1) // 2
        for c in Counter(labels[i] for i in members).values():
            tp += c * (c - 1) // 2
    true = sum(c * (c - 1) // 2 for c in Counter(labels).values())
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return 2 * p * r / (p + r) if p + r else 0.0


EVENT_COLUMNS = (
    "event_id article_id event_date event_end_date time_precision event_type sub_event_type actor1 actor2 "
    "country admin1 location geo_precision latitude longitude geo_method fatalities civilian_targeting source "
    "notes evidence"
).split()


def measure_store(records: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    """The product's path: the events in a DuckDB file (written untimed), then `merge_store` and a rerun."""
    from pipeline.merge.stage import merge_store
    from pipeline.store.database import Store
    from pipeline.store.rows import insert_rows

    db = folder / "merge_scale.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        store.start_run({"run_id": "synthetic", "model": "synthetic", "prompt_hash": "-"})
        articles = {r["article_id"]: r for r in records}
        insert_rows(store.con, "articles", [
            {"article_id": a, "file_name": r["file_name"], "published": r["published"], "text": ""}
            for a, r in articles.items()
        ])  # fmt: skip
        insert_rows(store.con, "run_articles", [
            {"run_id": "synthetic", "article_id": a, "file_name": r["file_name"], "status": "ok"}
            for a, r in articles.items()
        ])  # fmt: skip
        insert_rows(store.con, "events", [
            {**{c: r.get(c) for c in EVENT_COLUMNS}, "run_id": "synthetic", "event_index": 0} for r in records
        ])  # fmt: skip
        t0 = time.perf_counter()
        first = merge_store(store)
        t1 = time.perf_counter()
        again = merge_store(store)
        t2 = time.perf_counter()
    db.unlink(missing_ok=True)
    assert again.n_changed == 0, "a rerun changed unique events"
    return {"db_merge_s": round(t1 - t0, 2), "db_rerun_s": round(t2 - t1, 2), "db_unique": first.n_unique}


def measure(n: int, n_countries: int, folder: Path | None = None) -> dict[str, Any]:
    records, labels = synthesise(n, n_countries)
    t0 = time.perf_counter()
    events = [to_merge_event(r) for r in records]
    t1 = time.perf_counter()
    result = cluster_events(events)
    t2 = time.perf_counter()
    rows = [merged_row([records[i] for i in members]) for members in result.clusters]
    t3 = time.perf_counter()
    stored = measure_store(records, folder) if folder else {}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        **stored,
        "events": len(records),
        "unique": len(rows),
        "pairs": result.n_pairs,
        "features_s": round(t1 - t0, 2),
        "cluster_s": round(t2 - t1, 2),
        "rows_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
        "peak_rss_mb": round(rss_mb),
        "pairwise_f1": round(pairwise_f1(result.clusters, labels), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--countries", type=int, default=100, help="countries the copies are spread over")
    parser.add_argument(
        "--db-dir",
        type=Path,
        default=None,
        help="also write the events into a DuckDB file in this folder and time merge_store (read, merge, "
        "write) and an idempotent rerun: the product's path",
    )
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.countries, args.db_dir)))
        return
    print(f"{'events':>8} {'unique':>8} {'pairs':>9} {'features s':>10} {'cluster s':>9} {'rows s':>7} "
          f"{'total s':>8} {'s/1k ev':>8} {'peak MB':>8} {'pair F1':>8}"
          + (f" {'db merge s':>10} {'db rerun s':>10}" if args.db_dir else ""))  # fmt: skip
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--countries", str(args.countries)]
            + (["--db-dir", str(args.db_dir)] if args.db_dir else []),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        m = json.loads(out.strip().splitlines()[-1])
        print(
            f"{m['events']:>8} {m['unique']:>8} {m['pairs']:>9} {m['features_s']:>10} {m['cluster_s']:>9} "
            f"{m['rows_s']:>7} {m['total_s']:>8} {1000 * m['total_s'] / m['events']:>8.3f} {m['peak_rss_mb']:>8} "
            f"{m['pairwise_f1']:>8}" + (f" {m['db_merge_s']:>10} {m['db_rerun_s']:>10}" if args.db_dir else ""),
            flush=True,
        )
    print("total s: features + blocking, pair scores and clustering + merged rows (no database); "
          "peak MB: max RSS of the process (synthesis and the gazetteer included); db merge s: merge_store "
          "on a DuckDB file (read the latest events, merge, write every unique event); db rerun s: the same "
          "merge again (incremental, writes nothing).")  # fmt: skip


if __name__ == "__main__":
    main()
