"""Tests for pipeline/evaluation/report.py: Markdown and self-contained HTML rendering from scorer output."""

from __future__ import annotations

import copy
import json
import re

import pytest

from pipeline.evaluation.report import render_html, render_markdown
from pipeline.evaluation.scoring import score_run

TEXT_A = (
    "Clashes east of the town of Khan Sheikhun killed 60 fighters on Tuesday. "
    "Elsewhere, 10 civilians were killed in regime air strikes."
)
TEXT_B = "Protesters gathered in Damascus on Friday. Police fired <b>tear gas</b>."


def _ev(**kw):
    base = {
        "event_date": "2019-08-27",
        "event_end_date": None,
        "time_precision": 1,
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": {"name": "Hurras al-Din", "actor_type": "rebel_group"},
        "assoc_actors_1": [],
        "actor2": {"name": "Military Forces of Syria", "actor_type": "state_forces"},
        "assoc_actors_2": [],
        "country": "Syria",
        "admin1": "Idlib",
        "location": "Khan Sheikhun",
        "geo_precision": 2,
        "latitude": None,
        "longitude": None,
        "fatalities": 60,
        "civilian_targeting": False,
        "source": "SOHR",
        "notes": "",
        "evidence": ["Clashes east of the town of Khan Sheikhun killed 60 fighters on Tuesday"],
    }
    base.update(kw)
    return base


STRIKE = _ev(
    event_type="Explosions/Remote violence",
    sub_event_type="Air/drone strike",
    actor1={"name": "Military Forces of Syria", "actor_type": "state_forces"},
    actor2={"name": "Civilians", "actor_type": "civilians"},
    location=None,
    fatalities=10,
    civilian_targeting=True,
    evidence=["10 civilians were killed in regime air strikes"],
)
PROTEST = _ev(
    event_date="2019-08-23",
    event_type="Protests",
    sub_event_type="Protest with intervention",
    actor1={"name": "Protesters", "actor_type": "protesters"},
    actor2={"name": {"any_of": ["Police Forces of Syria", "Security forces"]}, "actor_type": "state_forces"},
    admin1="Damascus",
    location="Damascus",
    fatalities=0,
    evidence=["Protesters gathered in Damascus on Friday"],
)


def _gold(name, *events):
    evs = []
    for e in events:
        g = copy.deepcopy(e)
        g["required"] = True
        evs.append(g)
    return {"article": name, "published": "2019-08-27", "events": evs}


GOLD = {"a.txt": _gold("a.txt", _ev(), STRIKE), "b.txt": _gold("b.txt", PROTEST)}
TEXTS = {"a.txt": TEXT_A, "b.txt": TEXT_B}


def _pred(e, **kw):
    p = copy.deepcopy(e)
    p.update(kw)
    if isinstance(p["actor2"], dict) and isinstance(p["actor2"].get("name"), dict):
        p["actor2"] = {"name": "Police Forces of Syria", "actor_type": "state_forces"}
    return p


def _columns():
    # run 1: good on article a, bad on article b (wrong fatalities + a spurious event with an
    # invented quote containing markup)
    run1 = score_run(
        GOLD,
        {
            "a.txt": [_pred(_ev()), _pred(STRIKE)],
            "b.txt": [
                _pred(PROTEST, fatalities=3),
                _pred(
                    STRIKE,
                    event_date="2019-01-01",
                    admin1="Hama",
                    evidence=['<script>alert("x")</script> not in the text'],
                ),
            ],
        },
        TEXTS,
    )
    # run 2: misses the strike in article a, gets article b right
    run2 = score_run(
        GOLD,
        {
            "a.txt": [_pred(_ev(), location="Khan Shaykhun")],
            "b.txt": [_pred(PROTEST)],
        },
        TEXTS,
    )
    stats1 = {
        "first_try_valid_rate": 0.5,
        "retries": 2,
        "seconds_per_article": 12.3456,
        "prompt_tokens": 12345,
        "completion_tokens": 2345,
        "n_articles": 2,
        "cost_usd": None,
    }
    stats2 = {
        "first_try_valid_rate": 1.0,
        "retries": 0,
        "seconds_per_article": 3.2,
        "prompt_tokens": None,
        "completion_tokens": 2000,
        "n_articles": 2,
        "cost_usd": 0.0123,
    }
    cols = [
        {
            "label": "baseline",
            "run_id": "r1",
            "model": "qwen2.5-3b",
            "backend": "llama.cpp",
            "prompt_name": "extract",
            "prompt_hash": "abcdef0123456789",
            "score": run1.to_dict(),
            "stats": stats1,
        },
        {
            "label": "fewshot",
            "run_id": "r2",
            "model": "qwen2.5-3b",
            "backend": "llama.cpp",
            "prompt_name": "extract_fewshot",
            "prompt_hash": "0123456789abcdef",
            "score": run2.to_dict(),
            "stats": stats2,
        },
    ]
    # the columns arrive as plain JSON data
    return json.loads(json.dumps(cols)), run1, run2


