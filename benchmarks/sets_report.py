"""One table over several gold sets: each set's scores and the union, for stored runs or their replays.

Each --set names a gold set, the DuckDB file and run that extracted its
articles, and its gold folder. With --replay, the run's logged answers are
replayed through today's code first (no model call), so code-only changes are
scored on every set at once. The union micro-averages over all the sets'
articles (events, slots and field counts added up).

    python benchmarks/sets_report.py \\
        --set gold=eval.duckdb:915ca622:evals/gold --set dev2=eval.duckdb:7d2e41aa:../shared/dev2/gold \\
        [--replay] [--label "default 1.5B"] [--markdown evals/reports/sets.md]

--answers DB:RUN adds another run's logged answers to the replay (the same
request gets the same answer), and --live FILE.jsonl asks the embedded model
whatever no logged answer covers, keeping its answers in FILE for the next
replay: a change that adds a question (or a set no run covered in full) costs
only the new calls, not a model run per set.

With --replay, a set whose gold folder has a `clusters.json` beside it (the
dedup set) also gets the merge step scored end to end on the replayed events:
pairwise link P/R/F1, B-cubed F1, hard negatives merged and unique events
against the gold clusters, as `run-eval` reports them for a stored run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.backends import get_backend  # noqa: E402
from pipeline.backends.replay import logged_answers  # noqa: E402
from pipeline.evaluation import merging  # noqa: E402
from pipeline.evaluation.gold import load_gold  # noqa: E402
from pipeline.evaluation.harness import score_stored_run  # noqa: E402
from pipeline.evaluation.replay import replay_run, score_replay  # noqa: E402
from pipeline.evaluation.scoring import FIELDS, RunScore  # noqa: E402
from pipeline.store.database import Store  # noqa: E402
from pipeline.store.replay import logged_calls  # noqa: E402
from pipeline.store.rows import row_to_record  # noqa: E402


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def summary(scores: list[RunScore]) -> dict[str, float | str | None]:
    tp, fp, fn = (sum(getattr(s, k) for s in scores) for k in ("tp", "fp", "fn"))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    correct, gold, pred = (sum(getattr(s, k) for s in scores) for k in ("slot_correct", "slot_gold", "slot_pred"))
    sp = correct / pred if pred else 0.0
    sr = correct / gold if gold else 0.0
    out: dict[str, float | str | None] = {
        "articles": sum(s.n_articles for s in scores),
        "required events": sum(s.n_required for s in scores),
        "matched / spurious / missed": f"{tp} / {fp} / {fn}",
        "event P": p,
        "event R": r,
        "event F1": _f1(p, r),
        "slot F1": _f1(sp, sr),
    }
    for f in FIELDS:
        out[f] = sum(s.field_correct[f] for s in scores) / tp if tp else None
    maes = [(s.fatalities_mae, s.tp) for s in scores if s.fatalities_mae is not None]
    out["fatalities MAE"] = sum(m * n for m, n in maes) / sum(n for _, n in maes) if maes else None
    grounded = sum(s.evidence_grounded for s in scores)
    total = sum(s.evidence_total for s in scores)
    out["grounding"] = grounded / total if total else None
    return out


def _merge_line(name: str, result, gold_dir: str, score: RunScore) -> str | None:
    """The merge step end to end on a replay's events, when the gold folder has a clusters file."""
    path = merging.clusters_path(gold_dir)
    if not path.is_file():
        return None
    gold = load_gold(gold_dir)
    clusters = merging.load_clusters(path)
    predicted = {
        a.article.file_name: [row_to_record(r) for r in a.now] for a in result.articles if a.article.file_name in gold
    }
    matches = {n: [(m.gold_index, m.pred_index) for m in a.matches] for n, a in score.articles.items()}
    m = merging.score_predicted_merge(gold, clusters, predicted, matches)
    return (
        f"{name} merging end to end: pairwise P {m.precision:.2f} R {m.recall:.2f} F1 {m.f1:.2f}, "
        f"B-cubed F1 {m.bcubed_f1:.2f}, hard negatives merged {m.hard_negatives_merged}, "
        f"unique events {m.n_unique_events} (gold clusters {clusters.n_clusters})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="NAME=DB:RUN:GOLD_DIR")
    parser.add_argument("--replay", action="store_true", help="replay each run through today's code first")
    parser.add_argument("--prompt", help="with --replay: replay with this prompt (name or path)")
    parser.add_argument("--without", action="append", default=[], metavar="RULE", help="with --replay: a rule off")
    parser.add_argument("--answers", action="append", default=[], metavar="DB:RUN", help="with --replay: more answers")
    parser.add_argument("--live", type=Path, metavar="FILE.jsonl", help="with --replay: the model answers misses")
    parser.add_argument("--threads", type=int, help="with --live: the embedded model's threads (default: all cores)")
    parser.add_argument("--markdown", type=Path, help="append the table to this Markdown file")
    parser.add_argument("--label", default="", help="a title line for the table")
    args = parser.parse_args()
    more: dict[str, tuple[str, str]] = {}
    for spec in args.answers:
        db, _, run = spec.rpartition(":")
        with Store(db, read_only=True) as store:
            more.update(logged_answers(logged_calls(store, store.resolve_run(run))))
    fallback, keep = None, None
    if args.live:
        if args.live.exists():
            for line in args.live.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                more[row["key"]] = (row["response"], row["finish"])
        fallback = get_backend("local", threads=args.threads)
        live_file = args.live.open("a", encoding="utf-8")

        def keep(key: str, response: str, finish: str) -> None:
            live_file.write(json.dumps({"key": key, "response": response, "finish": finish}) + "\n")
            live_file.flush()

    names, scores = [], []
    for spec in args.set:
        name, _, rest = spec.partition("=")
        db, run, gold_dir = rest.split(":", 2)
        if args.replay:
            started = time.monotonic()
            result = replay_run(
                db, run, without=args.without, prompt=args.prompt, more_answers=more, fallback=fallback, on_answer=keep
            )
            print(
                f"{name}: {len(result.articles)} articles, {result.hits} answers replayed, {result.live} asked live, "
                f"{result.misses} misses, {sum(1 for a in result.articles if a.error)} failed, "
                f"{time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
            score = score_replay(result, gold_dir)
            merge_line = _merge_line(name, result, gold_dir, score)
            if merge_line:
                print(merge_line, file=sys.stderr)
        else:
            with Store(db, read_only=True) as store:
                score = score_stored_run(store, store.resolve_run(run), load_gold(gold_dir)).score
        names.append(name)
        scores.append(score)
    columns = [summary([s]) for s in scores] + [summary(scores)]
    header = ["metric", *names, "all"]
    lines = [
        f"**{args.label}**" if args.label else "",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    for key in columns[0]:
        cells = []
        for col in columns:
            v = col[key]
            if v is None:
                cells.append("–")
            elif isinstance(v, str):
                cells.append(v)
            else:
                cells.append(f"{v:.0f}" if key in ("articles", "required events") else f"{v:.2f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    table = "\n".join(lines).strip() + "\n"
    print(table)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as fh:
            fh.write("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
