"""Merge: one row per real event from the records several articles give of it.

A folder of news tells most incidents more than once (a same-day wire story, a
next-day local report with other spellings and another toll, a follow-up that
revises it). This stage groups the events of all articles into unique events:

- `settings.py`: every threshold and weight, in one documented dataclass (`MergeSettings`);
- `aliases.py`: actor names onto their canonical form (the alias table `evals/aliases.json`);
- `features.py`: what of an event the pair score reads, computed once per event;
- `score.py`: blocking (country and date window) and the pair score with its hard vetoes;
- `cluster.py`: best-first complete-link clustering (every pair in a cluster is compatible,
  so a vague record never chains two different events), incremental over existing clusters;
- `merged.py`: the merged row of a cluster (the toll rule, representative fields, sources);
- `stage.py`: the merge of a DuckDB file (`merge_store`), reading and writing through
  `pipeline.store.unique`.

Pure logic except `stage.py`; the SQL stays in `pipeline.store`.
"""

from pipeline.merge.settings import DEFAULT_SETTINGS, MergeSettings

__all__ = ["DEFAULT_SETTINGS", "MergeSettings"]
