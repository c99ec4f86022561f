"""The review page: every event shown on its article, and the reviewer's decisions back into the store.

Analysts trust a table of events once they have checked a sample against the
text. `write_review` builds one self-contained HTML file: the data embedded
once as JSON in a ``<script type="application/json">`` block and rendered, one
selected article at a time, by a small inline script (`pipeline/data/review.js`,
`review.css`, `review.html`). It loads nothing: no CDN, no fonts, no tiles (the
map is an inline SVG graticule), and a Content-Security-Policy that forbids
every request, so it opens from disk on a machine with no network.

The reviewer marks events correct or wrong, or fixes a field, and downloads the
decisions as JSON. `apply_decisions` appends them to the `reviews` table
(nothing is overwritten; re-applying a file adds nothing), `export-events
--exclude-rejected` leaves out events whose latest decision is `wrong`, and
`write_gold` turns the reviewed articles into gold files in the codebook's
format, so `run-eval` can score against them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.errors import ReviewError
from pipeline.extraction.rules import RULES
from pipeline.geo.gazetteer import country_code
from pipeline.paths import data_file
from pipeline.store import reviews as db
from pipeline.store.database import Store

FORMAT = "conflict-events-review/1"
DECISIONS_FORMAT = "conflict-events-decisions/1"
VERDICTS = ("correct", "wrong", "fix")

# Okabe-Ito colours (colour-blind safe), one per event type.
EVENT_TYPE_COLOURS = {
    "Battles": "#D55E00",
    "Explosions/Remote violence": "#E69F00",
    "Violence against civilians": "#CC79A7",
    "Protests": "#0072B2",
    "Riots": "#009E73",
    "Strategic developments": "#56B4E9",
}

# The event columns a reviewer may fix, and how their values are checked.
FIELD_KINDS: dict[str, str] = {
    "event_date": "date",
    "event_end_date": "date",
    "time_precision": "precision",
    "event_type": "str",
    "sub_event_type": "str",
    "actor1": "str",
    "actor1_type": "str",
    "assoc_actors_1": "list",
    "actor2": "str",
    "actor2_type": "str",
    "assoc_actors_2": "list",
    "country": "str",
    "admin1": "str",
    "location": "str",
    "geo_precision": "precision",
    "fatalities": "count",
    "civilian_targeting": "bool",
    "source": "str",
    "notes": "str",
}

# Columns of an event the page shows (the codebook's fields, actors flattened, then provenance).
_EVENT_KEYS = [
    "event_id",
    "event_index",
    *FIELD_KINDS,
    "latitude",
    "longitude",
    "geo_method",
    "geo_confidence",
    "evidence",
    "evidence_start",
    "evidence_end",
    "rules",
]

# Fields of a gold event, in the order of the gold files.
GOLD_FIELDS = [
    "event_date",
    "event_end_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actors_1",
    "actor2",
    "assoc_actors_2",
    "country",
    "admin1",
    "location",
    "geo_precision",
    "fatalities",
    "civilian_targeting",
    "source",
    "notes",
    "evidence",
]


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- map outlines

WORLD_TOLERANCE = 1.0  # degrees between kept points of the world panel's coastlines
DETAIL_TOLERANCE = 0.05  # and of the close-up's country outlines


def _ring_path(ring: list[list[float]], tol: float) -> str:
    """One exterior ring as SVG path data in (lon + 180, 90 - lat) units, points closer than ``tol`` dropped."""
    kept = [ring[0]]
    for p in ring[1:]:
        if math.hypot(p[0] - kept[-1][0], p[1] - kept[-1][1]) >= tol:
            kept.append(p)
    if len(kept) < 3:
        return ""
    return "M" + "L".join(f"{round(lon + 180, 2):g} {round(90 - lat, 2):g}" for lon, lat in kept) + "Z"


def _country_path(rings: list[list[list[float]]], tol: float) -> str:
    out = []
    for ring in rings:
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        if max(lons) - min(lons) < tol and max(lats) - min(lats) < tol:
            continue  # an islet smaller than the detail kept
        out.append(_ring_path(ring, tol))
    return "".join(out)


def map_outlines(countries: Sequence[str]) -> dict[str, Any]:
    """Land for the cards' maps, from the shipped Natural Earth outlines (`pipeline/data/ne_countries.json.gz`):
    ``world``, every country coarsely as one path; ``detail``, country name -> a finer path, for the
    countries of the page's events. Empty when the outlines file is missing."""
    try:
        with gzip.open(data_file("ne_countries.json.gz"), "rt", encoding="utf-8") as fh:
            outlines: dict[str, list[list[list[float]]]] = json.load(fh)["countries"]
    except FileNotFoundError:
        return {"world": "", "detail": {}}
    world = "".join(_country_path(rings, WORLD_TOLERANCE) for rings in outlines.values())
    detail = {}
    for name in sorted(set(countries)):
        cc = country_code(name)
        if cc and cc in outlines:
            detail[name] = _country_path(outlines[cc], DETAIL_TOLERANCE)
    return {"world": world, "detail": detail}


