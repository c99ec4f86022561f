"""Best-first complete-link clustering of events into unique events.

Links (compatible pairs scoring at least the threshold) are taken best first;
a link joins its two events' clusters only when every pair across the two
clusters is itself a link. So no cluster ever holds two events that are
individually incompatible: a vague third record cannot chain the Saraqib strike
into the Maarat al-Numan one.

Incremental: ``initial`` clusters (the unique events already stored) are kept
as they are; only pairs with at least one new event are scored, new events join
an existing cluster or each other, and two existing clusters are never joined
(they were compared when they were built, with the same settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.merge.aliases import AliasTable
from pipeline.merge.features import MergeEvent, wildcard_keys
from pipeline.merge.score import PairScore, candidate_pairs, compare
from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings


@dataclass
class Clustering:
    """The clusters (lists of event indices, each sorted) and the scores of the pairs compared."""

    clusters: list[list[int]]
    scores: dict[tuple[int, int], PairScore] = field(default_factory=dict)
    n_pairs: int = 0  # pairs scored (after blocking)

    def cluster_of(self) -> dict[int, int]:
        return {i: k for k, members in enumerate(self.clusters) for i in members}

    def links(self, members: Sequence[int]) -> list[tuple[int, int, float]]:
        """The scored links (i < j, score) inside one cluster."""
        out = []
        ms = sorted(members)
        for x, i in enumerate(ms):
            for j in ms[x + 1 :]:
                ps = self.scores.get((i, j))
                if ps is not None and ps.score is not None:
                    out.append((i, j, ps.score))
        return out


def cluster_events(
    events: Sequence[MergeEvent],
    settings: MergeSettings = DEFAULT_SETTINGS,
    *,
    initial: Sequence[Sequence[int]] = (),
    aliases: AliasTable | None = None,
) -> Clustering:
    """Group ``events`` into clusters (see the module docstring)."""
    wildcards = wildcard_keys(settings, aliases)
    threshold = settings.threshold - 1e-9
    owner: dict[int, int] = {}
    clusters: dict[int, set[int]] = {}
    fixed: set[int] = set()  # ids of the initial clusters
    for members in initial:
        ms = set(members)
        if not ms:
            continue
        cid = min(ms)
        clusters[cid] = ms
        fixed.add(cid)
        for i in ms:
            owner[i] = cid
    new = [i for i in range(len(events)) if i not in owner]
    for i in new:
        owner[i] = i
        clusters[i] = {i}

    scores: dict[tuple[int, int], PairScore] = {}
    links: list[tuple[float, int, int]] = []
    only = new if initial else None
    for i, j in candidate_pairs(events, settings, only=only):
        ps = compare(events[i], events[j], settings, wildcards)
        scores[(i, j)] = ps
        if ps.score is not None and ps.score >= threshold:
            links.append((-ps.score, i, j))
    links.sort()

    def linked(i: int, j: int) -> bool:
        ps = scores.get((i, j) if i < j else (j, i))
        return ps is not None and ps.score is not None and ps.score >= threshold

    for _neg, i, j in links:
        ci, cj = owner[i], owner[j]
        if ci == cj:
            continue
        if ci in fixed and cj in fixed:
            continue
        a, b = clusters[ci], clusters[cj]
        if not all(linked(x, y) for x in a for y in b):
            continue
        keep, drop = (ci, cj) if (ci in fixed or (cj not in fixed and ci < cj)) else (cj, ci)
        clusters[keep] |= clusters[drop]
        for x in clusters[drop]:
            owner[x] = keep
        del clusters[drop]
        if drop in fixed:  # pragma: no cover - two fixed clusters are never joined
            fixed.discard(drop)

    out = sorted((sorted(ms) for ms in clusters.values()), key=lambda m: m[0])
    return Clustering(out, scores, len(scores))
