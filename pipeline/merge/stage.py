"""The merge of a DuckDB file: the latest events of every article into unique events.

``merge_store`` reads the latest extraction of every article, keeps the unique
events already stored (incremental: new events join them or form new ones;
events no longer current leave them) and writes only what changed, so a rerun
over the same events changes nothing. With other settings than the last merge's,
or ``rebuild=True``, the clusters are built again from scratch; a rebuilt
cluster keeps the id of the stored unique event it shares most members with.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.merge.aliases import AliasTable
from pipeline.merge.cluster import cluster_events
from pipeline.merge.features import to_merge_event
from pipeline.merge.merged import merged_row
from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings
from pipeline.store import unique as db
from pipeline.store.database import Store


@dataclass
class MergeSummary:
    merge_id: str
    mode: str  # incremental | rebuild
    n_events: int
    n_new_events: int
    n_unique: int
    n_multi: int  # unique events reported by more than one event
    n_changed: int
    n_pairs: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.n_events} events -> {self.n_unique} unique events ({self.n_multi} reported more than once); "
            f"{self.n_changed} written, {self.n_pairs} pairs compared, {self.mode}, {self.seconds:.1f} s"
        )


def new_unique_id(event_ids: list[str]) -> str:
    return "u" + hashlib.sha256(min(event_ids).encode()).hexdigest()[:15]


def _same(stored: dict[str, Any], row: dict[str, Any]) -> bool:
    def norm(v: Any) -> str:
        if isinstance(v, float):
            v = round(v, 6)
        return json.dumps(v, default=str, sort_keys=True)

    return all(norm(stored.get(k)) == norm(row.get(k)) for k in db.UNIQUE_COLUMNS)


def merge_store(
    store: Store,
    settings: MergeSettings = DEFAULT_SETTINGS,
    *,
    rebuild: bool = False,
    aliases: AliasTable | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> MergeSummary:
    """Merge the store's latest events into unique events (see the module docstring)."""
    t0 = time.perf_counter()
    started = db.now()
    records = db.current_events(store)
    old_member = db.memberships(store)
    last = db.last_settings_hash(store)
    if last is not None and last != settings.fingerprint():
        rebuild = True
    mode = "rebuild" if rebuild else "incremental"
    if on_progress:
        on_progress(f"comparing {len(records)} events ({mode})")
    events = [to_merge_event(r, aliases=aliases, settings=settings) for r in records]
    ids = [str(r["event_id"]) for r in records]
    index = {e: i for i, e in enumerate(ids)}

    initial: list[list[int]] = []
    if not rebuild:
        groups: dict[str, list[int]] = defaultdict(list)
        for e, uid in old_member.items():
            if e in index:
                groups[uid].append(index[e])
        initial = [sorted(v) for _, v in sorted(groups.items())]
    n_new = sum(1 for e in ids if e not in old_member)

    clustering = cluster_events(events, settings, initial=initial, aliases=aliases)
    old_links = db.stored_links(store) if not rebuild else {}

    # ids: an incremental cluster keeps its stored id; a rebuilt one takes the stored id it
    # shares most members with (each stored id once, biggest clusters first)
    assigned: dict[int, str] = {}
    used: set[str] = set()
    order = sorted(range(len(clustering.clusters)), key=lambda k: (-len(clustering.clusters[k]), k))
    for k in order:
        members = clustering.clusters[k]
        counts: dict[str, int] = defaultdict(int)
        for i in members:
            old_uid = old_member.get(ids[i])
            if old_uid:
                counts[old_uid] += 1
        best = sorted((c for c in counts.items() if c[0] not in used), key=lambda c: (-c[1], c[0]))
        uid = best[0][0] if best else new_unique_id([ids[i] for i in members])
        while uid in used:  # pragma: no cover - a hash collision
            uid = "u" + hashlib.sha256(uid.encode()).hexdigest()[:15]
        used.add(uid)
        assigned[k] = uid

    stored = db.stored_unique_events(store)
    stored_member_rows = db.stored_members(store)
    stored_sizes: dict[str, int] = defaultdict(int)
    for m in stored_member_rows.values():
        stored_sizes[m["unique_event_id"]] += 1
    now = db.now()
    upserts, members_out, links_out = [], [], []
    n_multi = 0
    for k, members in enumerate(clustering.clusters):
        uid = assigned[k]
        member_ids = [ids[i] for i in members]
        links: dict[tuple[str, str], float] = {}
        for i, j, score in clustering.links(members):
            a, b = sorted((ids[i], ids[j]))
            links[(a, b)] = score
        for x, a in enumerate(sorted(member_ids)):
            for b in sorted(member_ids)[x + 1 :]:
                if (a, b) not in links and (a, b) in old_links:
                    links[(a, b)] = old_links[(a, b)]
        best_link: dict[str, float] = {}
        for (a, b), s in links.items():
            best_link[a] = max(best_link.get(a, 0.0), s)
            best_link[b] = max(best_link.get(b, 0.0), s)
        row = merged_row([records[i] for i in members], settings)
        row["min_link_score"] = min(links.values()) if links else None
        n_multi += len(members) > 1
        old = stored.get(uid)
        same_members = all(
            stored_member_rows.get(e, {}).get("unique_event_id") == uid
            and stored_member_rows[e].get("link_score") == best_link.get(e)
            for e in member_ids
        ) and stored_sizes.get(uid, 0) == len(member_ids)
        if old is not None and same_members and _same(old, row):
            continue
        upserts.append(
            {
                "unique_event_id": uid,
                **{c: row.get(c) for c in db.UNIQUE_COLUMNS},
                "created_at": old["created_at"] if old else now,
                "updated_at": now,
            }
        )
        for i in members:
            e = ids[i]
            prev = stored_member_rows.get(e)
            members_out.append(
                {
                    "unique_event_id": uid,
                    "event_id": e,
                    "article_id": records[i]["article_id"],
                    "link_score": best_link.get(e),
                    "joined_at": prev["joined_at"] if prev and prev["unique_event_id"] == uid else now,
                }
            )
        links_out += [{"unique_event_id": uid, "event_a": a, "event_b": b, "score": s} for (a, b), s in links.items()]
    deleted = sorted(set(stored) - used)
    seconds = time.perf_counter() - t0
    summary = MergeSummary(
        merge_id=uuid.uuid4().hex,
        mode=mode,
        n_events=len(records),
        n_new_events=n_new,
        n_unique=len(clustering.clusters),
        n_multi=n_multi,
        n_changed=len(upserts) + len(deleted),
        n_pairs=clustering.n_pairs,
        seconds=seconds,
    )
    db.write_merge(
        store,
        upserts=upserts,
        deleted=deleted,
        members=members_out,
        links=links_out,
        merge_run={
            "merge_id": summary.merge_id,
            "started_at": started,
            "seconds": seconds,
            "mode": mode,
            "settings": settings.as_dict(),
            "settings_hash": settings.fingerprint(),
            "n_events": summary.n_events,
            "n_new_events": n_new,
            "n_unique": summary.n_unique,
            "n_changed": summary.n_changed,
            "n_pairs": summary.n_pairs,
        },
    )
    return summary
