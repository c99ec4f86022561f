"""Render evaluation reports (Markdown and a single self-contained HTML file).

Rendering works from plain data only (no DuckDB access). Each *column* is one
run::

    {
        "label": str, "run_id": str, "model": str, "backend": str,
        "prompt_name": str, "prompt_hash": str,
        "score": RunScore.to_dict(),            # pipeline.evaluation.scoring
        "stats": {"first_try_valid_rate", "retries", "seconds_per_article",
                  "prompt_tokens", "completion_tokens", "n_articles", "cost_usd"},
    }

``render_markdown(columns)`` and ``render_html(columns)`` return the report
text. The HTML has inline CSS and an inline SVG bar chart; it loads nothing
(no scripts, fonts, images or links outside the page, except, when given, relative
links of the per-article rows to the review page beside the report). Sections: summary
table (one column per run, best value per row in bold, a delta column last -
first when there are >= 2 runs), per-field accuracy chart, regressions and
improvements of the last run against the first (>= 2 runs), and per-article
detail (missed gold events, spurious predictions, wrong fields side by side
with the prediction's evidence). Numbers have 2 decimals; a missing value
renders as "–".
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

__all__ = ["render_markdown", "render_html", "FIELD_LABELS"]

DASH = "\u2013"

FIELD_LABELS: dict[str, str] = {
    "event_type": "Event type",
    "sub_event_type": "Sub-event type",
    "event_date": "Date",
    "admin1": "Admin1",
    "location": "Location",
    "actors": "Actors",
    "fatalities": "Fatalities",
    "civilian_targeting": "Civilian targeting",
}
DEFAULT_FIELDS = list(FIELD_LABELS)

# Okabe-Ito palette (colour-blind safe).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#F0E442"]


# --------------------------------------------------------------------------- formatting helpers


def _as_float(v: Any) -> float | None:
    """A number to show, or None for missing, booleans, text and NaN."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _num(v: Any, digits: int = 2) -> str:
    f = _as_float(v)
    return DASH if f is None else f"{f:.{digits}f}"


def _int(v: Any) -> str:
    if v is None or isinstance(v, bool):
        return DASH
    try:
        return f"{int(round(float(v))):,}"
    except (TypeError, ValueError):
        return DASH


def _money(v: Any) -> str:
    f = _as_float(v)
    if f is None:
        return DASH
    return f"${f:,.4f}" if 0 < abs(f) < 0.01 else f"${f:,.2f}"


def _delta(v: float | None, digits: int = 2, kind: str = "num") -> str:
    if v is None:
        return DASH
    if kind == "int":
        iv = int(round(v))
        return f"{iv:+,}" if iv else "0"
    if abs(v) < 0.5 * 10**-digits:
        return f"{0:.{digits}f}"
    return f"{v:+.{digits}f}"


def _value(v: Any) -> str:
    """A gold or predicted field value as text; any_of alternatives joined by ' | '."""
    if isinstance(v, dict) and "any_of" in v:
        return " | ".join(_value(x) for x in v["any_of"])
    if isinstance(v, dict) and "name" in v:
        return _value(v.get("name"))
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        parts = [(f"({_value(x)})" if isinstance(x, dict) and "any_of" in x else _value(x)) for x in v if x is not None]
        return " \u2194 ".join(parts) if parts else "(none)"
    return str(v)


def _actor(v: Any) -> str:
    if v is None:
        return ""
    return _value(v)