# --------------------------------------------------------------------------- the page's data


def build_review_data(
    store: Store, run_refs: Sequence[str] = (), *, unique: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the page shows, as plain JSON data.

    run_refs: runs (ids or prefixes) whose articles to show; none: the latest
    outcome of every article (its latest successful extraction, else its
    latest failure). unique: require the merge step's unique-event tables (the
    other articles that report each event are shown whenever they exist).
    """
    run_ids = list(dict.fromkeys(store.resolve_run(r) for r in run_refs))
    if not run_ids and not store.run_ids():
        raise ReviewError(f"{store.path} holds no runs; run `run-pipeline FOLDER --db {store.path}` first")
    items = db.run_items(store, run_ids) if run_ids else db.latest_items(store)
    has_unique = db.has_unique_events(store)
    if unique and not has_unique:
        raise ReviewError(
            f"{store.path} has no unique_events tables filled by a merge: merge the events into unique events "
            f"first (`merge-events --db {store.path}`), or leave out --unique"
        )
    article_ids = sorted({i["article_id"] for i in items if i["article_id"]})
    pairs = [(i["run_id"], i["article_id"]) for i in items if i["article_id"] and i["status"] == "ok"]
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in db.events(store, pairs):
        event = {k: _json_value(row.get(k)) for k in _EVENT_KEYS}
        event["unique"] = None
        by_pair.setdefault((row["run_id"], row["article_id"]), []).append(event)
    all_events = [e for evs in by_pair.values() for e in evs]
    if has_unique:
        found = {u["event_id"]: u for u in db.unique_events_of(store, [e["event_id"] for e in all_events])}
        for event in all_events:
            u = found.get(event["event_id"])
            if u:
                event["unique"] = {k: _json_value(v) for k, v in u.items() if k != "event_id"}
    stored_reviews: dict[str, list[dict[str, Any]]] = {}
    for r in db.reviews(store, [e["event_id"] for e in all_events]):
        stored_reviews.setdefault(r["event_id"], []).append(
            {k: _json_value(r[k]) for k in ("verdict", "field", "value", "note", "reviewer", "decided_at")}
        )
    shown_runs = sorted({i["run_id"] for i in items}) if not run_ids else run_ids
    out_items = []
    for i in items:
        out_items.append(
            {
                "run_id": i["run_id"],
                "article_id": i["article_id"],
                "file_name": i["file_name"],
                "status": i["status"],
                "error": i["error"],
                "seconds": i["seconds"],
                "finished_at": _json_value(i["finished_at"]),
                "events": by_pair.get((i["run_id"], i["article_id"]), []),
            }
        )
    generated = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    # The browser keeps undownloaded decisions under this id: a page made again of the same runs finds
    # them (re-applying one already stored adds nothing, so downloading it again is harmless).
    page_id = hashlib.sha256(json.dumps([Path(store.path).name, shown_runs]).encode()).hexdigest()[:16]
    return {
        "format": FORMAT,
        "page_id": page_id,
        "generated_at": generated.isoformat(),
        "db": str(Path(store.path).name),
        "selection": "runs" if run_ids else "latest",
        "runs": [{k: _json_value(v) for k, v in r.items() if k != "parameters"} for r in db.runs(store, shown_runs)],
        "rules": RULES,
        "colours": EVENT_TYPE_COLOURS,
        "fields": FIELD_KINDS,
        "unique": has_unique,
        "outlines": map_outlines([e["country"] for e in all_events if e.get("country")]),
        "articles": {
            a["article_id"]: {k: _json_value(v) for k, v in a.items() if k != "article_id"}
            for a in db.articles(store, article_ids)
        },
        "items": out_items,
        "reviews": stored_reviews,
    }


def embed_json(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``
    survives as itself (so neither ``</script>`` nor ``<!--`` can end or change the block), and
    the line separators U+2028/U+2029 are escaped too."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def render_review_html(data: dict[str, Any]) -> str:
    """The page: the template with its CSS, script and data inlined."""
    template = data_file("review.html").read_text(encoding="utf-8")
    css = data_file("review.css").read_text(encoding="utf-8")
    script = data_file("review.js").read_text(encoding="utf-8")
    assert "</" not in css and "</script" not in script.lower(), "inline CSS/JS must not close its element"
    title = f"Review: {len(data['items'])} articles, {sum(len(i['events']) for i in data['items'])} events"
    return (
        template.replace("{{title}}", title)
        .replace("{{css}}", css)
        .replace("{{script}}", script)
        .replace("{{data}}", embed_json(data))
    )


@dataclass
class ReviewPage:
    path: Path
    n_articles: int
    n_failed: int
    n_events: int
    n_bytes: int
    unique: bool


def write_review(store: Store, output: str | Path, run_refs: Sequence[str] = (), *, unique: bool = False) -> ReviewPage:
    """Write the review page of ``run_refs`` (default: the latest outcome of every article) to ``output``."""
    data = build_review_data(store, run_refs, unique=unique)
    page = render_review_html(data)
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return ReviewPage(
        path=path,
        n_articles=len(data["items"]),
        n_failed=sum(1 for i in data["items"] if i["status"] == "failed"),
        n_events=sum(len(i["events"]) for i in data["items"]),
        n_bytes=len(page.encode("utf-8")),
        unique=data["unique"],
    )


# --------------------------------------------------------------------------- decisions


def _check_value(field: str, value: Any, where: str) -> Any:
    kind = FIELD_KINDS.get(field)
    if kind is None:
        raise ReviewError(f"{where}: field {field!r} cannot be fixed; fields: {', '.join(FIELD_KINDS)}")
    ok = True
    if value is None:
        ok = kind in ("date", "str") and field not in (
            "event_date",
            "event_type",
            "sub_event_type",
            "actor1",
            "country",
        )
    elif kind == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            ok = False
    elif kind == "precision":
        ok = isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3)
    elif kind == "count":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "list":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ReviewError(f"{where}: {value!r} is not a valid {field} ({kind})")
    return value


def _review_id(d: dict[str, Any]) -> str:
    key = [d["event_id"], d["verdict"], d.get("field"), d.get("value"), d.get("note"), d.get("reviewer")]
    key.append(d["decided_at"].isoformat() if d.get("decided_at") else None)
    return hashlib.sha256(json.dumps(key, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def load_decisions(path: str | Path) -> list[dict[str, Any]]:
    """The decisions of a file the page downloaded, checked one by one (a bad one names its position)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReviewError(f"{path}: no such decisions file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewError(f"{path}: not a decisions file ({exc})") from None
    if isinstance(doc, dict):
        if doc.get("format") not in (None, DECISIONS_FORMAT):
            raise ReviewError(f"{path}: format {doc.get('format')!r}, expected {DECISIONS_FORMAT!r}")
        items = doc.get("decisions")
    else:
        items = doc
    if not isinstance(items, list):
        raise ReviewError(f"{path}: expected a list of decisions under 'decisions'")
    out = []
    for n, d in enumerate(items, 1):
        where = f"{path}: decision {n}"
        if not isinstance(d, dict) or not isinstance(d.get("event_id"), str):
            raise ReviewError(f"{where}: needs an event_id")
        verdict = d.get("verdict")
        if verdict not in VERDICTS:
            raise ReviewError(f"{where}: verdict {verdict!r}, expected one of {', '.join(VERDICTS)}")
        decided_at = None
        if d.get("decided_at"):
            try:
                decided_at = datetime.fromisoformat(str(d["decided_at"]).replace("Z", "+00:00"))
            except ValueError:
                raise ReviewError(f"{where}: decided_at {d['decided_at']!r} is not an ISO time") from None
            if decided_at.tzinfo is not None:
                decided_at = decided_at.astimezone(timezone.utc).replace(tzinfo=None)
        field = d.get("field") if verdict == "fix" else None
        value = None
        if verdict == "fix":
            if not isinstance(field, str):
                raise ReviewError(f"{where}: a fix needs the field it corrects")
            value = _check_value(field, d.get("value"), where)
        row = {
            "event_id": d["event_id"],
            "run_id": d.get("run_id"),
            "article_id": d.get("article_id"),
            "verdict": verdict,
            "field": field,
            "value": value,
            "note": d.get("note") or None,
            "reviewer": d.get("reviewer") or None,
            "decided_at": decided_at,
        }
        row["review_id"] = _review_id(row)
        out.append(row)
    return out


@dataclass
class Applied:
    n_decisions: int
    n_new: int
    n_events: int


def apply_decisions(store: Store, path: str | Path) -> Applied:
    """Append a decisions file to ``reviews``; decisions already stored are not added again."""
    rows = load_decisions(path)
    known = db.known_events(store, sorted({r["event_id"] for r in rows}))
    missing = sorted({r["event_id"] for r in rows} - set(known))
    if missing:
        raise ReviewError(
            f"{path}: {len(missing)} event(s) not in {store.path} (e.g. {missing[0]}); "
            "apply the decisions to the database the page was made from"
        )
    for r in rows:  # the store's ids win over what the page said
        r["run_id"], r["article_id"] = known[r["event_id"]]
    n_new = db.add_reviews(store, rows, str(path))
    return Applied(n_decisions=len(rows), n_new=n_new, n_events=len(known))


# --------------------------------------------------------------------------- gold files


def _reviewed_event(row: dict[str, Any], decisions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The gold event a reviewed events row becomes (fixes applied), or None when its latest decision is wrong."""
    if decisions[-1]["verdict"] == "wrong":
        return None
    flat = {k: row.get(k) for k in FIELD_KINDS}
    for d in decisions:  # in order: a later fix of the same field wins
        if d["verdict"] == "fix" and d["field"] in flat:
            flat[d["field"]] = d["value"]
    out: dict[str, Any] = {"required": True}
    for name in GOLD_FIELDS:
        if name in ("actor1", "actor2"):
            actor = flat.get(name)
            out[name] = {"name": actor, "actor_type": flat.get(f"{name}_type")} if actor else None
        elif name == "evidence":
            out[name] = list(row.get("evidence") or [])
        elif name in ("assoc_actors_1", "assoc_actors_2"):
            out[name] = list(flat.get(name) or [])
        else:
            out[name] = _json_value(flat.get(name))
    return out


@dataclass
class GoldWritten:
    written: list[Path]
    partial: list[str]  # articles with events nobody decided on: not written


def write_gold(store: Store, out_dir: str | Path) -> GoldWritten:
    """One gold file per reviewed extraction whose every event has a decision (the latest
    extraction of an article wins when several were reviewed). Events whose latest decision is
    wrong are left out; fixed fields take their corrected values; every event is required."""
    out = Path(out_dir)
    keys = db.reviewed_article_keys(store)
    if not keys:
        raise ReviewError(f"{store.path} holds no reviews; apply a decisions file first (review --apply FILE)")
    rows = db.events(store, keys)
    decisions: dict[str, list[dict[str, Any]]] = {}
    for r in db.reviews(store, [e["event_id"] for e in rows]):
        decisions.setdefault(r["event_id"], []).append(r)
    by_article: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_article.setdefault(row["article_id"], []).append(row)
    articles = {a["article_id"]: a for a in db.articles(store, sorted(by_article))}
    written: list[Path] = []
    partial: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    for article_id, events in sorted(by_article.items(), key=lambda kv: articles[kv[0]]["file_name"]):
        # Several reviewed runs of one article: the run whose events were decided on last.
        runs: dict[str, list[dict[str, Any]]] = {}
        for e in events:
            runs.setdefault(e["run_id"], []).append(e)

        def last_decision(evs: list[dict[str, Any]]) -> Any:
            times = [d["applied_at"] for e in evs for d in decisions.get(e["event_id"], [])]
            return max(times) if times else datetime.min

        chosen = max(runs.values(), key=last_decision)
        article = articles[article_id]
        if any(e["event_id"] not in decisions for e in chosen):
            partial.append(article["file_name"])
            continue
        gold_events = [g for e in chosen if (g := _reviewed_event(e, decisions[e["event_id"]])) is not None]
        doc = {
            "article": article["file_name"],
            "published": _json_value(article["published"]),
            "reviewed_from": {"run_id": chosen[0]["run_id"], "article_id": article_id},
            "events": gold_events,
        }
        path = out / (Path(article["file_name"]).stem + ".json")
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return GoldWritten(written=written, partial=partial)
