"""run-eval end to end on the offline fake backend: extraction, scoring, storage, reports."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.cli.evaluate import run_eval_command
from pipeline.evaluation.gold import first_alternative, load_gold
from pipeline.evaluation.harness import load_eval_columns
from pipeline.evaluation.scoring import score_run
from pipeline.ingest import ingest
from pipeline.runner import article_row
from pipeline.store.database import Store
from pipeline.store.rows import ArticleWrite, event_to_row

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "evals" / "gold"
ARTICLES = ROOT / "evals" / "articles"
SMALL = ["000_29c54237869ccf3a", "d02", "d12"]


@pytest.fixture
def gold_set(tmp_path: Path) -> tuple[Path, Path]:
    """A small copy of the gold set: 3 gold files, their articles and published.json."""
    gold, articles = tmp_path / "gold", tmp_path / "articles"
    gold.mkdir()
    articles.mkdir()
    published = json.loads((ARTICLES / "published.json").read_text())
    for stem in SMALL:
        shutil.copy(GOLD / f"{stem}.json", gold)
        shutil.copy(ARTICLES / f"{stem}.txt", articles)
    (articles / "published.json").write_text(json.dumps({f"{s}.txt": published[f"{s}.txt"] for s in SMALL}))
    return gold, articles


def invoke(*args: object):
    return CliRunner().invoke(run_eval_command, [str(a) for a in args])


def direct_score(db: Path, run_id: str, gold_dir: Path):
    """score_run on a run's events exactly as the scorer's own API expects them."""
    with Store(db) as store:
        preds: dict[str, list[dict]] = defaultdict(list)
        for record in store.events_as_records(run_id):
            preds[record["article"]].append(record)
        texts = dict(store.con.execute("SELECT file_name, text FROM articles").fetchall())
    return score_run(load_gold(gold_dir), dict(preds), texts)


def eval_rows(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM eval_runs ORDER BY created_at")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def make_gold_run(db: Path, articles_dir: Path, gold_dir: Path, run_id: str = "gold0000run") -> str:
    """A run whose events are the gold events themselves (first alternative of every any_of)."""
    gold = load_gold(gold_dir)
    with Store(db) as store:
        store.start_run(
            {
                "run_id": run_id,
                "backend": "gold",
                "model": "gold",
                "prompt_name": "gold",
                "prompt_hash": "gold",
                "input_path": str(articles_dir),
            }
        )
        for article in ingest(articles_dir):
            if article.file_name not in gold:
                continue
            events = [
                first_alternative({k: v for k, v in e.items() if k != "required"})
                for e in gold[article.file_name]["events"]
            ]
            rows = [
                event_to_row(
                    e,
                    event_id=f"{run_id}-{article.article_id}-{i}",
                    run_id=run_id,
                    article_id=article.article_id,
                    index=i,
                    offsets=[None] * len(e["evidence"]),
                )
                for i, e in enumerate(events)
            ]
            store.write_articles(
                [
                    ArticleWrite(
                        {
                            "run_id": run_id,
                            "article_id": article.article_id,
                            "file_name": article.file_name,
                            "status": "ok",
                            "n_events": len(rows),
                            "n_calls": 0,
                            "seconds": 0.0,
                        },
                        article_row(article),
                        events=rows,
                    )
                ]
            )
        store.finish_run(run_id, "completed", {"n_ok": len(gold)})
    return run_id


def test_help():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output and "--run" in result.output and "--prompt" in result.output


def test_fake_naive_end_to_end(gold_set, tmp_path):
    gold, articles = gold_set
    db, out = tmp_path / "ev.duckdb", tmp_path / "reports" / "eval"
    result = invoke(
        "--db", db, "--gold", gold, "--articles", articles, "--model", "fake", "--prompt", "naive", "--out", out, "-q"
    )
    assert result.exit_code == 0, result.output
    md, html = out.with_suffix(".md"), out.with_suffix(".html")
    assert md.exists() and html.exists()
    assert "naive · fake/rules" in md.read_text() and html.read_text().startswith("<!DOCTYPE html>")
    assert str(md) in result.output.replace("\n", "") and "slot F1" in result.output

    [row] = eval_rows(db)
    expected = direct_score(db, row["run_id"], gold)
    assert row["slot_f1"] == pytest.approx(expected.slot_f1)
    assert row["event_precision"] == pytest.approx(expected.precision)
    assert row["event_recall"] == pytest.approx(expected.recall)
    assert row["event_f1"] == pytest.approx(expected.f1)
    assert row["fatalities_mae"] == pytest.approx(expected.fatalities_mae)
    assert row["grounding_rate"] == pytest.approx(expected.grounding_rate)
    assert json.loads(row["field_accuracy"]) == pytest.approx(expected.field_accuracy)
    metrics = json.loads(row["metrics"])
    assert metrics["score"]["tp"] == expected.tp and metrics["score"]["fp"] == expected.fp

    con = duckdb.connect(str(db), read_only=True)
    per_article = con.execute("SELECT article, tp, fp, fn, slot_f1 FROM eval_articles ORDER BY article").fetchall()
    tokens = con.execute("SELECT sum(prompt_tokens), sum(completion_tokens), count(*) FROM llm_calls").fetchone()
    cost = con.execute("SELECT cost_usd FROM runs WHERE run_id = ?", [row["run_id"]]).fetchone()[0]
    con.close()
    assert [(a, tp, fp, fn) for a, tp, fp, fn, _ in per_article] == [
        (name, s.tp, s.fp, s.fn) for name, s in sorted(expected.articles.items())
    ]
    stats = metrics["stats"]
    assert stats["n_articles"] == 3 and stats["retries"] == 0 and stats["first_try_valid_rate"] == 1.0
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == tokens[:2] and tokens[2] == 3
    assert stats["seconds_per_article"] is not None and stats["cost_usd"] == cost

    # Unchanged pair: the earlier extraction is reused, no new run, same numbers.
    again = invoke(
        "--db", db, "--gold", gold, "--articles", articles, "--model", "fake", "--prompt", "naive", "--out", out, "-q"
    )
    assert again.exit_code == 0, again.output
    rows = eval_rows(db)
    assert len(rows) == 2 and rows[1]["run_id"] == rows[0]["run_id"]
    assert rows[1]["slot_f1"] == rows[0]["slot_f1"]
    with Store(db) as store:
        assert len(store.run_ids()) == 1
        assert load_eval_columns(store)[0]["score"]["slot_f1"] == pytest.approx(expected.slot_f1)

    # --force extracts again in a new run.
    forced = invoke(
        "--db",
        db,
        "--gold",
        gold,
        "--articles",
        articles,
        "--model",
        "fake",
        "--prompt",
        "naive",
        "--out",
        out,
        "-q",
        "--force",
    )
    assert forced.exit_code == 0, forced.output
    assert eval_rows(db)[-1]["run_id"] != rows[0]["run_id"]


def test_score_existing_runs_by_prefix_with_regressions(gold_set, tmp_path):
    gold, articles = gold_set
    db, out = tmp_path / "ev.duckdb", tmp_path / "cmp"
    first = invoke(
        "--db",
        db,
        "--gold",
        gold,
        "--articles",
        articles,
        "--model",
        "fake",
        "--prompt",
        "naive",
        "--out",
        tmp_path / "first",
        "-q",
    )
    assert first.exit_code == 0, first.output
    fake_run = eval_rows(db)[0]["run_id"]
    gold_run = make_gold_run(db, articles, gold)

    result = invoke("--db", db, "--gold", gold, "--run", gold_run[:6], "--run", fake_run[:8], "--out", out, "-q")
    assert result.exit_code == 0, result.output
    rows = eval_rows(db)[1:]
    assert [r["run_id"] for r in rows] == [gold_run, fake_run]
    assert rows[1]["slot_f1"] == pytest.approx(direct_score(db, fake_run, gold).slot_f1)
    assert rows[0]["slot_f1"] > rows[1]["slot_f1"]
    md = out.with_suffix(".md").read_text()
    assert "## Regressions and improvements" in md and "### Regressions (0)" not in md
    assert 'id="changes"' in out.with_suffix(".html").read_text()
    with Store(db) as store:  # no model was called for --run
        assert len(store.run_ids()) == 2


def test_gold_against_itself_is_perfect(tmp_path):
    db = tmp_path / "ev.duckdb"
    run_id = make_gold_run(db, ARTICLES, GOLD)
    result = invoke("--db", db, "--gold", GOLD, "--run", run_id, "--out", tmp_path / "self", "-q")
    assert result.exit_code == 0, result.output
    [row] = eval_rows(db)
    assert row["slot_f1"] == 1.0 and row["event_f1"] == 1.0 and row["grounding_rate"] == 1.0
    assert row["fatalities_mae"] == 0.0


def test_unknown_run_is_one_line_exit_2(gold_set, tmp_path):
    gold, _ = gold_set
    db = tmp_path / "ev.duckdb"
    Store(db).close()
    result = invoke("--db", db, "--gold", gold, "--run", "nosuchrun")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no run 'nosuchrun'" in result.output


def test_missing_db_and_gold_folder(gold_set, tmp_path):
    gold, _ = gold_set
    missing_db = invoke("--db", tmp_path / "none.duckdb", "--gold", gold, "--run", "abc")
    assert missing_db.exit_code == 2 and "run-pipeline" in missing_db.output
    assert not (tmp_path / "none.duckdb").exists()
    missing_gold = invoke("--db", tmp_path / "ev.duckdb", "--gold", tmp_path / "nogold", "--model", "fake")
    assert missing_gold.exit_code == 2 and "gold folder" in missing_gold.output


def test_without_gold_or_articles_it_scores_the_shipped_set_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no evals/ here: the shipped gold and its articles are found anyway
    result = invoke(
        "--db", "ev.duckdb", "--model", "fake", "--prompt", "naive", "--limit", "2", "--out", "r/eval", "-q"
    )
    assert result.exit_code == 0, result.output
    [row] = eval_rows(tmp_path / "ev.duckdb")
    assert json.loads(row["metrics"])["stats"]["n_articles"] == 2
    assert (tmp_path / "r" / "eval.md").exists()