def _first(v: Any) -> Any:
    """First alternative of every any_of (recursively): a readable one-line view of a gold event."""
    if isinstance(v, dict):
        if "any_of" in v:
            return _first(v["any_of"][0]) if v["any_of"] else None
        return {k: _first(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_first(x) for x in v]
    return v


def _event_line(e: dict) -> str:
    """One-line summary of an event dict (gold or predicted; any_of shown by its first alternative)."""
    e = _first(e or {})
    date = _value(e.get("event_date"))
    if e.get("event_end_date"):
        date += f" \u2192 {_value(e.get('event_end_date'))}"
    kind = f"{_value(e.get('event_type'))} / {_value(e.get('sub_event_type'))}"
    actors = " \u2194 ".join(x for x in (_actor(e.get("actor1")), _actor(e.get("actor2"))) if x and x != "(none)")
    place_parts = []
    for k in ("location", "admin1"):
        if e.get(k) is not None and _value(e.get(k)) not in place_parts:
            place_parts.append(_value(e.get(k)))
    place = ", ".join(place_parts)
    parts = [date, kind, actors or "(no actors)", place or "(no place)", f"{_value(e.get('fatalities'))} killed"]
    if e.get("civilian_targeting") is True:
        parts.append("civilians targeted")
    return " \u00b7 ".join(parts)


def _label(col: dict, k: int) -> str:
    return str(col.get("label") or col.get("run_id") or f"run {k + 1}")


def _prompt(col: dict) -> str:
    name = col.get("prompt_name") or DASH
    h = col.get("prompt_hash")
    return f"{name} ({str(h)[:8]})" if h else str(name)


def _fields(columns: list[dict]) -> list[str]:
    for c in columns:
        f = (c.get("score") or {}).get("fields")
        if f:
            return list(f)
    return DEFAULT_FIELDS


def _articles(columns: list[dict]) -> list[str]:
    names: list[str] = []
    for c in columns:
        for n in (c.get("score") or {}).get("articles") or {}:
            if n not in names:
                names.append(n)
    return sorted(names)


# --------------------------------------------------------------------------- summary rows


# (label, getter, kind, better) ; kind: num | int | money | text ; better: "high" | "low" | None
def _summary_rows(fields: list[str]) -> list[tuple[str, str, Any, str, str | None]]:
    s = lambda key: lambda c: (c.get("score") or {}).get(key)  # noqa: E731
    st = lambda key: lambda c: (c.get("stats") or {}).get(key)  # noqa: E731
    rows: list[tuple[str, str, Any, str, str | None]] = [
        ("Run", "Model", lambda c: c.get("model"), "text", None),
        ("Run", "Backend", lambda c: c.get("backend"), "text", None),
        ("Run", "Prompt", _prompt, "text", None),
        ("Run", "Run id", lambda c: c.get("run_id"), "text", None),
        ("Headline", "Slot F1", s("slot_f1"), "num", "high"),
        ("Headline", "Slot precision", s("slot_precision"), "num", "high"),
        ("Headline", "Slot recall", s("slot_recall"), "num", "high"),
        ("Events", "Event precision", s("precision"), "num", "high"),
        ("Events", "Event recall", s("recall"), "num", "high"),
        ("Events", "Event F1", s("f1"), "num", "high"),
        ("Events", "Matched (TP)", s("tp"), "int", "high"),
        ("Events", "Spurious (FP)", s("fp"), "int", "low"),
        ("Events", "Missed (FN)", s("fn"), "int", "low"),
        ("Events", "Matched optional (not scored)", s("matched_optional"), "int", None),
    ]
    for f in fields:
        rows.append(
            (
                "Field accuracy",
                FIELD_LABELS.get(f, f),
                (lambda key: lambda c: ((c.get("score") or {}).get("field_accuracy") or {}).get(key))(f),
                "num",
                "high",
            )
        )
    rows += [
        ("Field accuracy", "Fatalities MAE", s("fatalities_mae"), "num", "low"),
        ("Evidence", "Grounding rate", s("grounding_rate"), "num", "high"),
        ("Reliability & cost", "First-try schema-valid rate", st("first_try_valid_rate"), "num", "high"),
        ("Reliability & cost", "Retries", st("retries"), "int", "low"),
        ("Reliability & cost", "Seconds / article", st("seconds_per_article"), "num", "low"),
        ("Reliability & cost", "Prompt tokens", st("prompt_tokens"), "int", None),
        ("Reliability & cost", "Completion tokens", st("completion_tokens"), "int", None),
        ("Reliability & cost", "Cost (USD)", st("cost_usd"), "money", None),
        (
            "Reliability & cost",
            "Articles",
            lambda c: (c.get("stats") or {}).get("n_articles", (c.get("score") or {}).get("n_articles")),
            "int",
            None,
        ),
    ]
    return rows


def _fmt(kind: str, v: Any) -> str:
    if kind == "num":
        return _num(v)
    if kind == "int":
        return _int(v)
    if kind == "money":
        return _money(v)
    return DASH if v in (None, "") else str(v)


def _best_index(values: list[Any], better: str | None) -> set[int]:
    floats = [(_as_float(v), k) for k, v in enumerate(values)]
    nums = [(v, k) for v, k in floats if v is not None]
    if better is None or len(nums) < 2:
        return set()
    target = max(v for v, _ in nums) if better == "high" else min(v for v, _ in nums)
    if all(v == target for v, _ in nums):
        return set()
    return {k for v, k in nums if v == target}


# --------------------------------------------------------------------------- per-article analysis


def _article_scores(col: dict, name: str) -> dict | None:
    return ((col.get("score") or {}).get("articles") or {}).get(name)


def _wrong_fields(a: dict) -> list[tuple[dict, list[str]]]:
    out = []
    for m in a.get("matches") or []:
        if not m.get("required", True):
            continue
        wrong = [f for f, r in (m.get("fields") or {}).items() if not r.get("correct")]
        if wrong:
            out.append((m, wrong))
    return out


def _n_wrong(a: dict) -> int:
    return sum(len(w) for _, w in _wrong_fields(a))


def _gold_event(a: dict, idx: int | None) -> dict | None:
    if idx is None:
        return None
    for m in a.get("missed") or []:
        if m.get("gold_index") == idx:
            return m.get("event")
    return None


def _changes(first: dict | None, last: dict | None) -> dict:
    """Differences of one article between the first and the last run."""
    f = first or {}
    l_ = last or {}
    keys = ("slot_f1", "tp", "fp", "fn")
    d = {k: (f.get(k), l_.get(k)) for k in keys}
    missed_f = {m.get("gold_index") for m in f.get("missed") or []}
    missed_l = {m.get("gold_index") for m in l_.get("missed") or []}
    wrong_f = {(m.get("gold_index"), fld) for m, w in _wrong_fields(f) for fld in w}
    wrong_l = {(m.get("gold_index"), fld) for m, w in _wrong_fields(l_) for fld in w}
    notes_bad, notes_good = [], []
    for gi in sorted(x for x in missed_l - missed_f if x is not None):
        notes_bad.append(f"newly missed gold #{gi}: {_event_line(_gold_event(l_, gi) or {})}")
    for gi in sorted(x for x in missed_f - missed_l if x is not None):
        notes_good.append(f"now found gold #{gi}: {_event_line(_gold_event(f, gi) or {})}")
    for gi, fld in sorted(wrong_l - wrong_f, key=str):
        if gi not in missed_l and gi not in missed_f:
            notes_bad.append(f"gold #{gi}: {FIELD_LABELS.get(fld, fld).lower()} now wrong")
    for gi, fld in sorted(wrong_f - wrong_l, key=str):
        if gi not in missed_l and gi not in missed_f:
            notes_good.append(f"gold #{gi}: {FIELD_LABELS.get(fld, fld).lower()} now right")
    fp_f, fp_l = f.get("fp") or 0, l_.get("fp") or 0
    if fp_l > fp_f:
        notes_bad.append(f"{fp_l - fp_f} more spurious event{'s' if fp_l - fp_f > 1 else ''}")
    elif fp_l < fp_f:
        notes_good.append(f"{fp_f - fp_l} fewer spurious event{'s' if fp_f - fp_l > 1 else ''}")
    return {"values": d, "bad": notes_bad, "good": notes_good}


def _classify(columns: list[dict]) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
    """Articles that got worse / better in the last run compared with the first."""
    first, last = columns[0], columns[-1]
    regressions, improvements = [], []
    for name in _articles(columns):
        a, b = _article_scores(first, name), _article_scores(last, name)
        ch = _changes(a, b)
        sf, sl = (_as_float(x) for x in ch["values"]["slot_f1"])
        tpf, tpl = ch["values"]["tp"]
        fpf, fpl = ch["values"]["fp"]
        ds = (sl or 0.0) - (sf or 0.0)
        key = (round(ds, 9), (tpl or 0) - (tpf or 0), (fpf or 0) - (fpl or 0))
        ch["delta"] = ds
        if key > (0, 0, 0):
            improvements.append((name, ch))
        elif key < (0, 0, 0):
            regressions.append((name, ch))
        elif ch["bad"] and not ch["good"]:
            regressions.append((name, ch))
        elif ch["good"] and not ch["bad"]:
            improvements.append((name, ch))
    regressions.sort(key=lambda t: (t[1]["delta"], t[0]))
    improvements.sort(key=lambda t: (-t[1]["delta"], t[0]))
    return regressions, improvements


# --------------------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    """Table/inline-safe Markdown text: pipes escaped, newlines folded, raw HTML neutralised."""
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")
    )


