"""Score the merge step against a gold clustering (`clusters.json` beside the gold folder).

``clusters.json``: ``{"clusters": [{"id", "description", "members": [{"article", "event"}]}]}``,
``event`` indexing the article's gold ``events``. A description that starts with
"HARD NEGATIVE to kNN" marks a look-alike that must stay apart from cluster kNN.

Two measurements:

* **gold events as input** (the merge logic alone): every gold event (optional ones
  too; ``any_of`` fields as their first choice, geocoded as the pipeline geocodes)
  is merged, and the clusters are compared with the gold clusters;
* **end to end**: a run's predicted events are merged (all of them, as
  ``merge-events`` would), and the predicted events the scorer matched to a gold
  event (`scoring.score_article`'s optimal per-article matching) are compared,
  each standing for its gold event's cluster. Unmatched predictions are left out
  of the link scores (event precision already counts them) but count in the number
  of unique events.

Metrics: pairwise link precision / recall / F1 (a link is a pair of items in one
cluster) and B-cubed precision / recall / F1 (per item: the share of its predicted
cluster that is in its gold cluster, and the reverse). Wrong links are listed,
hard negatives merged first, then other false merges, then missed links.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.geo.geocode import apply_geocode
from pipeline.geo.names import plain
from pipeline.merge.aliases import AliasTable
from pipeline.merge.cluster import cluster_events
from pipeline.merge.features import MergeEvent, to_merge_event, wildcard_keys
from pipeline.merge.score import compare
from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings

CLUSTERS_FILE = "clusters.json"
_HARD_RE = re.compile(r"HARD NEGATIVE to (k\w+)", re.IGNORECASE)


@dataclass
class GoldClusters:
    label: dict[tuple[str, int], str]  # (article, gold event index) -> cluster id
    descriptions: dict[str, str]
    hard_pairs: set[frozenset[str]]  # cluster-id pairs that must stay apart

    @property
    def n_clusters(self) -> int:
        return len(self.descriptions)

    def is_hard(self, a: str, b: str) -> bool:
        return frozenset({a, b}) in self.hard_pairs


def clusters_path(gold_dir: str | Path) -> Path:
    """Where the gold clustering of a gold folder lives: ``clusters.json`` beside the folder."""
    return Path(gold_dir).resolve().parent / CLUSTERS_FILE


def load_clusters(path: str | Path) -> GoldClusters:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    label: dict[tuple[str, int], str] = {}
    descriptions: dict[str, str] = {}
    hard: set[frozenset[str]] = set()
    for c in data.get("clusters") or []:
        cid = str(c["id"])
        descriptions[cid] = str(c.get("description") or "")
        for m in c.get("members") or []:
            label[(str(m["article"]), int(m["event"]))] = cid
        found = _HARD_RE.search(descriptions[cid])
        if found:
            hard.add(frozenset({cid, found.group(1)}))
    return GoldClusters(label, descriptions, hard)


@dataclass
class MergeScore:
    n_items: int
    n_pred_clusters: int  # over the items scored
    n_gold_clusters: int
    true_links: int
    pred_links: int
    tp: int
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    hard_negatives_merged: int
    wrong_links: list[dict[str, Any]] = field(default_factory=list)
    n_unique_events: int | None = None  # over every event merged (end to end: matched or not)
    n_events: int | None = None
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def link_scores(
    pred: dict[Hashable, int],
    gold: dict[Hashable, str],
    clusters: GoldClusters,
    describe: dict[Hashable, str],
    pair_info: dict[frozenset[Hashable], str] | None = None,
) -> MergeScore:
    """Pairwise and B-cubed scores of the predicted clustering ``pred`` (item -> cluster) against ``gold``."""
    items = sorted(set(pred) & set(gold), key=str)
    pred_groups: dict[int, list[Hashable]] = defaultdict(list)
    gold_groups: dict[str, list[Hashable]] = defaultdict(list)
    for x in items:
        pred_groups[pred[x]].append(x)
        gold_groups[gold[x]].append(x)
    tp = pred_links = true_links = 0
    wrong: list[dict[str, Any]] = []
    for x_i, x in enumerate(items):
        for y in items[x_i + 1 :]:
            same_pred = pred[x] == pred[y]
            same_gold = gold[x] == gold[y]
            pred_links += same_pred
            true_links += same_gold
            tp += same_pred and same_gold
            if same_pred != same_gold:
                hard = same_pred and clusters.is_hard(gold[x], gold[y])
                kind = "hard negative merged" if hard else ("false merge" if same_pred else "missed link")
                wrong.append(
                    {
                        "kind": kind,
                        "a": describe.get(x, str(x)),
                        "b": describe.get(y, str(y)),
                        "gold_a": gold[x],
                        "gold_b": gold[y],
                        "why": (pair_info or {}).get(frozenset({x, y}), ""),
                    }
                )
    rank = {"hard negative merged": 0, "false merge": 1, "missed link": 2}
    wrong.sort(key=lambda w: (rank[w["kind"]], w["gold_a"], w["gold_b"], w["a"], w["b"]))
    p = tp / pred_links if pred_links else 1.0
    r = tp / true_links if true_links else 1.0
    bp = br = 0.0
    for x in items:
        mine = pred_groups[pred[x]]
        theirs = gold_groups[gold[x]]
        both = sum(1 for y in mine if gold[y] == gold[x])
        bp += both / len(mine)
        br += both / len(theirs)
    n = len(items)
    bp, br = (bp / n, br / n) if n else (1.0, 1.0)
    return MergeScore(
        n_items=n,
        n_pred_clusters=len(pred_groups),
        n_gold_clusters=len(gold_groups),
        true_links=true_links,
        pred_links=pred_links,
        tp=tp,
        precision=p,
        recall=r,
        f1=_f1(p, r),
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f1=_f1(bp, br),
        hard_negatives_merged=sum(1 for w in wrong if w["kind"] == "hard negative merged"),
        wrong_links=wrong,
    )


def _describe(name: str, idx: int, e: dict[str, Any], prefix: str = "#") -> str:
    return (
        f"{name}{prefix}{idx} {plain(e.get('event_date'))} {plain(e.get('sub_event_type'))} "
        f"{plain(e.get('location')) or plain(e.get('admin1')) or '?'} ({plain(e.get('fatalities'))} dead)"
    )


def _pair_info(
    events: Sequence[MergeEvent],
    keys: Sequence[Hashable],
    wrong_pairs: set[frozenset[Hashable]],
    settings: MergeSettings,
) -> dict[frozenset[Hashable], str]:
    """The pair score (or the veto) of each wrongly linked or wrongly separated pair, for the report."""
    pos = {k: i for i, k in enumerate(keys)}
    wildcards = wildcard_keys(settings)
    out = {}
    for pair in wrong_pairs:
        x, y = sorted(pair, key=str)
        ps = compare(events[pos[x]], events[pos[y]], settings, wildcards)
        out[pair] = f"score {ps.score:.2f}" if ps.score is not None else f"vetoed: {ps.reason}"
    return out


def _flat_gold(event: dict[str, Any]) -> dict[str, Any]:
    out = {k: plain(v) for k, v in event.items()}
    for side in ("actor1", "actor2"):
        a = out.get(side)
        out[side] = plain(a.get("name")) if isinstance(a, dict) else a
    if out.get("latitude") is None:
        out = apply_geocode(out)
    return out


def score_gold_merge(
    gold: dict[str, dict],
    clusters: GoldClusters,
    settings: MergeSettings = DEFAULT_SETTINGS,
    aliases: AliasTable | None = None,
) -> MergeScore:
    """The merge logic alone: every gold event merged, compared with the gold clusters."""
    keys: list[tuple[str, int]] = []
    events: list[MergeEvent] = []
    describe: dict[Hashable, str] = {}
    for name in sorted(gold):
        g = gold[name]
        for idx, e in enumerate(g.get("events") or []):
            flat = _flat_gold(e)
            flat["published"] = g.get("published")
            keys.append((name, idx))
            events.append(to_merge_event(flat, event_id=f"{name}#{idx}", article=name, aliases=aliases))
            describe[(name, idx)] = _describe(name, idx, e)
    clustering = cluster_events(events, settings, aliases=aliases)
    pred = {keys[i]: k for k, members in enumerate(clustering.clusters) for i in members}
    gold_label = {k: clusters.label[k] for k in keys if k in clusters.label}
    score = link_scores(pred, gold_label, clusters, describe)  # type: ignore[arg-type]
    wrong_pairs = {frozenset({_key(w["a"], describe), _key(w["b"], describe)}) for w in score.wrong_links}
    info = _pair_info(events, keys, wrong_pairs, settings)
    score = link_scores(pred, gold_label, clusters, describe, info)  # type: ignore[arg-type]
    score.n_unique_events, score.n_events = len(clustering.clusters), len(events)
    score.label = "gold events as input"
    return score


def _key(text: str, describe: dict[Hashable, str]) -> Hashable:
    return next(k for k, v in describe.items() if v == text)


def score_predicted_merge(
    gold: dict[str, dict],
    clusters: GoldClusters,
    predictions: dict[str, list[dict]],
    matches: dict[str, list[tuple[int, int]]],
    settings: MergeSettings = DEFAULT_SETTINGS,
    aliases: AliasTable | None = None,
    label: str = "",
) -> MergeScore:
    """End to end: a run's predicted events merged; ``matches``: per article, (gold index, predicted index)."""
    keys: list[tuple[str, int]] = []
    events: list[MergeEvent] = []
    describe: dict[Hashable, str] = {}
    for name in sorted(predictions):
        published = (gold.get(name) or {}).get("published")
        for j, r in enumerate(predictions[name]):
            rec = {**r, "published": r.get("published") or published}
            keys.append((name, j))
            events.append(to_merge_event(rec, event_id=f"{name}@{j}", article=name, aliases=aliases))
            describe[(name, j)] = _describe(name, j, r, prefix="@")
    clustering = cluster_events(events, settings, aliases=aliases)
    pred = {keys[i]: k for k, members in enumerate(clustering.clusters) for i in members}
    gold_label: dict[Hashable, str] = {}
    for name, pairs in matches.items():
        for gi, pj in pairs:
            cid = clusters.label.get((name, gi))
            if cid is not None and (name, pj) in pred:
                gold_label[(name, pj)] = cid
    score = link_scores(pred, gold_label, clusters, describe)  # type: ignore[arg-type]
    wrong_pairs = {frozenset({_key(w["a"], describe), _key(w["b"], describe)}) for w in score.wrong_links}
    info = _pair_info(events, keys, wrong_pairs, settings)
    score = link_scores(pred, gold_label, clusters, describe, info)  # type: ignore[arg-type]
    score.n_unique_events, score.n_events = len(clustering.clusters), len(events)
    score.label = label or "end to end"
    return score
