"""Tests for pipeline/evaluation/scoring.py (the scorer). Offline, deterministic, fast."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipeline.evaluation.gold import first_alternative, load_gold
from pipeline.evaluation.scoring import (
    FIELDS,
    MATCH_THRESHOLD,
    AliasTable,
    default_aliases,
    pair_score,
    score_article,
    score_run,
)
from pipeline.geo.place_names import places_equivalent

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIR = ROOT / "evals" / "gold"
ARTICLES_DIR = ROOT / "evals" / "articles"

TEXT = (
    "BEIRUT: Clashes east of the town of Khan Sheikhun killed 60 fighters on Tuesday, "
    "the Syrian Observatory for Human Rights said. “Violent clashes broke out at dawn,” "
    "Observatory chief Rami Abdel Rahman said.\n\nElsewhere, 10 civilians were killed\nin regime air strikes."
)


def ev(**kw) -> dict:
    """A complete predicted/gold event; keyword arguments override fields."""
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
        "source": "Syrian Observatory for Human Rights",
        "notes": "",
        "evidence": ["Clashes east of the town of Khan Sheikhun killed 60 fighters on Tuesday"],
    }
    base.update(kw)
    return base


def strike(**kw) -> dict:
    return ev(
        **{
            "event_type": "Explosions/Remote violence",
            "sub_event_type": "Air/drone strike",
            "actor1": {"name": "Military Forces of Syria", "actor_type": "state_forces"},
            "actor2": {"name": "Civilians", "actor_type": "civilians"},
            "location": None,
            "geo_precision": 3,
            "fatalities": 10,
            "civilian_targeting": True,
            "evidence": ["10 civilians were killed in regime air strikes"],
            **kw,
        }
    )


def gold_of(*events: dict, required: list[bool] | None = None, article: str = "a.txt") -> dict:
    evs = []
    for k, e in enumerate(events):
        g = copy.deepcopy(e)
        g["required"] = True if required is None else required[k]
        evs.append(g)
    return {"article": article, "published": "2019-08-27", "events": evs}


def as_prediction(gold_event: dict) -> dict:
    p = first_alternative(gold_event)
    p.pop("required", None)
    return p


# --------------------------------------------------------------------------- basic cases


def test_perfect_run():
    g = gold_of(ev(), strike())
    s = score_article(g, [ev(), strike()], TEXT)
    assert (s.tp, s.fp, s.fn) == (2, 0, 0)
    assert s.precision == s.recall == s.f1 == 1.0
    assert s.slot_precision == s.slot_recall == s.slot_f1 == 1.0
    assert all(v == 1.0 for v in s.field_accuracy.values())
    assert s.fatalities_mae == 0
    assert [(m.gold_index, m.pred_index) for m in s.matches] == [(0, 0), (1, 1)]


def test_prediction_order_does_not_matter():
    g = gold_of(ev(), strike())
    s = score_article(g, [strike(), ev()], TEXT)
    assert s.slot_f1 == 1.0
    assert sorted((m.gold_index, m.pred_index) for m in s.matches) == [(0, 1), (1, 0)]


def test_missing_event():
    g = gold_of(ev(), strike())
    s = score_article(g, [ev()], TEXT)
    assert (s.tp, s.fp, s.fn) == (1, 0, 1)
    assert s.precision == 1.0 and s.recall == 0.5
    assert s.f1 == pytest.approx(2 / 3)
    assert s.slot_recall == pytest.approx(8 / 16)
    assert s.slot_precision == 1.0
    assert [m["gold_index"] for m in s.missed] == [1]


def test_extra_event():
    g = gold_of(ev())
    unrelated = ev(
        event_type="Protests",
        sub_event_type="Peaceful protest",
        event_date="2019-07-01",
        actor1={"name": "Protesters", "actor_type": "protesters"},
        actor2=None,
        admin1="Damascus",
        location="Damascus",
        fatalities=0,
    )
    s = score_article(g, [ev(), unrelated], TEXT)
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert s.precision == 0.5 and s.recall == 1.0
    assert s.slot_precision == pytest.approx(8 / 16)
    assert s.slot_recall == 1.0
    assert [x["pred_index"] for x in s.spurious] == [1]


def test_wrong_fields_are_reported_side_by_side():
    g = gold_of(ev())
    s = score_article(g, [ev(fatalities=29, sub_event_type="Government regains territory")], TEXT)
    assert s.tp == 1
    m = s.matches[0]
    assert not m.fields["fatalities"].correct
    assert (m.fields["fatalities"].gold, m.fields["fatalities"].pred) == (60, 29)
    assert not m.fields["sub_event_type"].correct
    assert s.slot_correct == 6
    assert s.slot_precision == s.slot_recall == pytest.approx(6 / 8)
    assert s.fatalities_mae == 31
    assert m.evidence == ev()["evidence"]


def test_swapped_actor_order_is_right():
    g = gold_of(ev())
    p = ev(actor1=ev()["actor2"], actor2=ev()["actor1"])
    s = score_article(g, [p], TEXT)
    assert s.tp == 1 and s.matches[0].fields["actors"].correct


def test_actor_multiset_must_match():
    g = gold_of(ev())
    p = ev(actor2=None)
    s = score_article(g, [p], TEXT)
    assert s.tp == 1  # still the same event ...
    assert not s.matches[0].fields["actors"].correct  # ... with a missing actor


def test_any_of_alternatives():
    gold_event = ev(
        location={"any_of": ["Tal Maleh", "Jibine"]},
        fatalities={"any_of": [26, 18]},
        actor1={"name": {"any_of": ["Rebel groups", "Hayat Tahrir al-Sham"]}, "actor_type": "rebel_group"},
        actor2={"any_of": [{"name": "Military Forces of Syria", "actor_type": "state_forces"}, None]},
        admin1="Hama",
    )
    g = gold_of(gold_event)
    for pred in (
        ev(
            location="Jibine",
            fatalities=18,
            admin1="Hama",
            actor1={"name": "Hayat Tahrir al-Sham", "actor_type": "rebel_group"},
            actor2=None,
        ),
        ev(
            location="Tal Maleh",
            fatalities=26,
            admin1="Hama",
            actor1={"name": "Rebel groups", "actor_type": "rebel_group"},
        ),
    ):
        s = score_article(g, [pred], TEXT)
        assert s.slot_f1 == 1.0, s.to_dict()["matches"]
    s = score_article(
        g,
        [
            ev(
                location="Jibine",
                fatalities=20,
                admin1="Hama",
                actor1={"name": "Rebel groups", "actor_type": "rebel_group"},
            )
        ],
        TEXT,
    )
    assert not s.matches[0].fields["fatalities"].correct
    assert s.matches[0].fatalities_abs_error == 2  # distance to the closest alternative


def test_any_of_event_type_and_null_location():
    g = gold_of(
        ev(
            event_type={"any_of": ["Protests", "Riots"]},
            sub_event_type={"any_of": ["Protest with intervention", "Violent demonstration"]},
            location={"any_of": [None, "Khan Sheikhun"]},
        )
    )
    for loc in (None, "Khan Shaykhun"):
        s = score_article(g, [ev(event_type="Riots", sub_event_type="Violent demonstration", location=loc)], TEXT)
        assert s.slot_f1 == 1.0


# --------------------------------------------------------------------------- optional events


def _counts(s):
    return (s.tp, s.fp, s.fn, s.precision, s.recall, s.f1, s.slot_precision, s.slot_recall, s.slot_f1)


def test_optional_event_neither_rewarded_nor_punished():
    optional = strike(
        event_date="2019-08-26", location="Maarat al-Numan", fatalities=0, civilian_targeting=False, actor2=None
    )
    g = gold_of(ev(), optional, required=[True, False])
    with_opt = score_article(g, [ev(), copy.deepcopy(optional)], TEXT)
    without = score_article(g, [ev()], TEXT)
    assert with_opt.matched_optional == 1 and without.matched_optional == 0
    assert _counts(with_opt) == _counts(without)
    assert with_opt.slot_pred == 8 and with_opt.n_pred == 2
    # only the optional one predicted: the same as predicting nothing
    only_opt = score_article(g, [copy.deepcopy(optional)], TEXT)
    nothing = score_article(g, [], TEXT)
    assert _counts(only_opt) == _counts(nothing)
    assert only_opt.fn == 1 and only_opt.fp == 0


def test_required_preferred_over_equally_fitting_optional():
    e = ev()
    g = gold_of(e, copy.deepcopy(e), required=[False, True])
    s = score_article(g, [ev()], TEXT)
    assert s.tp == 1 and s.matched_optional == 0 and s.matches[0].gold_index == 1


def test_article_with_only_optional_gold():
    g = gold_of(strike(), required=[False])
    assert score_article(g, [], TEXT).f1 == 1.0
    assert score_article(g, [strike()], TEXT).f1 == 1.0  # matched to optional: not counted
    s = score_article(
        g,
        [
            ev(
                event_type="Protests",
                event_date="2018-01-01",
                actor1={"name": "Protesters"},
                actor2=None,
                admin1="Damascus",
                location="Damascus",
            )
        ],
        TEXT,
    )
    assert s.precision == 0.0 and s.fp == 1


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "precision,pred_date,right",
    [
        (1, "2019-08-27", True),
        (1, "2019-08-26", False),
        (2, "2019-08-22", True),
        (2, "2019-09-03", True),
        (2, "2019-09-04", False),
        (3, "2019-08-01", True),
        (3, "2019-09-20", True),
        (3, "2019-10-15", False),
    ],
)
def test_date_windows(precision, pred_date, right):
    g = gold_of(ev(time_precision=precision))
    s = score_article(g, [ev(event_date=pred_date)], TEXT)
    assert s.tp == 1  # a date slip alone does not unmatch the event
    assert s.matches[0].fields["event_date"].correct is right


def test_date_within_gold_span_and_any_of():
    g = gold_of(ev(event_date="2019-11-30", event_end_date="2019-12-01"))
    assert score_article(g, [ev(event_date="2019-12-01")], TEXT).field_correct["event_date"] == 1
    assert score_article(g, [ev(event_date="2019-12-02")], TEXT).field_correct["event_date"] == 0
    g = gold_of(ev(event_date={"any_of": ["2019-06-06", "2019-06-07"]}))
    assert score_article(g, [ev(event_date="2019-06-07")], TEXT).field_correct["event_date"] == 1


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "gold_name,pred_name",
    [
        ("Military Forces of Syria", "regime forces"),
        ("Military Forces of Syria", "Syrian army"),
        ("Military Forces of Syria", "pro-government forces"),
        ("Military Forces of Syria", "Military Forces of Syria (2000-2024)"),
        ("Hurras al-Din", "Hurras al-Deen"),
        ("Hayat Tahrir al-Sham", "HTS"),
        ("Hayat Tahrir al-Sham", "Hay'at Tahrir al-Sham"),
        ("Rebel groups", "jihadists"),
        ("Rebel groups", "opposition groups"),
        ("Civilians", "Civilians (Syria)"),
        ("Military Forces of Russia", "Russian warplanes"),
    ],
)
def test_alias_names(gold_name, pred_name):
    g = gold_of(ev(actor1={"name": gold_name, "actor_type": "rebel_group"}))
    s = score_article(g, [ev(actor1={"name": pred_name, "actor_type": "rebel_group"})], TEXT)
    assert s.matches[0].fields["actors"].correct


def test_distinct_actors_are_not_merged():
    aliases = default_aliases()
    assert aliases.canonical("Military Forces of Syria") != aliases.canonical("Military Forces of Russia")
    assert aliases.canonical("Hayat Tahrir al-Sham") != aliases.canonical("Hurras al-Din")
    assert aliases.canonical("Rebel groups") != aliases.canonical("Civilians")


def test_alias_table_is_valid_data():
    raw = json.loads((ROOT / "evals" / "aliases.json").read_text(encoding="utf-8"))
    table = AliasTable(raw)  # raises on an alias that belongs to two canonical names
    assert len(table) > 100
    for generic in (
        "Military Forces of Syria",
        "Military Forces of Russia",
        "Rebel groups",
        "Civilians",
        "Protesters",
        "Rioters",
        "Unidentified armed group",
    ):
        assert generic in raw
    with pytest.raises(ValueError):
        AliasTable({"A": ["x"], "B": ["X"]})


def test_alias_table_covers_gold_name_variants():
    """Every actor-name any_of list in the gold that mixes known names maps to one canonical
    name where the alternatives are spellings of one actor (spot checks)."""
    aliases = default_aliases()
    for same in (
        ["Renamo", "RENAMO", "Mozambican National Resistance"],
        ["al-Shabaab", "Al-Shabaab", "al-Shabab", "Al Shabaab"],
        ["Military Forces of Myanmar", "Myanmar military", "Tatmadaw", "Myanmar junta"],
        ["Syrian National Army", "SNA", "Turkish-backed factions"],
        ["Oromo Liberation Army", "OLA", "OLF-Shane", "OLF Shane"],
    ):
        assert len({aliases.canonical(n) for n in same}) == 1, same


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("Khan Sheikhun", "Khan Shaykhun", True),
        ("Maaret al-Noman", "Maarrat al-Numan", True),
        ("Kafranbel", "Kafr Nabl", True),
        ("As-Sanamayn", "Sanamein", True),
        ("Tell Rifaat", "Tal Rifat", True),
        ("Dar'a", "Deraa", True),
        ("Jibeen", "Jibine", True),
        ("Frikeh", "Furaykah", True),
        ("Sud-Kivu", "South Kivu", True),
        ("Zaporizhzhia Oblast", "Zaporizhzhia", True),
        ("Pátzcuaro", "Patzcuaro", True),
        ("Hama", "Homs", False),
        ("Idlib", "Aleppo", False),
        ("North Kivu", "South Kivu", False),
        ("East Ghouta", "West Ghouta", False),
        ("Tal Maleh", "Jibine", False),
    ],
)
def test_place_normalisation(a, b, same):
    assert places_equivalent(a, b) is same


def test_location_within_10km():
    g = gold_of(ev(location="Khan Sheikhun", latitude=35.4397, longitude=36.6508))
    near = ev(location="Tell Aas", latitude=35.48, longitude=36.62)  # ~5 km away
    far = ev(location="Tell Aas", latitude=35.93, longitude=36.63)  # ~55 km away
    assert score_article(g, [near], TEXT).field_correct["location"] == 1
    assert score_article(g, [far], TEXT).field_correct["location"] == 0


# --------------------------------------------------------------------------- matching


def test_pair_score_threshold():
    g = ev()
    # right type and date with only the region in common: matches
    assert (
        pair_score(g, ev(location="Saraqib", actor1={"name": "Rebel groups"}, actor2={"name": "Civilians"}))
        >= MATCH_THRESHOLD
    )
    # right type and date, overlapping actors, elsewhere: matches
    assert pair_score(g, ev(admin1="Hama", location="Kafr Zita", actor2={"name": "Rebel groups"})) >= MATCH_THRESHOLD
    # right type and date only: no
    assert (
        pair_score(
            g, ev(admin1="Hama", location="Kafr Zita", actor1={"name": "Rebel groups"}, actor2={"name": "Civilians"})
        )
        < MATCH_THRESHOLD
    )
    # unrelated event: no
    assert pair_score(g, strike(event_date="2019-06-01", admin1="Hama")) < MATCH_THRESHOLD


# --------------------------------------------------------------------------- empty articles & runs


def test_empty_article_no_predictions_is_perfect():
    s = score_article(gold_of(), [], TEXT)
    assert s.precision == s.recall == s.f1 == 1.0
    assert s.slot_f1 == 1.0
    assert s.grounding_rate is None


def test_empty_article_with_prediction_has_zero_precision():
    s = score_article(gold_of(), [ev()], TEXT)
    assert s.precision == 0.0 and s.f1 == 0.0 and s.fp == 1
    assert s.slot_precision == 0.0


def test_run_micro_average_and_missing_article():
    gold = {
        "a.txt": gold_of(ev(), strike(), article="a.txt"),
        "b.txt": gold_of(article="b.txt"),
        "c.txt": gold_of(ev(), article="c.txt"),
    }
    preds = {"a.txt": [ev(), strike()], "b.txt": [], "zzz.txt": [ev()]}  # c.txt missing entirely
    r = score_run(gold, preds, {"a.txt": TEXT})
    assert (r.tp, r.fp, r.fn) == (2, 0, 1)
    assert r.precision == 1.0 and r.recall == pytest.approx(2 / 3)
    assert r.articles["c.txt"].n_pred == 0 and r.articles["c.txt"].fn == 1
    assert r.articles["b.txt"].f1 == 1.0
    assert r.unscored_articles == ["zzz.txt"]
    assert r.slot_recall == pytest.approx(16 / 24) and r.slot_precision == 1.0
    d = r.to_dict()
    json.dumps(d)
    assert set(d["field_accuracy"]) == set(FIELDS)
    assert d["articles"]["a.txt"]["matches"][0]["fields"]["actors"]["correct"] is True


def test_run_with_no_gold_and_no_predictions():
    r = score_run({"b.txt": gold_of(article="b.txt")}, {}, {})
    assert r.f1 == 1.0 and r.slot_f1 == 1.0 and r.grounding_rate is None
    assert all(v is None for v in r.field_accuracy.values()) and r.fatalities_mae is None


def test_accepts_pydantic_models_and_date_objects():
    from datetime import date

    from pydantic import BaseModel

    class M(BaseModel):
        event_date: date
        event_type: str
        sub_event_type: str
        actor1: dict
        actor2: dict | None
        admin1: str | None
        location: str | None
        fatalities: int
        civilian_targeting: bool
        evidence: list[str]

    e = ev()
    m = M(**{k: e[k] for k in M.model_fields if k != "event_date"}, event_date=date(2019, 8, 27))
    s = score_article(gold_of(ev()), [m], TEXT)
    assert s.slot_f1 == 1.0
    json.dumps(s.to_dict())


# --------------------------------------------------------------------------- grounding


def test_grounding_normalises_quotes_and_whitespace():
    p = ev(
        evidence=[
            '"Violent clashes broke out at dawn," Observatory chief',  # straight vs curly quotes
            "10 civilians were killed in regime   air strikes",  # whitespace / newline differences
            "an invented sentence that is not in the article",
        ]
    )
    s = score_article(gold_of(ev()), [p], TEXT)
    assert (s.evidence_total, s.evidence_grounded) == (3, 2)
    assert s.grounding_rate == pytest.approx(2 / 3)
    assert s.ungrounded_evidence == [{"pred_index": 0, "span": "an invented sentence that is not in the article"}]


def test_grounding_none_without_spans_or_text():
    assert score_article(gold_of(ev()), [ev(evidence=[])], TEXT).grounding_rate is None
    assert score_article(gold_of(ev()), [ev()], None).grounding_rate is None
    r = score_run({"a.txt": gold_of(ev())}, {"a.txt": [ev(evidence=[])]}, {"a.txt": TEXT})
    assert r.grounding_rate is None


def test_empty_span_is_not_grounded():
    s = score_article(gold_of(ev()), [ev(evidence=["  "])], TEXT)
    assert s.grounding_rate == 0.0


# --------------------------------------------------------------------------- the real gold files


def test_gold_files_score_perfectly_against_themselves():
    gold = load_gold(GOLD_DIR)
    assert len(gold) == 21
    preds = {name: [as_prediction(e) for e in g["events"]] for name, g in gold.items()}
    texts = {name: (ARTICLES_DIR / name).read_text(encoding="utf-8") for name in gold}
    r = score_run(gold, preds, texts)
    assert r.f1 == 1.0 and r.precision == 1.0 and r.recall == 1.0
    assert r.slot_f1 == 1.0
    assert all(v == 1.0 for v in r.field_accuracy.values()), r.field_accuracy
    assert r.fatalities_mae == 0
    assert r.fp == 0 and r.fn == 0
    assert r.tp == sum(e["required"] for g in gold.values() for e in g["events"])
    assert r.grounding_rate == 1.0  # every gold evidence span occurs in its article
    json.dumps(r.to_dict())


def test_gold_required_events_only_also_perfect():
    gold = load_gold(GOLD_DIR)
    preds = {n: [as_prediction(e) for e in g["events"] if e["required"]] for n, g in gold.items()}
    r = score_run(gold, preds, {})
    assert r.f1 == 1.0 and r.slot_f1 == 1.0 and r.matched_optional == 0


# --------------------------------------------------------------------------- properties

TYPES = {
    "Battles": ["Armed clash", "Government regains territory"],
    "Explosions/Remote violence": ["Air/drone strike", "Shelling/artillery/missile attack"],
    "Violence against civilians": ["Attack", "Abduction/forced disappearance"],
}
ACTORS = [
    "Military Forces of Syria",
    "regime forces",
    "Rebel groups",
    "Hayat Tahrir al-Sham",
    "Civilians",
    "Military Forces of Russia",
    "Hurras al-Din",
    "Unidentified armed group",
]
PLACES = [
    ("Idlib", "Khan Sheikhun"),
    ("Idlib", "Maarat al-Numan"),
    ("Idlib", None),
    ("Hama", "Kafr Zita"),
    ("Hama", None),
    ("Latakia", "Kabani"),
    ("Aleppo", None),
]


def maybe_any_of(strategy, extra):
    return st.one_of(strategy, st.tuples(strategy, extra).map(lambda t: {"any_of": [t[0], t[1]]}))


@st.composite
def events(draw, required=None):
    etype = draw(st.sampled_from(sorted(TYPES)))
    admin1, location = draw(st.sampled_from(PLACES))
    actor2 = draw(st.one_of(st.none(), st.sampled_from(ACTORS).map(lambda n: {"name": n, "actor_type": "x"})))
    e = ev(
        event_date=f"2019-08-{draw(st.integers(1, 28)):02d}",
        time_precision=draw(st.sampled_from([1, 1, 2, 3])),
        event_type=etype,
        sub_event_type=draw(st.sampled_from(TYPES[etype])),
        actor1={"name": draw(maybe_any_of(st.sampled_from(ACTORS), st.sampled_from(ACTORS))), "actor_type": "x"},
        actor2=actor2,
        admin1=admin1,
        location=draw(maybe_any_of(st.just(location), st.sampled_from([None, "Saraqib"]))),
        fatalities=draw(maybe_any_of(st.integers(0, 40), st.integers(0, 40))),
        civilian_targeting=draw(st.booleans()),
        evidence=[],
    )
    e["required"] = draw(st.booleans()) if required is None else required
    return e


PROPS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@PROPS
@given(st.lists(events(), max_size=5))
def test_property_gold_against_itself_is_perfect(gold_events):
    g = {"article": "h.txt", "events": gold_events}
    s = score_article(g, [as_prediction(e) for e in gold_events], None)
    assert s.fp == 0 and s.fn == 0
    assert s.f1 == 1.0 and s.slot_f1 == 1.0
    assert all(v in (None, 1.0) for v in s.field_accuracy.values())
    assert s.fatalities_mae in (None, 0)


@PROPS
@given(st.lists(events(), max_size=4), st.lists(events(), max_size=4), events())
def test_property_spurious_event_never_raises_precision(gold_events, preds, extra):
    g = {"article": "h.txt", "events": gold_events}
    extra = as_prediction(extra)
    assume(all(pair_score(ge, extra) < MATCH_THRESHOLD for ge in gold_events))
    preds = [as_prediction(p) for p in preds]
    before = score_article(g, preds, None)
    after = score_article(g, preds + [extra], None)
    assert after.precision <= before.precision
    assert after.slot_precision <= before.slot_precision
    assert after.f1 <= before.f1
    assert after.fp == before.fp + 1
    assert (after.tp, after.fn) == (before.tp, before.fn)