def _md_table(header: list[str], rows: Iterable[list[str]], left: Iterable[int] = ()) -> list[str]:
    left = {0, *left}
    lines = [
        "| " + " | ".join(_md_escape(h) for h in header) + " |",
        "| " + " | ".join(":---" if k in left else "---:" for k in range(len(header))) + " |",
    ]
    for r in rows:
        lines.append("| " + " | ".join(_md_escape(x) for x in r) + " |")
    return lines


# --------------------------------------------------------------------------- merging


MERGE_WRONG_SHOWN = 40  # wrong links listed per measurement


def _merge_measurements(columns: list[dict], merge_gold: dict | None) -> list[tuple[str, dict]]:
    """(label, merge score dict) of every measurement: gold events as input, then each run end to end."""
    out: list[tuple[str, dict]] = []
    if merge_gold:
        out.append(("gold events as input (merge logic alone)", merge_gold))
    for k, c in enumerate(columns):
        if c.get("merge"):
            out.append((f"{_label(c, k)} (end to end)", c["merge"]))
    return out


_MERGE_HEADER = [
    "Measurement",
    "Items",
    "Links (gold / merged)",
    "Pairwise P",
    "Pairwise R",
    "Pairwise F1",
    "B-cubed F1",
    "Hard negatives merged",
    "Unique events (gold clusters)",
]


def _merge_row(label: str, m: dict) -> list[str]:
    return [
        label,
        _int(m.get("n_items")),
        f"{_int(m.get('true_links'))} / {_int(m.get('pred_links'))}",
        _num(m.get("precision")),
        _num(m.get("recall")),
        _num(m.get("f1")),
        _num(m.get("bcubed_f1")),
        _int(m.get("hard_negatives_merged")),
        f"{_int(m.get('n_unique_events'))} of {_int(m.get('n_events'))} events "
        f"({_int(m.get('n_gold_clusters_all') or m.get('n_gold_clusters'))})",
    ]


_MERGE_NOTE = (
    "Items: the events compared (gold events; end to end, the predicted events the scorer matched to a "
    "gold event, each standing for its gold event's cluster). A link is a pair of items in one cluster. "
    "Unique events: clusters over every event merged (end to end, unmatched predictions included), "
    "against the number of gold clusters. Wrong links: hard negatives merged first (look-alike events "
    "the gold says must stay apart), then other false merges, then missed links, each with the pair's "
    "score or the rule that vetoed it."
)


def _merge_markdown(columns: list[dict], merge_gold: dict | None) -> list[str]:
    measurements = _merge_measurements(columns, merge_gold)
    if not measurements:
        return []
    out = ["## Merging reports of the same event", "", _MERGE_NOTE, ""]
    out += _md_table(_MERGE_HEADER, [_merge_row(label, m) for label, m in measurements], left=[0, 8]) + [""]
    for label, m in measurements:
        wrong = m.get("wrong_links") or []
        out += [f"### Wrong links: {label} ({len(wrong)})", ""]
        if not wrong:
            out += ["_None._", ""]
            continue
        rows = [
            [w["kind"], f"{w['a']} [{w['gold_a']}]", f"{w['b']} [{w['gold_b']}]", w.get("why") or DASH]
            for w in wrong[:MERGE_WRONG_SHOWN]
        ]
        out += _md_table(["Kind", "Event", "Other event", "Pair"], rows, left=[0, 1, 2, 3])
        if len(wrong) > MERGE_WRONG_SHOWN:
            out.append(f"_... and {len(wrong) - MERGE_WRONG_SHOWN} more._")
        out.append("")
    return out