def test_html_contains_scores_chart_and_sections():
    cols, run1, run2 = _columns()
    html = render_html(cols)
    assert html.startswith("<!DOCTYPE html>")
    for rs in (run1, run2):
        assert f"{rs.slot_f1:.2f}" in html
        assert f"{rs.f1:.2f}" in html
    assert "<svg" in html and "</svg>" in html
    assert html.count("<rect") >= 1 + 2 * 8 - 1  # background + bars (n/a bars allowed)
    assert 'id="changes"' in html and "Regressions" in html and "Improvements" in html
    assert "extract (abcdef01)" in html  # prompt name + short hash
    assert "12.35" in html and "12,345" in html  # 2 decimals, thousands separator
    assert "\u2013" in html  # missing stats render as a dash
    assert 'class="bad"' in html  # wrong field rows are highlighted
    assert "MISSED" in html and "SPURIOUS" in html
    for tag in ("table", "svg", "details", "main"):
        assert html.count(f"<{tag}") == html.count(f"</{tag}>"), tag


def test_html_is_self_contained_and_escaped():
    cols, _, _ = _columns()
    html = render_html(cols)
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]*)""", html, flags=re.I)
    assert all(not r.lower().startswith(("http://", "https://", "//")) for r in refs), refs
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html  # the invented quote is shown, escaped
    assert "<link" not in html and "@import" not in html


def test_regressions_and_improvements_are_listed():
    cols, run1, run2 = _columns()
    html = render_html(cols)
    changes = html[html.index('id="changes"') : html.index('id="articles"')]
    reg = changes[changes.index("Regressions") : changes.index("Improvements")]
    imp = changes[changes.index("Improvements") :]
    assert "a.txt" in reg and "b.txt" not in reg  # strike missed in run 2
    assert "b.txt" in imp  # fatalities fixed, spurious gone
    assert "newly missed gold #1" in reg
    assert run1.articles["a.txt"].slot_f1 > run2.articles["a.txt"].slot_f1


def test_markdown_report():
    cols, run1, run2 = _columns()
    md = render_markdown(cols)
    assert md.startswith("# ")
    assert "## Summary" in md and "| Metric | baseline | fewshot |" in md
    assert f"{run1.slot_f1:.2f}" in md and f"{run2.slot_f1:.2f}" in md
    assert "## Regressions and improvements: fewshot vs baseline" in md
    assert "MISSED gold #1" in md and "SPURIOUS prediction #1" in md
    assert "Fatalities: gold `0` · predicted `3`" in md
    assert "\u2013" in md


def test_single_run_has_no_changes_section():
    cols, _, _ = _columns()
    html = render_html(cols[:1])
    md = render_markdown(cols[:1])
    assert 'id="changes"' not in html and "<svg" in html
    assert "Regressions" not in md


def test_missing_stats_and_empty_input():
    cols, _, _ = _columns()
    col = dict(cols[0])
    col["stats"] = {}
    html = render_html([col])
    assert html.count("\u2013") >= 7
    assert "No runs" in render_html([]) and "No runs" in render_markdown([])


@pytest.mark.parametrize("renderer", [render_html, render_markdown])
def test_renderers_tolerate_a_run_missing_an_article(renderer):
    cols, _, _ = _columns()
    cols[1]["score"]["articles"].pop("b.txt")
    out = renderer(cols)
    assert "b.txt" in out


@pytest.mark.parametrize("renderer", [render_html, render_markdown])
def test_a_nan_statistic_shows_as_a_dash_not_nan(renderer):
    cols, _, _ = _columns()
    col = dict(cols[0])
    col["stats"] = {**col["stats"], "seconds_per_article": float("nan"), "first_try_valid_rate": float("nan")}
    out = renderer([col])
    assert not re.search(r"\bnan\b", out, re.IGNORECASE)
    assert "\u2013" in out
