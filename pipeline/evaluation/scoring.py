"""Score predicted conflict events against gold annotations (CODEBOOK.md, "Scoring").

Inputs
------
* Gold: one JSON file per article (``evals/gold/*.json``) with ``article``,
  ``published`` and ``events``. Every gold event carries ``required`` and may
  hold ``{"any_of": [...]}`` in any field, including the nested actor ``name`` /
  ``actor_type`` and a whole actor (``actor2: {"any_of": [{...}, null]}``).
  ``any_of`` means: any alternative counts as right.
* Predictions: plain dicts with the codebook field names (pydantic models are
  accepted and dumped to JSON-mode dicts; ``datetime.date`` values become ISO
  strings).

1. Matching (per article)
-------------------------
Every (gold, prediction) pair gets a *pair score* in [0, 1]::

    pair = 0.30 * T + 0.25 * D + 0.20 * P + 0.25 * A

* ``T`` event_type is right (1/0);
* ``D`` 1 when event_date is right (see the date rule below), 0.5 when it
  misses the accepted window by at most 7 days, else 0;
* ``P`` 0.5 * (admin1 right) + 0.5 * (location right);
* ``A`` actor overlap: the best, over the gold ``any_of`` combinations, of
  |gold names ∩ predicted names| / max(|gold names|, |predicted names|) on
  the {actor1, actor2} multisets (alias-normalised); 0.25 when the only
  overlap is between a main actor on one side and an associated actor on the
  other.

A pair is admissible when ``pair >= MATCH_THRESHOLD`` (0.60). So the right
type and date plus overlapping actors or a matching region is enough
(0.30 + 0.25 + >= 0.1), the right type and date alone is not (0.55), and a
wrong type needs date, place and actors (0.70). Among admissible pairs an
optimal one-to-one assignment maximises
``pair + 0.02 * required + 0.01 * (share of the 8 fields that agree)``
(``scipy.optimize.linear_sum_assignment``): the required bonus makes a
prediction that fits a required and an optional gold event equally well go to
the required one; the agreement term only breaks near-ties in favour of the
pairing with more correct fields. Rows/columns without any admissible pair are
removed before the assignment, so adding an unrelated prediction can never
change the other matches.

2. Event precision / recall / F1
--------------------------------
* TP = predictions matched to a *required* gold event;
* predictions matched to an *optional* (``required: false``) gold event are
  neither TP nor FP (``matched_optional``);
* FP = unmatched predictions; FN = unmatched required gold events.
* P = TP / (TP + FP), R = TP / (TP + FN), F1 = harmonic mean.
* Zero denominators: the value is 1.0 when there was nothing to find and
  nothing was claimed (no required gold event and no counted prediction,
  e.g. an empty article with no output), otherwise 0.0. So "no gold, one
  prediction" gives P = 0 (F1 = 0).
* Run totals are micro-averages: counts are summed over articles first. An
  article present in the gold but absent from the predictions counts as zero
  predictions; predicted articles without gold are listed in
  ``RunScore.unscored_articles`` and not scored.

3. Field accuracy (matched required pairs only)
-----------------------------------------------
``FIELDS`` = event_type, sub_event_type, event_date, admin1, location,
actors, fatalities, civilian_targeting. Accuracy = correct / TP.

* event_type, sub_event_type, civilian_targeting: equal to an alternative.
* event_date: the predicted date lies in the window of some gold alternative:
  time_precision 1 -> the exact day; 2 -> +/- 7 days; 3 -> the same calendar
  month or +/- 31 days; and always inside ``[event_date, event_end_date]``
  when the gold gives an end date.
* admin1 / location: both null, or names equal after ``place_key``
  normalisation (see its docstring: unidecode + casefold, Arabic article and
  punctuation stripping, generic words like "Province"/"Oblast"/"City of"
  dropped, transliteration digraphs ee->i, oo/ou->u, ei/ai/ey->ay, doubled
  letters collapsed, word-final -ah/-eh -> -a), or equal consonant skeletons
  (``place_skeleton``, >= 3 consonants, or 2 with a fuzzy ratio >= 70), or a
  rapidfuzz ratio >= 85 on the normalised keys. A location is also right when
  both sides carry latitude/longitude within 10 km of each other.
* actors: the {actor1.name, actor2.name} multiset (order free; a null actor2
  contributes nothing) equals one gold combination after every name is mapped
  to its canonical form through the alias table ``evals/aliases.json``
  (canonical name -> aliases; matching is case-, accent- and
  punctuation-insensitive and ignores a leading "the" and parenthetical
  qualifiers such as "(Syria)").
* fatalities: exact equality with an alternative; the absolute error (to the
  closest alternative, a missing value counting as 0) feeds the mean absolute
  error ``fatalities_mae``.

4. Slot F1 (the headline number)
--------------------------------
Every one of the 8 fields of every required gold event is a slot.

* slot recall    = correct slots on matched required pairs / (8 * required gold events)
* slot precision = correct slots / (8 * predictions not matched to an optional gold event)
                 = correct slots / (8 * (TP + FP))
* slot F1        = harmonic mean of the two (same zero-denominator rule as above).

A missed event costs 8 slots of recall, a spurious event 8 slots of
precision, a matched event with 2 wrong fields costs 2 of each.

5. Grounding rate
-----------------
Share of evidence spans (over all predictions, all articles with text) found
verbatim in the article text after normalising quote marks (curly/angled
quotes and primes -> straight ' or ") and whitespace (every run -> one space,
ends stripped). Empty spans count as not grounded. ``None`` when no span was
checked.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import product
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from pipeline.evaluation.gold import alternatives, dedupe, first_alternative, load_gold
from pipeline.geo.place_names import place_key, place_skeleton, places_equivalent
from pipeline.merge.aliases import AliasTable, actor_key, default_aliases
from schemas.grounding import normalise_for_match

__all__ = [
    "FIELDS",
    "MATCH_THRESHOLD",
    "AliasTable",
    "ArticleScore",
    "FieldResult",
    "MatchedPair",
    "RunScore",
    "default_aliases",
    "load_gold",
    "pair_score",
    "place_key",
    "place_skeleton",
    "places_equivalent",
    "actor_key",
    "alternatives",
    "first_alternative",
    "normalise_for_grounding",
    "score_article",
    "score_run",
]

FIELDS: tuple[str, ...] = (
    "event_type",
    "sub_event_type",
    "event_date",
    "admin1",
    "location",
    "actors",
    "fatalities",
    "civilian_targeting",
)
N_SLOTS = len(FIELDS)

W_TYPE, W_DATE, W_PLACE, W_ACTORS = 0.30, 0.25, 0.20, 0.25
MATCH_THRESHOLD = 0.60
REQUIRED_BONUS = 0.02
AGREEMENT_BONUS = 0.01
DATE_NEAR_DAYS = 7
GEO_TOLERANCE_KM = 10.0


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _place_field_ok(gold_value: Any, pred_value: Any) -> bool:
    for alt in alternatives(gold_value):
        if _blank(alt) and _blank(pred_value):
            return True
        if not _blank(alt) and not _blank(pred_value) and places_equivalent(alt, pred_value):
            return True
    return False


def _coords_within(gold: dict, pred: dict) -> bool:
    if _blank(pred.get("location")) or all(_blank(a) for a in alternatives(gold.get("location"))):
        return False
    plat, plon = _as_float(pred.get("latitude")), _as_float(pred.get("longitude"))
    if plat is None or plon is None:
        return False
    for glat_v, glon_v in product(alternatives(gold.get("latitude")), alternatives(gold.get("longitude"))):
        glat, glon = _as_float(glat_v), _as_float(glon_v)
        if glat is not None and glon is not None and _haversine_km(glat, glon, plat, plon) <= GEO_TOLERANCE_KM:
            return True
    return False


# --------------------------------------------------------------------------- dates


def _parse_date(v: Any) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str) and len(v) >= 10:
        try:
            return date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _month_bounds(d: date) -> tuple[date, date]:
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _date_windows(gold: dict) -> list[tuple[date, date, str]]:
    """Accepted [lo, hi] windows for the gold event_date, one per alternative combination."""
    windows = []
    for start_v, end_v, prec_v in product(
        alternatives(gold.get("event_date")),
        alternatives(gold.get("event_end_date")),
        alternatives(gold.get("time_precision")),
    ):
        start = _parse_date(start_v)
        if start is None:
            continue
        try:
            prec = int(prec_v) if prec_v is not None else 1
        except (TypeError, ValueError):
            prec = 1
        if prec >= 3:
            m_lo, m_hi = _month_bounds(start)
            lo, hi = min(m_lo, start - timedelta(days=31)), max(m_hi, start + timedelta(days=31))
            label = "same month or ±31 days"
        elif prec == 2:
            lo, hi = start - timedelta(days=7), start + timedelta(days=7)
            label = "±7 days"
        else:
            lo = hi = start
            label = "exact day"
        end = _parse_date(end_v)
        if end is not None and end >= start:
            hi = max(hi, end)
            label += f", span to {end.isoformat()}"
        windows.append((lo, hi, label))
    return windows


def _date_distance(gold: dict, pred_date: Any) -> tuple[int | None, str]:
    """Days by which the predicted date misses the closest accepted window (0 = right)."""
    d = _parse_date(pred_date)
    windows = _date_windows(gold)
    if d is None or not windows:
        return None, windows[0][2] if windows else ""
    best: tuple[int, str] | None = None
    for lo, hi, label in windows:
        dist = 0 if lo <= d <= hi else min(abs((d - lo).days), abs((d - hi).days))
        if best is None or dist < best[0]:
            best = (dist, label)
    assert best is not None
    return best


# --------------------------------------------------------------------------- actors


def _actor_names(actor: Any) -> list[str | None]:
    """All accepted names for an actor slot (``None`` = the slot may be empty)."""
    out: list[str | None] = []
    for alt in alternatives(actor):
        if alt is None:
            out.append(None)
        elif isinstance(alt, str):
            out.append(alt or None)
        elif isinstance(alt, dict):
            out.extend(n if isinstance(n, str) and n.strip() else None for n in alternatives(alt.get("name")))
    return dedupe(out) or [None]


def _pred_actor_name(actor: Any) -> str | None:
    if isinstance(actor, dict):
        name = actor.get("name")
    else:
        name = actor
    return name if isinstance(name, str) and name.strip() else None


def _gold_actor_sets(gold: dict, aliases: AliasTable) -> list[tuple[str, ...]]:
    sets = []
    for n1, n2 in product(_actor_names(gold.get("actor1")), _actor_names(gold.get("actor2"))):
        sets.append(tuple(sorted(aliases.canonical(n) for n in (n1, n2) if n)))
    return dedupe(sets)


def _pred_actor_set(pred: dict, aliases: AliasTable) -> tuple[str, ...]:
    names = [_pred_actor_name(pred.get("actor1")), _pred_actor_name(pred.get("actor2"))]
    return tuple(sorted(aliases.canonical(n) for n in names if n))


def _multiset_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    rest = list(b)
    common = 0
    for x in a:
        if x in rest:
            rest.remove(x)
            common += 1
    return common / max(len(a), len(b))


def _assoc_keys(values: Any, aliases: AliasTable) -> set[str]:
    keys: set[str] = set()
    for v in values if isinstance(values, list) else alternatives(values):
        for alt in alternatives(v):
            name = _pred_actor_name(alt)
            if name:
                keys.add(aliases.canonical(name))
    return keys


def _actor_overlap(
    gold: dict, pred: dict, gold_sets: list[tuple[str, ...]], pred_set: tuple[str, ...], aliases: AliasTable
) -> float:
    best = max((_multiset_overlap(g, pred_set) for g in gold_sets), default=0.0)
    if best > 0:
        return best
    gold_main = {k for g in gold_sets for k in g}
    gold_assoc = _assoc_keys(gold.get("assoc_actors_1"), aliases) | _assoc_keys(gold.get("assoc_actors_2"), aliases)
    pred_assoc = _assoc_keys(pred.get("assoc_actors_1"), aliases) | _assoc_keys(pred.get("assoc_actors_2"), aliases)
    if set(pred_set) & gold_assoc or pred_assoc & gold_main:
        return 0.25
    return 0.0


def _actor_display(actor: Any) -> Any:
    """Gold actor slot for display: a name, None, or {"any_of": [names]}."""
    names = _actor_names(actor)
    return names[0] if len(names) == 1 else {"any_of": names}


# --------------------------------------------------------------------------- other fields


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) and f == int(f) else None


def _as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in {"true", "false"}:
        return v.strip().lower() == "true"
    return None


def _equal_str(gold_value: Any, pred_value: Any) -> bool:
    if not isinstance(pred_value, str):
        return any(alt is None for alt in alternatives(gold_value)) and pred_value is None
    p = pred_value.strip().casefold()
    return any(isinstance(alt, str) and alt.strip().casefold() == p for alt in alternatives(gold_value))


# --------------------------------------------------------------------------- results


@dataclass
class FieldResult:
    correct: bool
    gold: Any
    pred: Any
    detail: str | None = None


@dataclass
class MatchedPair:
    gold_index: int
    pred_index: int
    required: bool
    score: float
    fields: dict[str, FieldResult]
    fatalities_abs_error: int
    evidence: list[str]
    gold_evidence: list[str]
    pred_notes: str
    gold_notes: str

    @property
    def n_correct(self) -> int:
        return sum(r.correct for r in self.fields.values())


@dataclass
class _PairEval:
    fields: dict[str, FieldResult]
    fatalities_abs_error: int
    score: float


def _compare(gold: dict, pred: dict, aliases: AliasTable) -> _PairEval:
    res: dict[str, FieldResult] = {}

    for f in ("event_type", "sub_event_type"):
        res[f] = FieldResult(_equal_str(gold.get(f), pred.get(f)), gold.get(f), pred.get(f))

    dist, label = _date_distance(gold, pred.get("event_date"))
    detail = label if dist in (0, None) else f"{label}; off by {dist} day{'s' if dist != 1 else ''}"
    res["event_date"] = FieldResult(dist == 0, gold.get("event_date"), pred.get("event_date"), detail)

    res["admin1"] = FieldResult(
        _place_field_ok(gold.get("admin1"), pred.get("admin1")), gold.get("admin1"), pred.get("admin1")
    )
    loc_ok = _place_field_ok(gold.get("location"), pred.get("location"))
    loc_detail = None
    if not loc_ok and _coords_within(gold, pred):
        loc_ok, loc_detail = True, f"within {GEO_TOLERANCE_KM:g} km"
    res["location"] = FieldResult(loc_ok, gold.get("location"), pred.get("location"), loc_detail)

    gold_sets = _gold_actor_sets(gold, aliases)
    pred_set = _pred_actor_set(pred, aliases)
    res["actors"] = FieldResult(
        pred_set in gold_sets,
        [_actor_display(gold.get("actor1")), _actor_display(gold.get("actor2"))],
        [_pred_actor_name(pred.get("actor1")), _pred_actor_name(pred.get("actor2"))],
    )

    pf = _as_int(pred.get("fatalities"))
    gold_f = [g for g in (_as_int(a) for a in alternatives(gold.get("fatalities"))) if g is not None] or [0]
    err = min(abs((pf or 0) - g) for g in gold_f)
    res["fatalities"] = FieldResult(
        pf is not None and pf in gold_f,
        gold.get("fatalities"),
        pred.get("fatalities"),
        None if pf is not None and pf in gold_f else f"off by {err}",
    )

    pc = _as_bool(pred.get("civilian_targeting"))
    res["civilian_targeting"] = FieldResult(
        pc is not None and any(_as_bool(a) == pc for a in alternatives(gold.get("civilian_targeting"))),
        gold.get("civilian_targeting"),
        pred.get("civilian_targeting"),
    )

    t = 1.0 if res["event_type"].correct else 0.0
    d = 1.0 if dist == 0 else (0.5 if dist is not None and dist <= DATE_NEAR_DAYS else 0.0)
    p = 0.5 * res["admin1"].correct + 0.5 * res["location"].correct
    a = _actor_overlap(gold, pred, gold_sets, pred_set, aliases)
    score = W_TYPE * t + W_DATE * d + W_PLACE * p + W_ACTORS * a
    return _PairEval(res, err, round(score, 6))


def pair_score(gold: dict, pred: dict, aliases: AliasTable | None = None) -> float:
    """The matching score of one gold event and one predicted event (see module docstring)."""
    return _compare(gold, _as_plain(pred), aliases or default_aliases()).score


def _ratio(num: float, den: float, empty: bool) -> float:
    if den:
        return num / den
    return 1.0 if empty else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (datetime, date)):
        return v.isoformat()[:10]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _as_plain(event: Any) -> dict:
    if hasattr(event, "model_dump"):
        event = event.model_dump(mode="json")
    elif not isinstance(event, dict):
        raise TypeError(f"predicted event must be a dict or a pydantic model, got {type(event).__name__}")
    return _jsonable(event)


@dataclass
class ArticleScore:
    article: str
    n_gold: int
    n_required: int
    n_optional: int
    n_pred: int
    tp: int
    fp: int
    fn: int
    matched_optional: int
    precision: float
    recall: float
    f1: float
    field_correct: dict[str, int]
    slot_correct: int
    slot_gold: int
    slot_pred: int
    slot_precision: float
    slot_recall: float
    slot_f1: float
    fatalities_abs_errors: list[int]
    evidence_total: int
    evidence_grounded: int
    grounding_rate: float | None
    ungrounded_evidence: list[dict]
    matches: list[MatchedPair]
    missed: list[dict]
    spurious: list[dict]

    @property
    def field_accuracy(self) -> dict[str, float | None]:
        return {f: (self.field_correct[f] / self.tp if self.tp else None) for f in FIELDS}

    @property
    def fatalities_mae(self) -> float | None:
        errs = self.fatalities_abs_errors
        return sum(errs) / len(errs) if errs else None

    def to_dict(self) -> dict:
        d = _jsonable(asdict(self))
        d["field_accuracy"] = self.field_accuracy
        d["fatalities_mae"] = self.fatalities_mae
        return d


@dataclass
class RunScore:
    n_articles: int
    n_gold: int
    n_required: int
    n_pred: int
    tp: int
    fp: int
    fn: int
    matched_optional: int
    precision: float
    recall: float
    f1: float
    field_correct: dict[str, int]
    field_accuracy: dict[str, float | None]
    fatalities_mae: float | None
    slot_correct: int
    slot_gold: int
    slot_pred: int
    slot_precision: float
    slot_recall: float
    slot_f1: float
    evidence_total: int
    evidence_grounded: int
    grounding_rate: float | None
    articles: dict[str, ArticleScore] = field(default_factory=dict)
    unscored_articles: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: _jsonable(getattr(self, k)) for k in self.__dataclass_fields__ if k != "articles"}
        d["fields"] = list(FIELDS)
        d["articles"] = {name: a.to_dict() for name, a in self.articles.items()}
        return d


# --------------------------------------------------------------------------- grounding


def normalise_for_grounding(text: str) -> str:
    """The codebook's grounding normal form: the same function the evidence validator uses."""
    return normalise_for_match(text)


