"""Gold files: the hand-coded events of the evaluation articles.

`load_gold` reads a folder's gold files, keyed by article file name. A gold
field may accept several values (``{"any_of": [...]}``): `alternatives` lists
them, `first_alternative` resolves every one to its first choice, and `dedupe`
drops repeated values, keeping their order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------- any_of


def alternatives(value: Any) -> list[Any]:
    """The accepted values of a gold field: the ``any_of`` list (flattened) or ``[value]``."""
    if isinstance(value, dict) and "any_of" in value:
        out: list[Any] = []
        for alt in value["any_of"] or [None]:
            out.extend(alternatives(alt))
        return out
    return [value]


def first_alternative(value: Any) -> Any:
    """Resolve every ``any_of`` (recursively, also inside actors) to its first alternative."""
    if isinstance(value, dict):
        if "any_of" in value:
            alts = value["any_of"]
            return first_alternative(alts[0]) if alts else None
        return {k: first_alternative(v) for k, v in value.items()}
    if isinstance(value, list):
        return [first_alternative(v) for v in value]
    return value


def dedupe(items: Iterable[Any]) -> list[Any]:
    """The items without repeats (by equality, so unhashable values too), in their first order."""
    out: list[Any] = []
    for it in items:
        if it not in out:
            out.append(it)
    return out


# --------------------------------------------------------------------------- scoring


def load_gold(folder: str | Path) -> dict[str, dict]:
    """All gold files of ``folder`` keyed by their ``article`` (file name of the article)."""
    out: dict[str, dict] = {}
    for path in sorted(Path(folder).glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            gold = json.load(fh)
        if not isinstance(gold, dict) or "events" not in gold:
            continue
        name = gold.get("article") or path.with_suffix(".txt").name
        if name in out:
            raise ValueError(f"two gold files for article {name!r}")
        out[name] = gold
    return out
