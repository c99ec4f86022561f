"""Property tests (hypothesis) for the codebook validators of schemas/events.py.

Each property states the rule of CODEBOOK.md and checks that the validator
accepts exactly what the rule allows: sub-type belongs to type, no date after
publication + 1 day, end not before start, fatalities in 0..100000, precision
codes 1..3, evidence grounded in the article (tolerant of whitespace and quote
marks only). The scorer's properties (gold against itself is perfect, a
spurious event never raises precision) live in tests/test_evaluate.py.

Deterministic: derandomize=True, modest example counts.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import EVENT_TYPE_OF, ArticleEvents, ConflictEvent, EventType, SubEventType
from schemas.events import MAX_EVIDENCE_SPANS, MAX_SPAN_CHARS, PUBLICATION_SLACK
from schemas.grounding import clean_quote, find_span, normalise_for_match

PROPS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

TEXT = (
    "Clashes east of Khan Sheikhun killed at least 29 regime forces and 31 rebels on Tuesday, "
    "the Syrian Observatory for Human Rights said. The presidents expressed \u201cserious concern\u201d."
)
PUBLISHED = date(2019, 8, 27)
BASE = {
    "event_date": "2019-08-27",
    "event_end_date": None,
    "time_precision": 1,
    "event_type": "Battles",
    "sub_event_type": "Armed clash",
    "actor1": {"name": "Military Forces of Syria", "actor_type": "state_forces"},
    "assoc_actors_1": [],
    "actor2": {"name": "Rebel groups", "actor_type": "rebel_group"},
    "assoc_actors_2": [],
    "country": "Syria",
    "admin1": "Idlib",
    "location": "Khan Sheikhun",
    "geo_precision": 2,
    "fatalities": 60,
    "civilian_targeting": False,
    "source": "SOHR",
    "notes": "",
    "evidence": ["Clashes east of Khan Sheikhun killed at least 29 regime forces"],
}


def event(**changes) -> dict:
    e = copy.deepcopy(BASE)
    e.update(changes)
    return e


def validates(data: dict, text: str = TEXT, published: date | str | None = PUBLISHED) -> bool:
    try:
        ConflictEvent.model_validate(data, context={"text": text, "published": published})
        return True
    except ValidationError:
        return False


def test_base_event_is_valid():
    assert validates(event())


# --------------------------------------------------------------------------- taxonomy


@PROPS
@given(st.sampled_from(list(EventType)), st.sampled_from(list(SubEventType)))
def test_sub_type_valid_exactly_with_its_own_type(etype, sub):
    ok = validates(event(event_type=etype.value, sub_event_type=sub.value))
    assert ok == (EVENT_TYPE_OF[sub] is etype)


@PROPS
@given(st.text(min_size=1, max_size=30))
def test_unknown_types_are_rejected(name):
    assume(name not in {t.value for t in EventType} | {s.value for s in SubEventType})
    assert not validates(event(event_type=name))
    assert not validates(event(sub_event_type=name))


# --------------------------------------------------------------------------- dates

DAYS = st.dates(min_value=date(2010, 1, 1), max_value=date(2030, 12, 31))


@PROPS
@given(DAYS, st.one_of(st.none(), DAYS), DAYS, st.booleans())
def test_dates_rule(start, end, published, as_string):
    latest = published + PUBLICATION_SLACK
    expected = start <= latest and (end is None or (start <= end <= latest))
    data = event(event_date=start.isoformat(), event_end_date=end.isoformat() if end else None)
    assert validates(data, published=published.isoformat() if as_string else published) == expected


@PROPS
@given(DAYS, DAYS)
def test_without_publication_date_only_the_span_order_is_checked(start, end):
    data = event(event_date=start.isoformat(), event_end_date=end.isoformat())
    assert validates(data, published=None) == (start <= end)


@PROPS
@given(st.integers(min_value=0, max_value=3))
def test_publication_slack_is_one_day(days_after):
    data = event(event_date=(PUBLISHED + timedelta(days=days_after)).isoformat())
    assert validates(data) == (days_after <= 1)


# --------------------------------------------------------------------------- numbers


@PROPS
@given(st.integers(min_value=-(10**7), max_value=10**7))
def test_fatalities_are_non_negative_and_bounded(n):
    assert validates(event(fatalities=n)) == (0 <= n <= 100_000)


@PROPS
@given(st.integers(min_value=-5, max_value=10), st.integers(min_value=-5, max_value=10))
def test_precision_codes_are_1_to_3(time_precision, geo_precision):
    expected = 1 <= time_precision <= 3 and 1 <= geo_precision <= 3
    assert validates(event(time_precision=time_precision, geo_precision=geo_precision)) == expected


# --------------------------------------------------------------------------- evidence grounding

WORDS = [
    "Clashes",
    "near",
    "Kafr",
    "Zita",
    "killed",
    "9",
    "fighters",
    "on",
    "Thursday,",
    "a",
    "monitor",
    "said.",
    "\u201cserious",
    "concern\u201d",
    "Ma\u2019arrat",
    "al-Numan",
    "(SOHR)",
    "rebels",
    "regime",
    "forces",
]
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", " \n "])


@st.composite
def article_and_span(draw):
    """An article made of WORDS with odd whitespace, and a run of its words as a model would quote it."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=40))
    seps = draw(st.lists(SEPARATORS, min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, seps, strict=True)).strip()
    i = draw(st.integers(0, len(words) - 1))
    j = draw(st.integers(i + 1, min(len(words), i + 25)))
    quote = " ".join(words[i:j])
    # Models straighten curly quotes and sometimes wrap the span in quote marks.
    if draw(st.booleans()):
        quote = quote.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    if draw(st.booleans()):
        quote = f'"{quote}"'
    return text, quote