def score_article(
    gold: dict, predicted: list[dict] | None, text: str | None, *, aliases: AliasTable | None = None
) -> ArticleScore:
    """Score the predictions for one article against its gold file (see module docstring)."""
    aliases = aliases or default_aliases()
    gold_events: list[dict] = list(gold.get("events") or [])
    preds = [_as_plain(p) for p in (predicted or [])]
    required = [bool(g.get("required", True)) for g in gold_events]
    n_g, n_p = len(gold_events), len(preds)

    evals: dict[tuple[int, int], _PairEval] = {}
    weights = np.zeros((n_g, n_p))
    admissible = np.zeros((n_g, n_p), dtype=bool)
    for i, g in enumerate(gold_events):
        for j, p in enumerate(preds):
            ev = _compare(g, p, aliases)
            evals[(i, j)] = ev
            if ev.score >= MATCH_THRESHOLD - 1e-9:
                admissible[i, j] = True
                agree = sum(r.correct for r in ev.fields.values()) / N_SLOTS
                weights[i, j] = ev.score + REQUIRED_BONUS * required[i] + AGREEMENT_BONUS * agree

    pairs: list[tuple[int, int]] = []
    rows = [i for i in range(n_g) if admissible[i].any()]
    cols = [j for j in range(n_p) if admissible[:, j].any()]
    if rows and cols:
        sub = weights[np.ix_(rows, cols)]
        r_idx, c_idx = linear_sum_assignment(sub, maximize=True)
        for r, c in zip(r_idx, c_idx, strict=True):
            i, j = rows[r], cols[c]
            if admissible[i, j]:
                pairs.append((i, j))
    pairs.sort()

    matches: list[MatchedPair] = []
    for i, j in pairs:
        ev = evals[(i, j)]
        g, p = gold_events[i], preds[j]
        matches.append(
            MatchedPair(
                gold_index=i,
                pred_index=j,
                required=required[i],
                score=ev.score,
                fields=ev.fields,
                fatalities_abs_error=ev.fatalities_abs_error,
                evidence=[s for s in (p.get("evidence") or []) if isinstance(s, str)],
                gold_evidence=[s for s in (g.get("evidence") or []) if isinstance(s, str)],
                pred_notes=p.get("notes") or "",
                gold_notes=g.get("notes") or "",
            )
        )

    matched_gold = {m.gold_index for m in matches}
    matched_pred = {m.pred_index for m in matches}
    tp_pairs = [m for m in matches if m.required]
    tp = len(tp_pairs)
    matched_optional = len(matches) - tp
    n_required = sum(required)
    fp = n_p - len(matches)
    fn = n_required - tp
    empty = n_required == 0 and tp + fp == 0

    precision = _ratio(tp, tp + fp, empty)
    recall = _ratio(tp, tp + fn, empty)
    field_correct = {f: sum(m.fields[f].correct for m in tp_pairs) for f in FIELDS}
    slot_correct = sum(field_correct.values())
    slot_gold = N_SLOTS * n_required
    slot_pred = N_SLOTS * (tp + fp)
    slot_precision = _ratio(slot_correct, slot_pred, empty)
    slot_recall = _ratio(slot_correct, slot_gold, empty)

    missed = [{"gold_index": i, "event": gold_events[i]} for i in range(n_g) if required[i] and i not in matched_gold]
    spurious = []
    for j in range(n_p):
        if j in matched_pred:
            continue
        best_i, best_s = None, 0.0
        for i in range(n_g):
            if evals[(i, j)].score > best_s:
                best_i, best_s = i, evals[(i, j)].score
        spurious.append(
            {"pred_index": j, "event": preds[j], "nearest_gold_index": best_i, "nearest_gold_score": best_s}
        )

    evidence_total = evidence_grounded = 0
    ungrounded: list[dict] = []
    if text is not None:
        norm_text = normalise_for_grounding(text)
        for j, p in enumerate(preds):
            for span in p.get("evidence") or []:
                evidence_total += 1
                s = normalise_for_grounding(span) if isinstance(span, str) else ""
                if s and s in norm_text:
                    evidence_grounded += 1
                else:
                    ungrounded.append({"pred_index": j, "span": span})

    return ArticleScore(
        article=gold.get("article", ""),
        n_gold=n_g,
        n_required=n_required,
        n_optional=n_g - n_required,
        n_pred=n_p,
        tp=tp,
        fp=fp,
        fn=fn,
        matched_optional=matched_optional,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        field_correct=field_correct,
        slot_correct=slot_correct,
        slot_gold=slot_gold,
        slot_pred=slot_pred,
        slot_precision=slot_precision,
        slot_recall=slot_recall,
        slot_f1=_f1(slot_precision, slot_recall),
        fatalities_abs_errors=[m.fatalities_abs_error for m in tp_pairs],
        evidence_total=evidence_total,
        evidence_grounded=evidence_grounded,
        grounding_rate=(evidence_grounded / evidence_total) if evidence_total else None,
        ungrounded_evidence=ungrounded,
        matches=matches,
        missed=missed,
        spurious=spurious,
    )


