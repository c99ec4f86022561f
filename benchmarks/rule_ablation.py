"""What each code rule of the staged design is worth, on every gold set, with no model call.

For each gold set (a stored run of the default prompt over that set's articles),
the run's logged answers are replayed with all rules on, then once with each
rule switched off (`pipeline.extraction.rules`). The table shows each rule's
effect on event F1 and slot F1 per set and on the union of the sets (a
positive delta: the rule helps). A rule that does not pay across the sets goes.

    python benchmarks/rule_ablation.py \\
        --set gold=eval.duckdb:915ca622:evals/gold \\
        --set dev2=eval.duckdb:7d2e41aa:../shared/dev2/gold [--markdown rules.md]

--answers FILE.jsonl adds the answers `sets_report.py --live` kept (requests
today's code makes that the runs did not). With a rule off, the code may ask
what no run was asked: the last column counts those misses, and a rule with
misses is measured on fewer answers than the others (its articles fail).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sets_report import summary  # noqa: E402

from pipeline.evaluation.replay import replay_run, score_replay  # noqa: E402
from pipeline.evaluation.scoring import RunScore  # noqa: E402
from pipeline.extraction.rules import RULES  # noqa: E402

# Rules that are recorded but cannot be switched off on their own.
NOT_ABLATABLE = {"actor_alias", "actor_generic_name", "place_not_in_text", "toll_grounded"}


def _union(scores: list[RunScore]) -> tuple[float, float]:
    """Micro-averaged event F1 and slot F1 over several scored sets (the union column of sets_report)."""
    union = summary(scores)
    return float(union["event F1"] or 0.0), float(union["slot F1"] or 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="NAME=DB:RUN:GOLD_DIR")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    parser.add_argument("--answers", type=Path, metavar="FILE.jsonl", help="more answers (kept by sets_report --live)")
    args = parser.parse_args()
    more: dict[str, tuple[str, str]] = {}
    if args.answers:
        for line in args.answers.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            more[row["key"]] = (row["response"], row["finish"])
    sets = []
    for spec in args.set:
        name, _, rest = spec.partition("=")
        db, run, gold = rest.split(":", 2)
        sets.append((name, Path(db), run, Path(gold)))

    misses = [0]

    def scores(without: tuple[str, ...]) -> list[RunScore]:
        out = []
        misses[0] = 0
        for _, db, run, gold in sets:
            result = replay_run(db, run, without=without, more_answers=more)
            misses[0] += result.misses
            out.append(score_replay(result, gold))
        return out

    base = scores(())
    base_misses = misses[0]
    base_union = _union(base)
    header = ["rule"] + [f"{n} ΔF1 / Δslot" for n, *_ in sets] + ["all ΔF1 / Δslot", "fired on", "misses"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        "| (all rules on) | "
        + " | ".join(f"{s.f1:.3f} / {s.slot_f1:.3f}" for s in base)
        + f" | {base_union[0]:.3f} / {base_union[1]:.3f} | | {base_misses} |",
    ]
    fired_on: dict[str, int] = {}
    for _, db, run, _gold in sets:
        for a in replay_run(db, run, more_answers=more).articles:
            for row in a.now:
                for rule in row.get("rules") or []:
                    fired_on[rule] = fired_on.get(rule, 0) + 1
    for rule in RULES:
        if rule in NOT_ABLATABLE:
            lines.append(
                f"| {rule} (recorded only) | " + " | ".join("–" for _ in sets) + f" | – | {fired_on.get(rule, 0)} | |"
            )
            continue
        off = scores((rule,))
        union = _union(off)
        cells = [f"{b.f1 - o.f1:+.3f} / {b.slot_f1 - o.slot_f1:+.3f}" for b, o in zip(base, off, strict=True)]
        lines.append(
            f"| {rule} | "
            + " | ".join(cells)
            + f" | {base_union[0] - union[0]:+.3f} / {base_union[1] - union[1]:+.3f} | {fired_on.get(rule, 0)} | {misses[0]} |"
        )
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
