import json
from datetime import date

import pytest
from pydantic import ValidationError

from schemas import SUB_EVENT_TYPES, ArticleEvents, ConflictEvent
from schemas.grounding import find_span
from tests.conftest import ROOT

TEXT = (ROOT / "seeds" / "000_29c54237869ccf3a.txt").read_text()
CTX = {"text": TEXT, "published": date(2019, 8, 27)}


def gold_event(**changes):
    gold = json.loads((ROOT / "evals" / "gold" / "000_29c54237869ccf3a.json").read_text())
    event = {k: v for k, v in gold["events"][0].items() if k != "required"}
    event.update(changes)
    return event


def test_gold_event_validates_and_has_offsets():
    event = ConflictEvent.model_validate(gold_event(), context=CTX)
    for start, end in event.evidence_offsets(TEXT):
        assert TEXT[start:end].startswith(("Violent clashes", "The clashes"))


def test_sub_type_must_belong_to_type():
    with pytest.raises(ValidationError, match="belongs to event_type"):
        ConflictEvent.model_validate(gold_event(sub_event_type="Air/drone strike"), context=CTX)


def test_every_sub_type_validates_with_its_type():
    for etype, subs in SUB_EVENT_TYPES.items():
        for sub in subs:
            ConflictEvent.model_validate(gold_event(event_type=etype.value, sub_event_type=sub.value), context=CTX)


def test_date_after_publication_rejected_but_one_day_slack():
    ConflictEvent.model_validate(gold_event(event_date="2019-08-28"), context=CTX)
    with pytest.raises(ValidationError, match="after the article's publication date"):
        ConflictEvent.model_validate(gold_event(event_date="2019-08-29"), context=CTX)


def test_negative_fatalities_rejected():
    with pytest.raises(ValidationError):
        ConflictEvent.model_validate(gold_event(fatalities=-1), context=CTX)


def test_evidence_must_be_in_text():
    with pytest.raises(ValidationError, match="copied exactly"):
        ConflictEvent.model_validate(gold_event(evidence=["Rebels shot down a Russian jet over Idlib"]), context=CTX)


def test_grounding_tolerates_quotes_and_whitespace_only():
    assert find_span("He said “serious  concern” over\nIdlib.", '"serious concern" over Idlib') is not None
    assert find_span("He said serious concern.", "He said grave concern") is None


def test_lists_and_strings_are_bounded_in_the_schema():
    schema = json.dumps(ArticleEvents.model_json_schema())
    assert '"maxItems": 12' in schema and '"maxItems": 3' in schema and '"maxLength": 400' in schema
    assert "latitude" not in schema  # the model never fills coordinates
    assert "\\\\d" not in schema  # grammar converters choke on \d; patterns use [0-9]