def score_run(
    gold_by_article: dict[str, dict],
    predicted_by_article: dict[str, list[dict]],
    texts: dict[str, str] | None,
    *,
    aliases: AliasTable | None = None,
) -> RunScore:
    """Score a whole run: micro-averaged over the gold articles (see module docstring)."""
    aliases = aliases or default_aliases()
    texts = texts or {}
    articles: dict[str, ArticleScore] = {}
    for name in sorted(gold_by_article):
        gold = dict(gold_by_article[name])
        gold.setdefault("article", name)
        articles[name] = score_article(gold, predicted_by_article.get(name) or [], texts.get(name), aliases=aliases)

    scores = list(articles.values())
    tp = sum(a.tp for a in scores)
    fp = sum(a.fp for a in scores)
    fn = sum(a.fn for a in scores)
    n_required = sum(a.n_required for a in scores)
    empty = n_required == 0 and tp + fp == 0
    precision, recall = _ratio(tp, tp + fp, empty), _ratio(tp, tp + fn, empty)
    field_correct = {f: sum(a.field_correct[f] for a in scores) for f in FIELDS}
    slot_correct = sum(field_correct.values())
    slot_gold = N_SLOTS * n_required
    slot_pred = N_SLOTS * (tp + fp)
    slot_precision = _ratio(slot_correct, slot_pred, empty)
    slot_recall = _ratio(slot_correct, slot_gold, empty)
    errors = [e for a in scores for e in a.fatalities_abs_errors]
    ev_total = sum(a.evidence_total for a in scores)
    ev_grounded = sum(a.evidence_grounded for a in scores)

    return RunScore(
        n_articles=len(scores),
        n_gold=sum(a.n_gold for a in scores),
        n_required=n_required,
        n_pred=sum(a.n_pred for a in scores),
        tp=tp,
        fp=fp,
        fn=fn,
        matched_optional=sum(a.matched_optional for a in scores),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        field_correct=field_correct,
        field_accuracy={f: (field_correct[f] / tp if tp else None) for f in FIELDS},
        fatalities_mae=(sum(errors) / len(errors)) if errors else None,
        slot_correct=slot_correct,
        slot_gold=slot_gold,
        slot_pred=slot_pred,
        slot_precision=slot_precision,
        slot_recall=slot_recall,
        slot_f1=_f1(slot_precision, slot_recall),
        evidence_total=ev_total,
        evidence_grounded=ev_grounded,
        grounding_rate=(ev_grounded / ev_total) if ev_total else None,
        articles=articles,
        unscored_articles=sorted(set(predicted_by_article) - set(gold_by_article)),
    )
