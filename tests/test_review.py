"""`review`: the page's data and HTML, decisions into `reviews`, rejected events out of the export, gold files.

The database comes from the real pipeline on the fake backend (tests/support/review_db.py);
the browser half is in tests/test_review_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.cli.evaluate import run_eval_command
from pipeline.cli.export import export_events_command
from pipeline.cli.review import review_command
from pipeline.evaluation.gold import load_gold
from pipeline.export.review import build_review_data, embed_json, render_review_html
from pipeline.store.database import Store
from tests.support.review_db import KENYA_ARTICLE, MARKUP_ARTICLE, MARKUP_TEXT, build_review_db


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_review_db(tmp_path_factory.mktemp("review"))


@pytest.fixture
def db(built, tmp_path) -> Path:
    """A private copy of the built database (tests write reviews into it)."""
    target = tmp_path / "review.duckdb"
    shutil.copy(built, target)
    return target


def invoke(command, *args: object):
    return CliRunner().invoke(command, [str(a) for a in args])


def page_of(db: Path, *args: object) -> str:
    out = db.parent / "page.html"
    result = invoke(review_command, "--db", db, "-o", out, *args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._in: tuple[str, dict[str, str | None]] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = (tag, dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in = None

    def handle_data(self, data):
        if self._in and self._in[0] == "script":
            self.scripts.append((self._in[1], data))
        elif self._in and self._in[0] == "style":
            self.styles.append(data)


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def data_block(page: str) -> dict:
    parsed = parse(page)
    blocks = [text for attrs, text in parsed.scripts if attrs.get("type") == "application/json"]
    assert len(blocks) == 1, "the data is embedded exactly once"
    return json.loads(blocks[0])


# --------------------------------------------------------------------------- the page


def test_page_references_nothing_on_the_network(db):
    page = page_of(db)
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "iframe", "img", "object", "embed", "base"), tag
        for name in ("src", "href", "action", "srcset", "data", "poster"):
            value = attrs.get(name)
            assert value is None or not re.match(r"\s*(https?:|//|ftp:)", value, re.I), (tag, name, value)
    code = [text for attrs, text in parsed.scripts if attrs.get("type") != "application/json"]
    assert len(code) == 1 and len(code[0]) > 5000  # the page's own script, inline
    for text in code + parsed.styles:
        for needle in ("http://", "https://", "fetch(", "XMLHttpRequest", "WebSocket", "EventSource",
                       "sendBeacon", "import(", "importScripts", "@import", "url("):  # fmt: skip
            assert needle not in text, needle
    # Outside the data block (where articles' own URLs live as text), no address at all.
    outside = re.sub(r'<script type="application/json" id="review-data">.*?</script>', "", page, flags=re.S)
    assert "http://" not in outside and "https://" not in outside
    csp = next(a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in (csp.get("content") or "")


def test_article_markup_is_data_not_page(db):
    page = page_of(db)
    assert "<script>alert(1)" not in page and "<!-- <b>" not in page
    assert page.lower().count("<script") == 2 and page.lower().count("</script") == 2
    data = data_block(page)
    texts = {a["file_name"]: a["text"] for a in data["articles"].values()}
    assert texts[MARKUP_ARTICLE] == MARKUP_TEXT.strip()  # read back exactly (as stored: normalised)


@pytest.mark.parametrize(
    "text", ["</script><script>alert(1)</script>", "<!--", "a\u2028b\u2029c", "&amp; <b>", "\\u003c"]
)
def test_embedded_json_round_trips_and_cannot_close_its_block(text):
    embedded = embed_json({"t": text})
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert "\u2028" not in embedded and "\u2029" not in embedded
    assert json.loads(embedded) == {"t": text}


def test_page_data_has_every_article_its_events_rules_geocodes_and_failures(db):
    data = data_block(page_of(db))
    items = {i["file_name"]: i for i in data["items"]}
    assert items["empty.txt"]["status"] == "failed" and items["empty.txt"]["error"] == "file is empty"
    assert items[KENYA_ARTICLE]["status"] == "ok"
    assert len(data["runs"]) == 2 and {r["prompt_name"] for r in data["runs"]} == {"default", "naive"}
    events = [e for i in data["items"] for e in i["events"]]
    with Store(db) as store:
        assert len(events) == len(store.events_as_records())  # the latest extraction of every article
    assert any(e["rules"] for e in events) and all(r in data["rules"] for e in events for r in e["rules"])
    kenya = items[KENYA_ARTICLE]["events"][0]
    assert (kenya["country"], kenya["geo_method"], kenya["geo_precision"]) == ("Kenya", "exact", 1)
    assert kenya["latitude"] == pytest.approx(-1.28, abs=0.1)
    assert set(data["outlines"]["detail"]) == {"Kenya", "Syria"}  # land for the maps, offline
    assert data["outlines"]["world"].startswith("M") and len(data["outlines"]["world"]) < 150_000
    for item in data["items"]:
        text = data["articles"][item["article_id"]]["text"] if item["article_id"] else ""
        for e in item["events"]:
            for start, end in zip(e["evidence_start"], e["evidence_end"], strict=True):
                assert start is None or 0 <= start < end <= len(text)
    assert not data["unique"] and all(e["unique"] is None for e in events)


def test_run_option_shows_one_run(db):
    with Store(db) as store:
        (kenya_run,) = store.con.execute("SELECT run_id FROM runs WHERE prompt_name = 'naive'").fetchone()
    data = data_block(page_of(db, "--run", kenya_run[:6]))
    assert [i["file_name"] for i in data["items"]] == [KENYA_ARTICLE] and data["selection"] == "runs"
    unknown = invoke(review_command, "--db", db, "--run", "zzzz", "-o", db.parent / "x.html")
    assert unknown.exit_code == 2 and "no run 'zzzz'" in unknown.output


def test_unique_events_shown_only_when_a_merge_has_filled_the_tables(db):
    result = invoke(review_command, "--db", db, "--unique", "-o", db.parent / "u.html")
    assert result.exit_code == 2 and "no unique_events tables" in result.output and "merge-events" in result.output
    con = duckdb.connect(str(db))
    two = con.execute("SELECT event_id, article_id FROM latest_events ORDER BY article LIMIT 2 OFFSET 2").fetchall()
    assert two[0][1] != two[1][1]
    # a second report of the third event, in another article, two days later and with a higher toll
    con.execute(
        """
        INSERT INTO articles (article_id, file_name, published, text)
        SELECT 'followup0000001', 'zz_followup.txt', published + 2, text FROM articles WHERE article_id = ?
        """,
        [two[0][1]],
    )
    con.execute(
        """
        INSERT INTO events SELECT * REPLACE ('ev-followup' AS event_id, 'followup0000001' AS article_id,
            fatalities + 1 AS fatalities) FROM events WHERE event_id = ?
        """,
        [two[0][0]],
    )
    run_id = con.execute("SELECT run_id FROM events WHERE event_id = ?", [two[0][0]]).fetchone()[0]
    con.execute(
        "INSERT INTO run_articles (run_id, article_id, file_name, status, finished_at) "
        "VALUES (?, 'followup0000001', 'zz_followup.txt', 'ok', now())",
        [run_id],
    )
    con.close()
    from pipeline.merge.stage import merge_store

    with Store(db) as store:
        merge_store(store)
    data = data_block(page_of(db, "--unique"))
    events = {e["event_id"]: e for i in data["items"] for e in i["events"]}
    assert data["unique"]
    merged = events[two[0][0]]["unique"]
    assert merged["n_articles"] == 2 and merged["n_events"] == 2
    assert {m["event_id"] for m in merged["members"]} == {two[0][0], "ev-followup"}
    assert events["ev-followup"]["unique"]["unique_event_id"] == merged["unique_event_id"]
    assert merged["fatalities"] == events["ev-followup"]["fatalities"]  # the later report's toll
    assert data_block(page_of(db))["unique"]  # shown without the flag too, once a merge has run


def test_scale_5000_events_builds_one_page_with_its_data_once(tmp_path):
    from tests.support.review_db import build_large_db

    db = build_large_db(tmp_path / "large.duckdb", 5000)
    with Store(db) as store:
        page = render_review_html(build_review_data(store))
    data = data_block(page)
    assert sum(len(i["events"]) for i in data["items"]) == 5000 and len(data["items"]) == 1667
    assert len(page.encode()) < 12_000_000  # article texts and events, embedded once
    assert page.count("Background sentence 0 of article 7 ") == 2  # once per paragraph of its one text


# --------------------------------------------------------------------------- decisions


def decisions_file(path: Path, decisions: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "conflict-events-decisions/1", "decisions": decisions}), encoding="utf-8")
    return path


def latest_events(db: Path) -> list[dict]:
    with Store(db) as store:
        return store.events_as_records()


def test_apply_appends_and_reapplying_adds_nothing(db, tmp_path):
    events = latest_events(db)
    first, second = events[0], events[1]
    file = decisions_file(
        tmp_path / "d.json",
        [
            {
                "event_id": first["event_id"],
                "verdict": "wrong",
                "decided_at": "2024-05-01T10:00:00.000Z",
                "reviewer": "ana",
            },
            {
                "event_id": second["event_id"],
                "verdict": "fix",
                "field": "fatalities",
                "value": 7,
                "decided_at": "2024-05-01T10:01:00Z",
            },  # fmt: skip
        ],
    )
    result = invoke(review_command, "--db", db, "--apply", file)
    assert result.exit_code == 0, result.output
    assert "Stored 2 new decisions of 2" in result.output
    again = invoke(review_command, "--db", db, "--apply", file)
    assert again.exit_code == 0 and "Stored 0 new decisions of 2" in again.output
    later = decisions_file(
        tmp_path / "d2.json",
        [{"event_id": first["event_id"], "verdict": "correct", "decided_at": "2024-05-02T09:00:00Z"}],
    )
    assert invoke(review_command, "--db", db, "--apply", later).exit_code == 0
    con = duckdb.connect(str(db))
    rows = con.execute(
        "SELECT event_id, run_id, article_id, verdict, field, value, reviewer, decided_at FROM reviews ORDER BY decided_at"
    ).fetchall()
    assert [(r[0], r[3]) for r in rows] == [
        (first["event_id"], "wrong"),
        (second["event_id"], "fix"),
        (first["event_id"], "correct"),
    ]
    assert rows[0][1:3] == (first["run_id"], first["article_id"]) and rows[0][6] == "ana"
    assert (rows[1][4], json.loads(rows[1][5])) == ("fatalities", 7)
    assert str(rows[0][7]) == "2024-05-01 10:00:00"


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ({"event_id": "nope", "verdict": "wrong"}, "not in"),
        ({"verdict": "wrong"}, "needs an event_id"),
        ({"event_id": "E", "verdict": "maybe"}, "verdict 'maybe'"),
        ({"event_id": "E", "verdict": "fix", "field": "latitude", "value": 1.0}, "cannot be fixed"),
        ({"event_id": "E", "verdict": "fix", "field": "fatalities", "value": -3}, "not a valid fatalities"),
        ({"event_id": "E", "verdict": "fix", "field": "event_date", "value": "27/08/2019"}, "not a valid event_date"),
    ],
)
def test_bad_decisions_are_refused_with_their_position(db, tmp_path, decision, message):
    event_id = latest_events(db)[0]["event_id"]
    decision = {k: (event_id if v == "E" else v) for k, v in decision.items()}
    file = decisions_file(tmp_path / "bad.json", [decision])
    result = invoke(review_command, "--db", db, "--apply", file)
    assert result.exit_code == 2 and message in result.output
    assert duckdb.connect(str(db)).execute("SELECT count(*) FROM reviews").fetchone() == (0,)


def test_export_leaves_out_events_whose_latest_decision_is_wrong(db, tmp_path):
    events = latest_events(db)
    target = events[0]["event_id"]
    wrong = decisions_file(
        tmp_path / "w.json", [{"event_id": target, "verdict": "wrong", "decided_at": "2024-05-01T10:00:00Z"}]
    )
    assert invoke(review_command, "--db", db, "--apply", wrong).exit_code == 0

    def exported(*flags: str) -> list[str]:
        out = tmp_path / "events.jsonl"
        result = invoke(export_events_command, "--db", db, "--format", "jsonl", "-o", out, *flags)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["event_id"] for line in out.read_text().splitlines()]

    assert exported() == [e["event_id"] for e in events]
    assert exported("--exclude-rejected") == [e["event_id"] for e in events[1:]]
    taken_back = decisions_file(
        tmp_path / "c.json", [{"event_id": target, "verdict": "correct", "decided_at": "2024-05-03T10:00:00Z"}]
    )
    assert invoke(review_command, "--db", db, "--apply", taken_back).exit_code == 0
    assert exported("--exclude-rejected") == [e["event_id"] for e in events]


def test_stored_decisions_come_back_on_the_page(db, tmp_path):
    target = latest_events(db)[0]["event_id"]
    file = decisions_file(
        tmp_path / "w.json", [{"event_id": target, "verdict": "wrong", "decided_at": "2024-05-01T10:00:00Z"}]
    )
    assert invoke(review_command, "--db", db, "--apply", file).exit_code == 0
    data = data_block(page_of(db))
    assert [d["verdict"] for d in data["reviews"][target]] == ["wrong"]


# --------------------------------------------------------------------------- gold


def test_reviewed_articles_become_gold_that_run_eval_scores(db, tmp_path):
    events = latest_events(db)
    by_article: dict[str, list[dict]] = {}
    for e in events:
        by_article.setdefault(e["article"], []).append(e)
    name, reviewed = next((n, evs) for n, evs in sorted(by_article.items()) if len(evs) >= 3)
    rejected, fixed, *kept = reviewed
    partial = next(evs for n, evs in sorted(by_article.items()) if len(evs) >= 2 and n != name)
    decisions = [{"event_id": rejected["event_id"], "verdict": "wrong"}]
    decisions.append(
        {"event_id": fixed["event_id"], "verdict": "fix", "field": "fatalities", "value": fixed["fatalities"] + 5}
    )
    decisions.append({"event_id": fixed["event_id"], "verdict": "fix", "field": "actor1", "value": "Hurras al-Din"})
    decisions += [{"event_id": e["event_id"], "verdict": "correct"} for e in kept]
    decisions.append({"event_id": partial[0]["event_id"], "verdict": "correct"})  # its other events: no decision
    file = decisions_file(
        tmp_path / "d.json", [{**d, "decided_at": f"2024-05-01T10:00:{k:02d}Z"} for k, d in enumerate(decisions)]
    )
    assert invoke(review_command, "--db", db, "--apply", file).exit_code == 0

    gold_dir = tmp_path / "gold"
    result = invoke(review_command, "--db", db, "--to-gold", gold_dir)
    assert result.exit_code == 0, result.output
    assert "Wrote 1 gold files" in result.output and "Left out 1 articles" in result.output
    gold = load_gold(gold_dir)
    assert list(gold) == [name]
    gold_events = gold[name]["events"]
    assert len(gold_events) == len(reviewed) - 1 and all(g["required"] for g in gold_events)
    assert gold_events[0]["fatalities"] == fixed["fatalities"] + 5
    assert gold_events[0]["actor1"] == {"name": "Hurras al-Din", "actor_type": fixed["actor1"]["actor_type"]}
    assert [g["evidence"] for g in gold_events] == [e["evidence"] for e in (fixed, *kept)]
    assert set(gold_events[0]) >= {
        "event_date",
        "sub_event_type",
        "assoc_actors_1",
        "geo_precision",
        "civilian_targeting",
    }

    # run-eval scores the run against the reviewed gold: the rejected event is spurious, the fixed
    # event still matches but its toll is wrong, the kept events are right.
    scored = invoke(
        run_eval_command, "--db", db, "--run", rejected["run_id"], "--gold", gold_dir, "--out", tmp_path / "rep"
    )
    assert scored.exit_code == 0, scored.output
    con = duckdb.connect(str(db))
    tp, fp, fn, details = con.execute(
        "SELECT tp, fp, fn, details FROM eval_articles WHERE article = ?", [name]
    ).fetchone()
    assert (tp, fp, fn) == (len(reviewed) - 1, 1, 0)
    (fatalities_mae,) = con.execute("SELECT fatalities_mae FROM eval_runs").fetchone()
    assert fatalities_mae == pytest.approx(5 / (len(reviewed) - 1))
    con.close()

    # The report's per-article rows link to that article in the review page written beside it.
    report = (tmp_path / "rep.html").read_text(encoding="utf-8")
    review_page = tmp_path / "rep.review.html"
    link = f'href="rep.review.html#article={name}&amp;run={rejected["run_id"][:8]}"'
    assert review_page.exists() and report.count(link) == 2  # the article's run row and its review line
    linked = data_block(review_page.read_text(encoding="utf-8"))
    assert any(i["file_name"] == name and i["run_id"] == rejected["run_id"] for i in linked["items"])
    assert "Review page" in scored.output


def test_to_gold_without_reviews_says_what_to_do_first(db, tmp_path):
    result = invoke(review_command, "--db", db, "--to-gold", tmp_path / "g")
    assert result.exit_code == 2 and "review --apply" in result.output


def test_help_explains_the_three_jobs():
    result = invoke(review_command, "--help")
    assert result.exit_code == 0
    for words in ("--apply", "--to-gold", "--unique", "--run", "exclude-rejected"):
        assert words in result.output


def test_missing_or_empty_database_is_a_clear_error(tmp_path):
    missing = invoke(review_command, "--db", tmp_path / "none.duckdb", "-o", tmp_path / "r.html")
    assert missing.exit_code == 2 and "no such database" in missing.output
    Store(tmp_path / "empty.duckdb").close()
    empty = invoke(review_command, "--db", tmp_path / "empty.duckdb", "-o", tmp_path / "r.html")
    assert empty.exit_code == 2 and "holds no runs" in empty.output and not (tmp_path / "r.html").exists()
