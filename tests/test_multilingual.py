"""Non-English news: French, Spanish, Portuguese and Arabic articles with gold.

The codebook does not restrict the language of the source: an article in
French about a clash in Mali is coded like an English one, with evidence
copied from the original text (never a translation), the country in its
English short name and generic actor names in English.

Offline: the articles ingest as NFC text, the gold files are valid codebook
records that score perfectly against themselves, and the model is asked about
every article. With the `model` marker: the embedded model reads each article
and returns grounded events in the right country.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pytest

from pipeline.backends import get_backend
from pipeline.evaluation.gold import alternatives, first_alternative, load_gold
from pipeline.evaluation.scoring import score_run
from pipeline.extraction.article import extract_article
from pipeline.ingest import ingest
from pipeline.prompts import load_prompt
from schemas import ActorType, ConflictEvent
from schemas.grounding import find_span

DATA = Path(__file__).resolve().parent / "data" / "multilingual"
ARTICLES = DATA / "articles"
GOLD = DATA / "gold"
STEMS = ["fr1", "fr2", "es1", "es2", "pt1", "pt2", "ar1", "ar2"]

# The sentence of each language pair that gives a running total: never an event.
RUNNING_TOTALS = {
    "fr1": "Depuis le début de l’année, plus de 350 personnes",
    "es1": "En lo que va del año, la Defensoría ha documentado 38 secuestros",
    "pt1": "Desde o início do conflito, em Outubro de 2017",
    "ar1": "ومنذ بداية العام، قُتل أكثر من ألف مدني",
}

# Every field of a gold event: the codebook's ConflictEvent fields plus `required`.
GOLD_FIELDS = {"required", *ConflictEvent.model_fields}


@pytest.fixture(scope="module")
def articles():
    return {a.file_name: a for a in ingest(ARTICLES)}


@pytest.fixture(scope="module")
def gold():
    return load_gold(GOLD)


def as_predictions(gold_doc: dict) -> list[dict]:
    """Gold events as a model would give them: the first alternative of every any_of, no `required`."""
    return [first_alternative({k: v for k, v in e.items() if k != "required"}) for e in gold_doc["events"]]


def test_every_article_has_a_date_and_a_gold_file(gold):
    published = json.loads((ARTICLES / "published.json").read_text(encoding="utf-8"))
    assert sorted(p.stem for p in ARTICLES.glob("*.txt")) == sorted(STEMS)
    assert sorted(published) == sorted(f"{s}.txt" for s in STEMS)
    assert sorted(gold) == sorted(f"{s}.txt" for s in STEMS)
    for name, doc in gold.items():
        assert doc["published"] == published[name]
        assert any(e["required"] for e in doc["events"]), name


@pytest.mark.parametrize("stem", STEMS)
def test_article_ingests_as_nfc_text(stem, articles, tmp_path):
    article = articles[f"{stem}.txt"]
    assert article.ok, article.error
    raw = (ARTICLES / f"{stem}.txt").read_text(encoding="utf-8")
    assert article.text == unicodedata.normalize("NFC", raw).strip()
    assert unicodedata.is_normalized("NFC", article.text)
    assert str(article.published) == json.loads((ARTICLES / "published.json").read_text())[f"{stem}.txt"]

    # The same article saved decomposed (NFD, as some systems write accents and
    # Arabic marks) reads back as the same NFC text, hence the same article.
    folder = tmp_path / "nfd"
    folder.mkdir()
    (folder / f"{stem}.txt").write_text(unicodedata.normalize("NFD", raw), encoding="utf-8")
    shutil.copy(ARTICLES / "published.json", folder / "published.json")
    [again] = ingest(folder)
    assert again.ok, again.error
    assert again.text == article.text and again.article_id == article.article_id


@pytest.mark.parametrize("stem", STEMS)
def test_gold_events_are_valid_codebook_records(stem, articles, gold):
    article, doc = articles[f"{stem}.txt"], gold[f"{stem}.txt"]
    assert doc["article"] == f"{stem}.txt"
    for raw, event in zip(doc["events"], as_predictions(doc), strict=True):
        assert set(raw) == GOLD_FIELDS
        ConflictEvent.model_validate(event, context={"text": article.text, "published": article.published})
        for span in raw["evidence"]:
            assert span in article.text  # exact, in the original language
        for side in ("actor1", "actor2"):
            for actor in alternatives(raw[side]):
                if actor is not None:
                    assert all(ActorType(t) for t in alternatives(actor["actor_type"]))
        if stem in RUNNING_TOTALS:
            assert not any(span.startswith(RUNNING_TOTALS[stem]) for span in raw["evidence"])


def test_gold_scores_perfectly_against_itself(articles, gold):
    texts = {name: a.text for name, a in articles.items()}
    score = score_run(gold, {name: as_predictions(doc) for name, doc in gold.items()}, texts)
    assert score.slot_f1 == 1.0
    assert score.f1 == 1.0
    assert score.grounding_rate == 1.0
    assert score.fatalities_mae == 0.0
    assert score.n_required == sum(e["required"] for doc in gold.values() for e in doc["events"])


@pytest.mark.parametrize("stem", sorted(RUNNING_TOTALS))
def test_running_total_is_in_the_article(stem, articles):
    assert RUNNING_TOTALS[stem] in articles[f"{stem}.txt"].text


@pytest.mark.parametrize("stem", STEMS)
def test_model_is_asked_about_every_non_english_article(stem, articles):
    """The codebook codes an article in any language: the model must see it."""
    backend = get_backend("fake")
    result = extract_article(articles[f"{stem}.txt"], load_prompt("default"), backend, run_id="r")
    assert result.calls, f"{stem}: no model call was made"


# --------------------------------------------------------------------------- embedded model


@pytest.fixture(scope="module")
def local():
    return get_backend("local")


def _country_key(name: object) -> str:
    key = str(name or "").casefold().strip()
    return key.removeprefix("the ").strip()


def _summary(events: list[ConflictEvent]) -> str:
    return "\n".join(
        f"  {e.event_date} {e.sub_event_type} | {e.actor1.name} vs {e.actor2.name if e.actor2 else '-'} | "
        f"{e.country} / {e.admin1} / {e.location} | killed {e.fatalities} | {e.evidence}"
        for e in events
    )


# Known defects, kept visible: the model writes "Congo" for the Democratic Republic of the Congo (the
# pipeline does not yet tell the two Congos apart from the article's places), and a Brazilian state for the
# country (the pipeline does not yet derive the country from a region the gazetteer knows).
KNOWN_DEFECTS = {
    "fr2": "'Congo' is not resolved to the DRC",
    "pt2": "a region given as the country is not resolved to its country",
}
MODEL_CASES = [
    pytest.param(s, marks=pytest.mark.xfail(reason=KNOWN_DEFECTS[s], strict=False)) if s in KNOWN_DEFECTS else s
    for s in STEMS
]


@pytest.mark.model
@pytest.mark.parametrize("stem", MODEL_CASES)
def test_embedded_model_reads_the_original_language(stem, articles, gold, local):
    article, doc = articles[f"{stem}.txt"], gold[f"{stem}.txt"]
    result = extract_article(article, load_prompt("default"), local, run_id="multilingual")
    shown = f"{stem}: {len(result.events)} events, {len(result.calls)} calls, error {result.error}\n" + _summary(
        result.events
    )

    if any(e["required"] for e in doc["events"]):
        assert result.events, shown
    countries = {_country_key(c) for e in doc["events"] for c in alternatives(e["country"])}
    total = RUNNING_TOTALS.get(stem)
    for event in result.events:
        # Evidence is copied from the article as written, not translated.
        for span in event.evidence:
            assert find_span(article.text, span) is not None, f"{span!r} is not in the article\n{shown}"
        assert _country_key(event.country) in countries, shown
        if total:
            # The running total's paragraph alone never supports an event.
            start = article.text.index(total)
            end = article.text.index("\n", start)
            offsets = [find_span(article.text, s) for s in event.evidence]
            assert not all(start <= o[0] and o[1] <= end for o in offsets), (
                f"an event rests on the running total\n{shown}"
            )
