"""Actor names onto one comparison key: the alias table `evals/aliases.json`.

The scorer (`pipeline.evaluation.scoring`) and the merge compare actors the same
way: ``actor_key`` normalises a spelling, ``AliasTable.canonical`` maps an alias
("regime forces", "Syrian army") onto its canonical name's key ("military
forces of syria").
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.geo.place_names import APOS_RE, NON_ALNUM_RE, PAREN_RE, ascii_fold
from pipeline.paths import evals_dir

DEFAULT_ALIASES_PATH = evals_dir() / "aliases.json"


def actor_key(name: Any) -> str:
    """Comparison key of an actor name: ascii-folded, casefolded, apostrophes removed,
    other punctuation and hyphens -> space, parenthetical qualifiers and a leading
    "the" dropped. ``""`` for a missing name."""
    if not isinstance(name, str):
        return ""
    s = ascii_fold(name)
    s = PAREN_RE.sub(" ", s)
    s = APOS_RE.sub("", s)
    s = NON_ALNUM_RE.sub(" ", s).strip()
    if s.startswith("the "):
        s = s[4:]
    return s


class AliasTable:
    """Actor alias table: canonical name -> aliases (keys starting with "_" are comments)."""

    def __init__(self, mapping: dict[str, list[str]] | None = None):
        self._canonical_key: dict[str, str] = {}
        self._display: dict[str, str] = {}
        for canonical, aliases in (mapping or {}).items():
            if canonical.startswith("_"):
                continue
            ckey = actor_key(canonical)
            self._display[ckey] = canonical
            for name in [canonical, *aliases]:
                key = actor_key(name)
                if not key:
                    continue
                previous = self._canonical_key.get(key)
                if previous is not None and previous != ckey:
                    raise ValueError(
                        f"alias {name!r} belongs to both {self._display.get(previous, previous)!r} and {canonical!r}"
                    )
                self._canonical_key[key] = ckey

    @classmethod
    def load(cls, path: str | Path = DEFAULT_ALIASES_PATH) -> AliasTable:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def canonical(self, name: Any) -> str:
        """Canonical comparison key of ``name`` (its own key when not in the table)."""
        key = actor_key(name)
        return self._canonical_key.get(key, key)

    def display(self, name: Any) -> str:
        key = self.canonical(name)
        return self._display.get(key, name if isinstance(name, str) else "")

    def __len__(self) -> int:
        return len(self._canonical_key)


@lru_cache(maxsize=1)
def default_aliases() -> AliasTable:
    if DEFAULT_ALIASES_PATH.exists():
        return AliasTable.load(DEFAULT_ALIASES_PATH)
    return AliasTable({})
