"""Every wrong field, missed and spurious event of a stored run, article by article.

The eval report gives the per-field rates; this lists the cases behind them,
for error analysis:

    python benchmarks/field_errors.py --db eval.duckdb --run 65a7d46c [--field event_date]
"""

from __future__ import annotations

import argparse

from pipeline.evaluation.harness import load_gold_folder, resolve_run, score_stored_run
from pipeline.store.database import Store


def _short(event: dict) -> str:
    a1 = event.get("actor1")
    a2 = event.get("actor2")
    name = lambda a: (a or {}).get("name") if isinstance(a, dict) else a  # noqa: E731
    return (
        f"{event.get('event_date')} {event.get('sub_event_type')} | {name(a1)} vs {name(a2)} | "
        f"{event.get('admin1')}/{event.get('location')} | killed {event.get('fatalities')}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--gold", default="evals/gold")
    ap.add_argument("--field", help="show only this field's errors")
    args = ap.parse_args()
    store = Store(args.db)
    gold = load_gold_folder(args.gold)
    column = score_stored_run(store, resolve_run(store, args.run), gold)
    for art in column.score.articles.values():
        lines = []
        for m in art.matches:
            if not m.required:
                continue
            for f, r in m.fields.items():
                if not r.correct and (args.field in (None, f)):
                    lines.append(f"  wrong {f}: gold {r.gold!r} pred {r.pred!r}")
        if args.field is None:
            for miss in art.missed:
                lines.append(f"  MISSED {_short(miss.get('event', miss))}")
            for sp in art.spurious:
                lines.append(f"  SPURIOUS {_short(sp['event'])}")
        if lines:
            print(art.article)
            print("\n".join(lines))


if __name__ == "__main__":
    main()