def _merge_html(columns: list[dict], merge_gold: dict | None) -> str:
    measurements = _merge_measurements(columns, merge_gold)
    if not measurements:
        return ""
    out = ['<h2 id="merging">Merging reports of the same event</h2>', f'<p class="lead">{_e(_MERGE_NOTE)}</p>']
    out.append("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in _MERGE_HEADER) + "</tr></thead><tbody>")
    for label, m in measurements:
        cells = _merge_row(label, m)
        hard = bool(m.get("hard_negatives_merged"))
        out.append(
            "<tr>"
            + "".join(
                f'<td class="{"text" if k in (0, 8) else ("down" if k == 7 and hard else "")}">{_e(v)}</td>'
                for k, v in enumerate(cells)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    for label, m in measurements:
        wrong = m.get("wrong_links") or []
        tag = '<span class="tag wrong">wrong links</span>' if wrong else '<span class="tag ok">all right</span>'
        out.append(f"<details{' open' if wrong else ''}><summary>{tag}{_e(label)}: {len(wrong)}</summary><div>")
        if wrong:
            out.append(
                '<table class="fields"><thead><tr><th>Kind</th><th>Event</th><th>Other event</th><th>Pair</th>'
                "</tr></thead><tbody>"
            )
            for w in wrong[:MERGE_WRONG_SHOWN]:
                bad = " bad" if w["kind"] != "missed link" else ""
                out.append(
                    f'<tr class="{bad.strip()}"><td>{_e(w["kind"])}</td><td>{_e(w["a"])} [{_e(w["gold_a"])}]</td>'
                    f"<td>{_e(w['b'])} [{_e(w['gold_b'])}]</td><td>{_e(w.get('why') or DASH)}</td></tr>"
                )
            out.append("</tbody></table>")
            if len(wrong) > MERGE_WRONG_SHOWN:
                out.append(f"<p>... and {len(wrong) - MERGE_WRONG_SHOWN} more.</p>")
        out.append("</div></details>")
    return "".join(out)


def render_markdown(columns: list[dict], merge_gold: dict | None = None) -> str:
    """The report as GitHub-flavoured Markdown (with the merge scores when given or in the columns)."""
    columns = list(columns or [])
    out: list[str] = ["# Conflict-event extraction: evaluation report", ""]
    if not columns:
        return "\n".join(out + ["_No runs to report._", ""])
    fields = _fields(columns)
    labels = [_label(c, k) for k, c in enumerate(columns)]
    multi = len(columns) >= 2

    sc0 = columns[-1].get("score") or {}
    out += [
        f"{len(columns)} run{'s' if multi else ''} · {len(_articles(columns))} articles · "
        f"{_int(sc0.get('n_required'))} required gold events. "
        "Headline metric: **slot F1** (8 fields per required gold event; see the notes at the end).",
        "",
    ]

    out += ["## Summary", ""]
    header = ["Metric", *labels] + (["Δ last − first"] if multi else [])
    rows = []
    for _group, name, get, kind, better in _summary_rows(fields):
        vals = [get(c) for c in columns]
        best = _best_index(vals, better)
        cells = [(f"**{_fmt(kind, v)}**" if k in best else _fmt(kind, v)) for k, v in enumerate(vals)]
        row = [name, *cells]
        if multi:
            first, last = _as_float(vals[0]), _as_float(vals[-1])
            row.append(
                _delta(last - first, kind=kind)
                if kind in ("num", "int") and first is not None and last is not None
                else ""
            )
        rows.append(row)
    out += _md_table(header, rows) + [""]

    if multi:
        regressions, improvements = _classify(columns)
        out += [f"## Regressions and improvements: {labels[-1]} vs {labels[0]}", ""]
        for title, items in (("Regressions", regressions), ("Improvements", improvements)):
            out += [f"### {title} ({len(items)})", ""]
            if not items:
                out += ["_None._", ""]
                continue
            rows = []
            for name, ch in items:
                v = ch["values"]
                rows.append(
                    [
                        name,
                        f"{_num(v['slot_f1'][0])} → {_num(v['slot_f1'][1])} ({_delta(ch['delta'])})",
                        f"{_int(v['tp'][0])} → {_int(v['tp'][1])}",
                        f"{_int(v['fp'][0])} → {_int(v['fp'][1])}",
                        f"{_int(v['fn'][0])} → {_int(v['fn'][1])}",
                        "; ".join(ch["bad"] + ch["good"]) or DASH,
                    ]
                )
            out += _md_table(["Article", "Slot F1", "TP", "FP", "FN", "What changed"], rows, left=[5]) + [""]

    out += ["## Per-article detail", ""]
    for name in _articles(columns):
        first_a = next((a for a in (_article_scores(c, name) for c in columns) if a), {})
        out += [
            f"### {name}",
            "",
            f"{_int(first_a.get('n_required'))} required and {_int(first_a.get('n_optional'))} optional gold events.",
            "",
        ]
        rows = []
        for k, c in enumerate(columns):
            a = _article_scores(c, name) or {}
            rows.append(
                [
                    labels[k],
                    _num(a.get("slot_f1")),
                    _int(a.get("tp")),
                    _int(a.get("fp")),
                    _int(a.get("fn")),
                    _int(_n_wrong(a)) if a else DASH,
                    _num(a.get("grounding_rate")),
                ]
            )
        out += _md_table(["Run", "Slot F1", "TP", "FP", "FN", "Wrong fields", "Grounding"], rows) + [""]
        for k, c in enumerate(columns):
            a = _article_scores(c, name) or {}
            if not a:
                continue
            wrong = _wrong_fields(a)
            if not (a.get("missed") or a.get("spurious") or wrong or a.get("ungrounded_evidence")):
                out += [f"**{labels[k]}**: all right.", ""]
                continue
            out += [f"**{labels[k]}**", ""]
            for m in a.get("missed") or []:
                out.append(f"- MISSED gold #{m.get('gold_index')}: {_event_line(m.get('event') or {})}")
                for span in (m.get("event") or {}).get("evidence") or []:
                    out.append(f"  > {_md_escape(span)}")
            for s in a.get("spurious") or []:
                near = s.get("nearest_gold_index")
                hint = (
                    f" (closest gold #{near}, pair score {_num(s.get('nearest_gold_score'))})"
                    if near is not None
                    else ""
                )
                out.append(f"- SPURIOUS prediction #{s.get('pred_index')}: {_event_line(s.get('event') or {})}{hint}")
                for span in (s.get("event") or {}).get("evidence") or []:
                    out.append(f"  > {_md_escape(span)}")
            for m, wrong_fields in wrong:
                out.append(
                    f"- WRONG FIELDS gold #{m.get('gold_index')} ↔ prediction #{m.get('pred_index')} "
                    f"(pair score {_num(m.get('score'))}):"
                )
                for f in wrong_fields:
                    r = m["fields"][f]
                    detail = f" ({r['detail']})" if r.get("detail") else ""
                    out.append(
                        f"  - {FIELD_LABELS.get(f, f)}: gold `{_value(r.get('gold'))}` · "
                        f"predicted `{_value(r.get('pred'))}`{detail}"
                    )
                for span in m.get("evidence") or []:
                    out.append(f"  > {_md_escape(span)}")
            for u in a.get("ungrounded_evidence") or []:
                out.append(f"- UNGROUNDED evidence of prediction #{u.get('pred_index')}: “{_md_escape(u.get('span'))}”")
            out.append("")

    out += _merge_markdown(columns, merge_gold)
    out += ["## How to read this report", "", *_NOTES_MD, ""]
    return "\n".join(out)


_NOTES = [
    (
        "Matching",
        "predicted and gold events are paired one-to-one per article (Hungarian algorithm) on "
        "event type, date, place and actors; pairs below the threshold stay unmatched.",
    ),
    (
        "Event P/R/F1",
        "TP = prediction matched to a required gold event, FP = unmatched prediction, "
        "FN = required gold event left unmatched. Predictions matched to optional gold events "
        "are neither rewarded nor punished.",
    ),
    (
        "Field accuracy",
        "share of matched required events whose field is right (any accepted alternative counts; "
        "dates within the gold precision window; places after spelling normalisation or "
        "within 10 km; actors as an order-free pair after alias normalisation).",
    ),
    (
        "Slot F1",
        "each of the 8 fields of each required gold event is a slot. Slot recall = right slots / "
        "(8 × required gold events); slot precision = right slots / (8 × counted predictions).",
    ),
    ("Grounding rate", "share of evidence quotes found verbatim in the article (quotes and whitespace normalised)."),
]
_NOTES_MD = [f"- **{k}**: {v}" for k, v in _NOTES]


# --------------------------------------------------------------------------- HTML


_CSS = """
:root { --ink:#1f2328; --muted:#5b636e; --line:#d8dde3; --bg:#ffffff; --soft:#f6f8fa;
        --bad:#b42318; --badbg:#fde8e6; --good:#146c2e; --goodbg:#e3f4e8; --accent:#0b4f8a; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 28px 0 8px; }
h4 { font-size: 13px; margin: 14px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
p.lead { color: var(--muted); margin: 0 0 8px; }
nav { margin: 12px 0 0; font-size: 13px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: right; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
table.summary td.group { background: #eef2f6; color: var(--muted); font-size: 11px; font-weight: 700;
                         text-transform: uppercase; letter-spacing: .05em; text-align: left; padding-top: 8px; }
table.summary tr.headline td { font-size: 15px; }
table.summary tr.headline td:first-child { font-weight: 700; }
td.text { text-align: left; max-width: 260px; overflow-wrap: anywhere; }
td.best { color: var(--good); font-weight: 700; }
td.up { color: var(--good); font-weight: 600; }
td.down { color: var(--bad); font-weight: 600; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; max-width: 100%; }
.chart svg { display: block; width: 100%; height: auto; }
.cards { display: grid; gap: 10px; }
.card { border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 6px;
        padding: 8px 12px; background: #fff; }
.card.missed { border-left-color: #d97706; }
.card.spurious { border-left-color: #7c3aed; }
.card.wrong { border-left-color: var(--bad); }
.card .head { font-weight: 600; margin-bottom: 4px; }
.card .meta { color: var(--muted); font-size: 12px; }
.tag { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 7px; border-radius: 10px;
       margin-right: 6px; letter-spacing: .03em; color: #fff; vertical-align: 1px; }
.tag.missed { background: #d97706; } .tag.spurious { background: #7c3aed; } .tag.wrong { background: var(--bad); }
.tag.ok { background: var(--good); } .tag.ungrounded { background: #6b7280; }
table.fields { width: 100%; margin: 6px 0; table-layout: fixed; }
table.fields th:nth-child(1) { width: 160px; } table.fields th:nth-child(4) { width: 190px; }
table.fields td, table.fields th { text-align: left; }
table.fields td.field { width: 150px; font-weight: 600; }
table.fields tr.bad td { background: var(--badbg); }
table.fields tr.bad td.pred { color: var(--bad); font-weight: 600; }
table.fields td.note { color: var(--muted); font-size: 12px; }
blockquote { margin: 4px 0; padding: 4px 10px; border-left: 3px solid #c9d1d9; background: var(--soft);
             color: #374151; font-size: 13px; }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; background: #fcfcfd; }
details > summary { cursor: pointer; padding: 7px 12px; font-weight: 600; }
details > div { padding: 4px 12px 12px; }
.evid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-top: 6px; }
.allright { color: var(--good); font-weight: 600; margin: 4px 0; }
.legend span { display: inline-block; margin-right: 16px; font-size: 13px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
table.changes td { white-space: nowrap; }
table.changes td.what { white-space: normal; text-align: left; min-width: 380px; }
ul.changes { margin: 0; padding-left: 18px; text-align: left; }
ul.changes li.bad { color: var(--bad); } ul.changes li.good { color: var(--good); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
footer dt { font-weight: 700; color: var(--ink); } footer dd { margin: 0 0 8px 0; }
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _bar_chart(columns: list[dict], fields: list[str]) -> str:
    """Grouped bar chart (inline SVG) of per-field accuracy, one bar per run."""
    n = max(1, len(columns))
    width, height = 1000, 340
    left, right, top, bottom = 52, 16, 40, 58
    pw, ph = width - left - right, height - top - bottom
    gw = pw / max(1, len(fields))
    bw = min(46.0, gw * 0.78 / n)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Per-field accuracy by run" '
        f'font-family="-apple-system, Segoe UI, Roboto, Arial, sans-serif">'
    ]
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')
    # legend
    x = left
    for k, c in enumerate(columns):
        color = PALETTE[k % len(PALETTE)]
        label = _label(c, k)
        parts.append(f'<rect x="{x}" y="12" width="12" height="12" rx="2" fill="{color}"/>')
        parts.append(f'<text x="{x + 17}" y="22" font-size="12" fill="#1f2328">{_e(label)}</text>')
        x += 30 + 7 * len(label)
    # grid and axis
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + ph * (1 - t)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{"#9aa4af" if t == 0 else "#e3e7eb"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#5b636e">{t:.2f}</text>'
        )
    show_values = n <= 4
    for gi, f in enumerate(fields):
        gx = left + gi * gw
        x0 = gx + (gw - bw * n) / 2
        for k, c in enumerate(columns):
            v = _as_float(((c.get("score") or {}).get("field_accuracy") or {}).get(f))
            bx = x0 + k * bw
            if v is None:
                parts.append(
                    f'<text x="{bx + bw / 2:.1f}" y="{top + ph - 4:.1f}" font-size="10" '
                    f'text-anchor="middle" fill="#9aa4af">n/a</text>'
                )
                continue
            v = max(0.0, min(1.0, v))
            h = ph * v
            color = PALETTE[k % len(PALETTE)]
            parts.append(
                f'<rect x="{bx + 1:.1f}" y="{top + ph - h:.1f}" width="{max(1.0, bw - 2):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{_e(_label(c, k))} · '
                f"{_e(FIELD_LABELS.get(f, f))}: {v:.2f}</title></rect>"
            )
            if show_values:
                parts.append(
                    f'<text x="{bx + bw / 2:.1f}" y="{top + ph - h - 4:.1f}" font-size="10" '
                    f'text-anchor="middle" fill="#1f2328">{v:.2f}</text>'
                )
        parts.append(
            f'<text x="{gx + gw / 2:.1f}" y="{top + ph + 20:.1f}" font-size="12" text-anchor="middle" '
            f'fill="#1f2328">{_e(FIELD_LABELS.get(f, f))}</text>'
        )
    parts.append(
        f'<text x="14" y="{top + ph / 2:.1f}" font-size="11" fill="#5b636e" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + ph / 2:.1f})">accuracy on matched events</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _summary_html(columns: list[dict], fields: list[str], labels: list[str]) -> str:
    multi = len(columns) >= 2
    out = ['<table class="summary"><thead><tr><th>Metric</th>']
    out += [
        f'<th><span class="tag" style="background:{PALETTE[k % len(PALETTE)]}">&nbsp;</span>{_e(lab)}</th>'
        for k, lab in enumerate(labels)
    ]
    if multi:
        out.append("<th>Δ last − first</th>")
    out.append("</tr></thead><tbody>")
    group = None
    for grp, name, get, kind, better in _summary_rows(fields):
        if grp != group:
            group = grp
            out.append(f'<tr><td class="group" colspan="{len(columns) + 1 + multi}">{_e(grp)}</td></tr>')
        vals = [get(c) for c in columns]
        best = _best_index(vals, better)
        cls = ' class="headline"' if name == "Slot F1" else ""
        out.append(f"<tr{cls}><td>{_e(name)}</td>")
        for k, v in enumerate(vals):
            klass = "text" if kind == "text" else ("best" if k in best else "")
            out.append(f'<td class="{klass}">{_e(_fmt(kind, v))}</td>')
        if multi:
            a, b = _as_float(vals[0]), _as_float(vals[-1])
            if kind in ("num", "int") and a is not None and b is not None:
                d = b - a
                klass = ""
                if better and abs(d) > 1e-9:
                    klass = "up" if (d > 0) == (better == "high") else "down"
                out.append(f'<td class="{klass}">{_e(_delta(d, kind=kind))}</td>')
            else:
                out.append("<td></td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _note(ok: bool, detail: Any) -> str:
    """Field notes only where they explain something: a wrong value, or a location accepted by distance."""
    if not detail:
        return ""
    return str(detail) if not ok or "km" in str(detail) else ""


def _quotes_html(spans: Iterable[Any] | None) -> str:
    return "".join(f"<blockquote>{_e(s)}</blockquote>" for s in spans or [] if s)


def _article_run_html(a: dict) -> str:
    out = []
    missed = a.get("missed") or []
    spurious = a.get("spurious") or []
    wrong = _wrong_fields(a)
    ungrounded = a.get("ungrounded_evidence") or []
    if not (missed or spurious or wrong or ungrounded):
        return '<p class="allright">All required events found with every field right; nothing spurious.</p>'
    if wrong:
        out.append("<h4>Matched events with wrong fields</h4><div class='cards'>")
        for m, wrong_fields in wrong:
            out.append('<div class="card wrong">')
            out.append(
                f'<div class="head"><span class="tag wrong">WRONG</span>gold #{_e(m.get("gold_index"))} '
                f"↔ prediction #{_e(m.get('pred_index'))} "
                f'<span class="meta">pair score {_e(_num(m.get("score")))} · '
                f"{len(wrong_fields)} of {len(m.get('fields') or {})} fields wrong</span></div>"
            )
            out.append(
                '<table class="fields"><thead><tr><th>Field</th><th>Gold</th><th>Predicted</th>'
                "<th>Note</th></tr></thead><tbody>"
            )
            for f, r in (m.get("fields") or {}).items():
                ok = r.get("correct")
                out.append(
                    f'<tr class="{"ok" if ok else "bad"}"><td class="field">'
                    f"{'✓' if ok else '✗'} {_e(FIELD_LABELS.get(f, f))}</td>"
                    f'<td>{_e(_value(r.get("gold")))}</td><td class="pred">{_e(_value(r.get("pred")))}</td>'
                    f'<td class="note">{_e(_note(ok, r.get("detail")))}</td></tr>'
                )
            out.append("</tbody></table>")
            out.append(
                '<div class="evid"><div><div class="meta">Prediction’s evidence</div>'
                + (_quotes_html(m.get("evidence")) or '<p class="meta">(none given)</p>')
                + (f'<div class="meta">Notes: {_e(m.get("pred_notes"))}</div>' if m.get("pred_notes") else "")
                + '</div><div><div class="meta">Gold evidence</div>'
                + (_quotes_html(m.get("gold_evidence")) or '<p class="meta">(none)</p>')
                + "</div></div>"
            )
            out.append("</div>")
        out.append("</div>")
    if missed:
        out.append("<h4>Missed gold events</h4><div class='cards'>")
        for m in missed:
            e = m.get("event") or {}
            out.append(
                f'<div class="card missed"><div class="head"><span class="tag missed">MISSED</span>'
                f"gold #{_e(m.get('gold_index'))}: {_e(_event_line(e))}</div>"
            )
            if e.get("notes"):
                out.append(f'<div class="meta">{_e(e.get("notes"))}</div>')
            out.append(_quotes_html(e.get("evidence")) + "</div>")
        out.append("</div>")
    if spurious:
        out.append("<h4>Spurious predictions</h4><div class='cards'>")
        for s in spurious:
            e = s.get("event") or {}
            near = s.get("nearest_gold_index")
            hint = (
                f"closest gold event #{_e(near)} (pair score {_e(_num(s.get('nearest_gold_score')))}, "
                f"below the match threshold)"
                if near is not None
                else "no gold event is close"
            )
            out.append(
                f'<div class="card spurious"><div class="head"><span class="tag spurious">SPURIOUS</span>'
                f"prediction #{_e(s.get('pred_index'))}: {_e(_event_line(e))}</div>"
                f'<div class="meta">{hint}</div>'
            )
            out.append(_quotes_html(e.get("evidence")) + "</div>")
        out.append("</div>")
    if ungrounded:
        out.append("<h4>Evidence not found in the article</h4><div class='cards'>")
        for u in ungrounded:
            out.append(
                f'<div class="card"><span class="tag ungrounded">UNGROUNDED</span>prediction '
                f"#{_e(u.get('pred_index'))}<blockquote>{_e(u.get('span'))}</blockquote></div>"
            )
        out.append("</div>")
    return "".join(out)


def _changes_html(columns: list[dict], labels: list[str]) -> str:
    regressions, improvements = _classify(columns)
    out = [
        f'<h2 id="changes">Regressions and improvements: {_e(labels[-1])} vs {_e(labels[0])}</h2>',
        '<p class="lead">Per article, the last run compared with the first: slot F1, matched (TP), '
        "spurious (FP) and missed (FN) events, and which gold events or fields changed.</p>",
    ]
    for title, items, klass in (("Regressions", regressions, "down"), ("Improvements", improvements, "up")):
        out.append(f"<h3>{title} ({len(items)})</h3>")
        if not items:
            out.append('<p class="lead">None.</p>')
            continue
        out.append(
            '<table class="changes"><thead><tr><th>Article</th><th>Slot F1</th><th>Δ</th><th>TP</th>'
            '<th>FP</th><th>FN</th><th style="text-align:left">What changed</th></tr></thead><tbody>'
        )
        for name, ch in items:
            v = ch["values"]
            notes = "".join(f'<li class="bad">{_e(x)}</li>' for x in ch["bad"]) + "".join(
                f'<li class="good">{_e(x)}</li>' for x in ch["good"]
            )
            out.append(
                f'<tr><td><a href="#{_anchor(name)}">{_e(name)}</a></td>'
                f"<td>{_e(_num(v['slot_f1'][0]))} → {_e(_num(v['slot_f1'][1]))}</td>"
                f'<td class="{klass}">{_e(_delta(ch["delta"]))}</td>'
                f"<td>{_e(_int(v['tp'][0]))} → {_e(_int(v['tp'][1]))}</td>"
                f"<td>{_e(_int(v['fp'][0]))} → {_e(_int(v['fp'][1]))}</td>"
                f"<td>{_e(_int(v['fn'][0]))} → {_e(_int(v['fn'][1]))}</td>"
                f'<td class="what"><ul class="changes">{notes or "<li>" + DASH + "</li>"}</ul></td></tr>'
            )
        out.append("</tbody></table>")
    return "".join(out)


def _anchor(name: str) -> str:
    return "a-" + "".join(ch if ch.isalnum() else "-" for ch in name)


def _review_link(review_page: str | None, col: dict, name: str, text: str) -> str:
    """``text`` linked to the article in the review page (when there is one and the column knows the run)."""
    run = (col.get("sources") or {}).get(name)
    if not review_page or not run:
        return _e(text)
    href = f"{review_page}#article={quote(name, safe='')}&run={quote(str(run)[:8], safe='')}"
    return f'<a class="review" href="{_e(href)}" title="this article in the review page">{_e(text)}</a>'


def render_html(columns: list[dict], review_page: str | None = None, merge_gold: dict | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts, no external resources).

    review_page: the review page beside the report (a relative path); each per-article row links
    to the article's events there (``review_page#article=NAME&run=RUN``).
    """
    columns = list(columns or [])
    labels = [_label(c, k) for k, c in enumerate(columns)]
    fields = _fields(columns)
    multi = len(columns) >= 2
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Conflict-event extraction: evaluation report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Conflict-event extraction: evaluation report</h1>",
    ]
    if not columns:
        out.append('<p class="lead">No runs to report.</p></main></body></html>')
        return "".join(out)
    sc = columns[-1].get("score") or {}
    out.append(
        f'<p class="lead">{len(columns)} run{"s" if multi else ""} · {len(_articles(columns))} articles · '
        f"{_e(_int(sc.get('n_required')))} required gold events. Headline metric: <b>slot F1</b> "
        "(8 fields per required gold event).</p>"
    )
    nav = ['<a href="#summary">Summary</a>', '<a href="#fields">Field accuracy</a>']
    if multi:
        nav.append('<a href="#changes">Regressions &amp; improvements</a>')
    nav.append('<a href="#articles">Per-article detail</a>')
    if _merge_measurements(columns, merge_gold):
        nav.append('<a href="#merging">Merging</a>')
    nav.append('<a href="#notes">How to read</a>')
    out.append(f"<nav>{''.join(nav)}</nav>")

    out.append('<h2 id="summary">Summary</h2>')
    out.append(_summary_html(columns, fields, labels))
    if multi:
        out.append(
            '<p class="lead">Bold green = best run on that row. The last column is the change from the '
            "first run to the last (green = better, red = worse).</p>"
        )

    out.append('<h2 id="fields">Per-field accuracy</h2>')
    out.append('<p class="lead">Share of matched required gold events whose field the run got right.</p>')
    out.append(f'<div class="chart">{_bar_chart(columns, fields)}</div>')

    if multi:
        out.append(_changes_html(columns, labels))

    out.append('<h2 id="articles">Per-article detail</h2>')
    out.append(
        '<p class="lead">For each article: the scores of every run, then per run (click to expand; '
        "the last run is expanded where it has issues) the missed gold events, the spurious "
        "predictions, and the matched events with wrong fields next to the evidence.</p>"
    )
    for name in _articles(columns):
        any_a = next((a for a in (_article_scores(c, name) for c in columns) if a), {})
        out.append(f'<h3 id="{_anchor(name)}">{_e(name)}</h3>')
        if review_page:
            links = [_review_link(review_page, c, name, labels[k]) for k, c in enumerate(columns)]
            links = [x for k, x in enumerate(links) if (columns[k].get("sources") or {}).get(name)]
            if links:
                out.append(f'<p class="lead">Review its events against the text: {" · ".join(links)}</p>')
        out.append(
            f'<p class="lead">{_e(_int(any_a.get("n_required")))} required and '
            f"{_e(_int(any_a.get('n_optional')))} optional gold events.</p>"
        )
        out.append(
            "<table><thead><tr><th>Run</th><th>Slot F1</th><th>Event F1</th><th>TP</th><th>FP</th>"
            "<th>FN</th><th>Wrong fields</th><th>Grounding</th></tr></thead><tbody>"
        )
        for k, c in enumerate(columns):
            a = _article_scores(c, name)
            if not a:
                out.append(f'<tr><td>{_e(labels[k])}</td><td colspan="7" class="text">not scored</td></tr>')
                continue
            nw = _n_wrong(a)
            out.append(
                f"<tr><td>{_review_link(review_page, c, name, labels[k])}</td><td>{_e(_num(a.get('slot_f1')))}</td>"
                f"<td>{_e(_num(a.get('f1')))}</td><td>{_e(_int(a.get('tp')))}</td>"
                f'<td class="{"down" if a.get("fp") else ""}">{_e(_int(a.get("fp")))}</td>'
                f'<td class="{"down" if a.get("fn") else ""}">{_e(_int(a.get("fn")))}</td>'
                f'<td class="{"down" if nw else ""}">{_e(_int(nw))}</td>'
                f"<td>{_e(_num(a.get('grounding_rate')))}</td></tr>"
            )
        out.append("</tbody></table>")
        for k, c in enumerate(columns):
            a = _article_scores(c, name)
            if not a:
                continue
            nw = _n_wrong(a)
            issues = [
                f"{len(a.get('missed') or [])} missed",
                f"{len(a.get('spurious') or [])} spurious",
                f"{nw} wrong field{'s' if nw != 1 else ''}",
            ]
            nu = len(a.get("ungrounded_evidence") or [])
            if nu:
                issues.append(f"{nu} ungrounded quote{'s' if nu != 1 else ''}")
            problem = bool(a.get("missed") or a.get("spurious") or nw or a.get("ungrounded_evidence"))
            tag = '<span class="tag wrong">issues</span>' if problem else '<span class="tag ok">all right</span>'
            is_open = " open" if problem and k == len(columns) - 1 else ""
            out.append(
                f"<details{is_open}><summary>{tag}{_e(labels[k])} — {_e(', '.join(issues))}</summary>"
                f"<div>{_article_run_html(a)}</div></details>"
            )

    out.append(_merge_html(columns, merge_gold))
    out.append('<footer id="notes"><h2>How to read this report</h2><dl>')
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _NOTES]
    out.append(f"<dt>Missing values</dt><dd>{DASH} means not measured or not applicable.</dd>")
    out.append("</dl></footer></main></body></html>")
    return "".join(out)