@PROPS
@given(article_and_span())
def test_any_copied_span_is_grounded_and_offsets_point_at_it(case):
    text, quote = case
    assume(3 <= len(quote) <= MAX_SPAN_CHARS and clean_quote(quote))
    span = find_span(text, quote)
    assert span is not None
    start, end = span
    assert normalise_for_match(text[start:end]) == normalise_for_match(clean_quote(quote))
    assert validates(event(evidence=[quote]), text=text)


@PROPS
@given(article_and_span(), st.sampled_from(["Damascus", "500", "jets", "Israeli"]))
def test_a_span_with_a_word_not_in_the_article_is_rejected(case, intruder):
    text, quote = case
    words = quote.split()
    k = len(words) // 2
    altered = " ".join(words[:k] + [intruder] + words[k:])
    assume(len(altered) <= MAX_SPAN_CHARS)
    assert find_span(text, altered) is None
    with pytest.raises(ValidationError, match="copied exactly"):
        ConflictEvent.model_validate(event(evidence=[altered]), context={"text": text, "published": PUBLISHED})


@PROPS
@given(st.text(alphabet=" \t\n\"'\u201c\u201d\u2018\u2019.\u2026", min_size=3, max_size=20))
def test_a_span_of_only_quote_marks_dots_and_spaces_is_never_grounded(junk):
    assert not validates(event(evidence=[junk]), text=TEXT + ' "..." ' + junk)


@PROPS
@given(st.lists(st.just("Clashes east of Khan Sheikhun"), min_size=0, max_size=6))
def test_evidence_needs_one_to_three_spans(spans):
    assert validates(event(evidence=spans)) == (1 <= len(spans) <= MAX_EVIDENCE_SPANS)


@PROPS
@given(st.integers(min_value=0, max_value=MAX_SPAN_CHARS + 50))
def test_span_length_is_bounded(n):
    text = "x" * (MAX_SPAN_CHARS + 60)
    assert validates(event(evidence=["x" * n]), text=text) == (3 <= n <= MAX_SPAN_CHARS)


@PROPS
@given(st.text(min_size=0, max_size=120))
def test_without_context_evidence_is_cleaned_not_checked(quote):
    assume(3 <= len(quote) <= MAX_SPAN_CHARS and any(ch.isalnum() for ch in clean_quote(quote)))
    e = ConflictEvent.model_validate(event(evidence=[quote]))
    assert e.evidence == [clean_quote(quote)]


# --------------------------------------------------------------------------- round trips


@st.composite
def valid_events(draw):
    sub = draw(st.sampled_from(list(SubEventType)))
    start = draw(st.dates(min_value=date(2019, 1, 1), max_value=PUBLISHED))
    end = draw(st.one_of(st.none(), st.dates(min_value=start, max_value=PUBLISHED + PUBLICATION_SLACK)))
    return event(
        event_type=EVENT_TYPE_OF[sub].value,
        sub_event_type=sub.value,
        event_date=start.isoformat(),
        event_end_date=end.isoformat() if end else None,
        time_precision=draw(st.integers(1, 3)),
        geo_precision=draw(st.integers(1, 3)),
        fatalities=draw(st.integers(0, 100_000)),
        civilian_targeting=draw(st.booleans()),
        actor2=draw(st.one_of(st.none(), st.just({"name": "Civilians", "actor_type": "civilians"}))),
        evidence=draw(
            st.lists(
                st.sampled_from(
                    [
                        "Clashes east of Khan Sheikhun",
                        "31 rebels on Tuesday",
                        '"serious concern"',
                        "the Syrian Observatory for Human Rights said.",
                    ]
                ),
                min_size=1,
                max_size=3,
            )
        ),
    )


@PROPS
@given(st.lists(valid_events(), max_size=4))
def test_valid_events_survive_record_and_json_round_trips(events):
    ctx = {"text": TEXT, "published": PUBLISHED}
    parsed = ArticleEvents.model_validate({"events": events}, context=ctx)
    for e in parsed.events:
        assert ConflictEvent.model_validate(e.to_record(), context=ctx) == e
        assert all(offset is not None for offset in e.evidence_offsets(TEXT))
    assert ArticleEvents.model_validate_json(parsed.model_dump_json(), context=ctx) == parsed


@PROPS
@given(st.integers(min_value=0, max_value=20))
def test_at_most_twelve_events_per_article(n):
    ok = True
    try:
        ArticleEvents.model_validate({"events": [event()] * n}, context={"text": TEXT, "published": PUBLISHED})
    except ValidationError:
        ok = False
    assert ok == (n <= 12)
