"""Dates, tolls, languages and chunks: the code half of the staged design, from the codebook's rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pipeline.backends import get_backend
from pipeline.extraction import languages
from pipeline.extraction.article import extract_article
from pipeline.extraction.staged import MAX_CHUNK_CHARS, chunks_of
from pipeline.extraction.text import (
    date_cue,
    fatalities_from,
    is_candidate,
    numbers_in,
    split_sentences,
)
from pipeline.ingest import Article
from pipeline.prompts import load_prompt

TUESDAY = date(2024, 3, 12)


# -- tolls: the lowest total explicitly reported, all sides together ----------------------------


def test_compound_number_words_are_numbers():
    assert 200 in numbers_in("Two hundred people were killed in the raid.")
    assert 25 in numbers_in("Twenty-five soldiers died.")


def test_a_crowd_is_not_a_count():
    assert 1000 not in numbers_in("Thousands marched after 4 protesters were killed.")


def test_per_side_tolls_add_up_unless_a_total_comes_first():
    assert fatalities_from([3, 2, 5], "3 soldiers, 2 policemen and 5 civilians were killed.") == 10
    assert fatalities_from([5, 3, 2], "The attack killed 5 people: 3 soldiers and 2 policemen.") == 5


# -- dates: resolved against the reference day --------------------------------------------------


def test_may_and_march_as_words_are_not_months():
    assert date_cue("Thousands march 12 kilometres to the capital.", TUESDAY) is None
    assert date_cue("Officials say the toll may 10 times exceed the count.", TUESDAY) is None
    cue = date_cue("On March 10, gunmen attacked the convoy.", TUESDAY)
    assert cue is not None and cue.start == date(2024, 3, 10)


def test_spans_of_hours_and_days_end_the_day_before_the_report():
    day = timedelta(days=1)
    cue = date_cue("Fighting in the past 48 hours killed 30.", TUESDAY)
    assert (cue.start, cue.end) == (TUESDAY - 2 * day, TUESDAY - day)
    cue = date_cue("Fighting in the past 24 hours killed 30.", TUESDAY)
    assert (cue.start, cue.end) == (TUESDAY - day, None)
    cue = date_cue("Two days of clashes killed 30.", TUESDAY)
    assert (cue.start, cue.end) == (TUESDAY - 2 * day, TUESDAY - day)


# -- every language the model reads ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Les soldats ont été attaqués dans la région de Mopti, selon une source sécuritaire.", "fr"),
        ("Los soldados fueron atacados en el departamento del Cauca, según la policía.", "es"),
        ("Os soldados foram atacados na província de Cabo Delgado, segundo a polícia.", "pt"),
        ("قتل خمسة جنود في هجوم على نقطة تفتيش في محافظة درعا.", "ar"),
        ("Soldiers were attacked in the region, the army said on Monday.", "en"),
    ],
)
def test_the_article_language_is_recognised(text, lang):
    assert languages.language_of(text) == lang


@pytest.mark.parametrize(
    "lang, sentence, toll",
    [
        ("fr", "Trois civils ont été tués mardi dans une attaque près de Gao.", 3),
        ("es", "Cinco policías murieron el martes en una emboscada en el Cauca.", 5),
        ("pt", "Quatro pessoas foram mortas na terça-feira em Cabo Delgado.", 4),
        ("ar", "قتل ٥ مدنيين يوم الثلاثاء في غارة جوية على بلدة في إدلب.", 5),
    ],
)
def test_tolls_dates_and_cues_in_other_languages(lang, sentence, toll):
    with languages.reading(lang):
        (s,) = split_sentences(sentence)
        assert is_candidate(s)
        assert toll in numbers_in(sentence)
        assert fatalities_from([toll], sentence) == toll
        cue = date_cue(sentence, date(2024, 3, 14))  # a Thursday: "Tuesday" is the 12th
        assert cue is not None and cue.start == TUESDAY


def test_a_non_english_article_is_read_by_the_model():
    text = (
        "Attaque meurtrière dans le centre du Mali\n\n"
        "Des hommes armés ont tué 12 villageois mardi dans une attaque contre le village de Diallassagou, "
        "a indiqué un responsable local. Les assaillants sont arrivés à moto et ont incendié des greniers."
    )
    article = Article(path="fr.txt", file_name="fr.txt", text=text, article_id="fr", published=date(2024, 3, 14))
    result = extract_article(article, load_prompt("default"), get_backend("fake"), run_id="r")
    assert result.error is None
    assert result.calls, "the model must be asked about a French article"


def test_sentences_split_in_arabic():
    text = "قتل خمسة جنود في هجوم. وقال مسؤول إن المهاجمين فروا."
    assert len(split_sentences(text)) == 2


# -- long articles: chunks that each fit the model's context -----------------------------------


def test_chunks_cover_every_sentence_within_the_budget():
    text = "\n".join(f"Sentence number {i} says that 3 people were killed in town {i}." for i in range(500))
    sentences = split_sentences(text)
    chunks = chunks_of(sentences, 2000)
    assert [s.number for c in chunks for s in c] == [s.number for s in sentences]
    assert all(sum(len(s.text) + 1 for s in c) <= 2000 for c in chunks)


def test_an_article_longer_than_the_context_is_extracted_in_chunks():
    paragraph = (
        "Officials described the situation in the province as tense. Residents stayed indoors and markets were "
        "closed for most of the week while the authorities assessed the damage to roads and bridges. "
    )
    incidents = [f"Gunmen killed {n} villagers in the village of Town{n} on Monday." for n in range(2, 12)]
    body = "\n".join(paragraph * 15 + incident for incident in incidents)  # about 5,000 words
    text = "Violence across the province\n\n" + body
    assert len(text) > 3 * MAX_CHUNK_CHARS["en"]
    article = Article(path="long.txt", file_name="long.txt", text=text, article_id="long", published=TUESDAY)
    result = extract_article(article, load_prompt("default"), get_backend("fake"), run_id="r")
    assert result.error is None
    lists = [c for c in result.calls if c["stage"] == "extract"]
    assert len(lists) >= 3  # one list call per chunk
    assert len(result.events) >= 3


@pytest.mark.parametrize(
    "sentence, expected",
    [
        # a dateline dates the report; the event day is the one the sentence tells
        ("GAROUA, March 4 — Gunmen killed six herders on Saturday.", date(2024, 3, 2)),
        ("Garoua, 4 March 2024 – Gunmen killed six herders on Saturday morning.", date(2024, 3, 2)),
        ("Garoua, Monday 4 March 2024 — Gunmen killed six herders on Saturday.", date(2024, 3, 2)),
        ("GAROUA, March 4 (Wire) — Gunmen killed six herders on Saturday.", date(2024, 3, 2)),
        # a possessive weekday after a reporting verb is the event's day, not the report's
        ("A nurse said 14 of Saturday's victims were buried.", date(2024, 3, 2)),
        # a date inside the sentence (not a dateline) still counts
        ("Gunmen killed six herders on 1 March.", date(2024, 3, 1)),
    ],
)
def test_a_dateline_dates_the_report_not_the_event(sentence, expected):
    from pipeline.extraction.text import date_cue

    cue = date_cue(sentence, date(2024, 3, 4))
    assert cue is not None and cue.start == expected


def test_a_dateline_alone_gives_no_event_day():
    from pipeline.extraction.text import date_cue

    assert date_cue("GAROUA, March 4 — Residents stayed indoors.", date(2024, 3, 4)) is None


@pytest.mark.parametrize(
    "text, old",
    [
        ("The same market was hit by a truck bomb five years ago that killed 300 people.", True),
        ("Two months earlier, gunmen had killed eleven traders on the road.", True),
        ("Gunmen killed eleven traders on the road two days ago.", False),
        ("Gunmen killed eleven traders on the road on Sunday.", False),
    ],
)
def test_an_incident_told_as_years_or_months_ago_is_background(text, old):
    from pipeline.extraction.text import dated_long_before

    assert dated_long_before(text, date(2024, 3, 4)) is old


@pytest.mark.parametrize(
    "text, total",
    [
        ("Snipers killed nearly 300 people in the district over the three months, the report said.", True),
        ("Among the dead in the second quarter were 13 police officers.", True),
        ("More than 600 people have died in the unrest since students took to the streets.", True),
        ("Fighting over the past two days killed 30 fighters.", False),  # a two-day clash is dated, not a tally
        ("Gunmen killed five people in the village on Monday.", False),
    ],
)
def test_a_tally_over_a_period_is_a_running_total(text, total):
    from pipeline.extraction.text import looks_like_total

    assert looks_like_total(split_sentences(text)[0]) is total


def test_a_toll_that_rises_states_deaths():
    # "toll" in conflict news is the death toll: the headline's number is the dead
    assert fatalities_from([40], "Toll from Monday's market strike rises to 40") == 40


@pytest.mark.parametrize(
    "text, toll_only",
    [
        ("In the capital, 30 people died, according to a government spokesman.", True),
        ("Residents said they had counted at least 13 dead and feared the number would climb.", True),
        ("More than 40 people were wounded.", True),
        ("Two children died in shelling on the market.", False),  # an act: shelling
        ("Three fighters were killed in the hills.", False),  # killed: someone killed them
        ("Gunmen shot dead four farmers.", False),
    ],
)
def test_a_sentence_that_only_counts_the_dead_tells_no_act(text, toll_only):
    from pipeline.extraction.text import only_a_toll

    assert only_a_toll(text) is toll_only


@pytest.mark.parametrize(
    "sentence, candidate",
    [
        ("Four men were taken into custody on Thursday in the capital.", True),  # an arrest
        ("Police detained six people after the march.", True),
        ("In Nakuru, eight people were hurt as police broke up the crowds.", True),  # an intervention
        ("Riot police fired teargas at students outside the university.", True),
        ("The minister will travel to the capital on Thursday.", False),
    ],
)
def test_arrests_and_interventions_are_candidates(sentence, candidate):
    (s,) = split_sentences(sentence)
    assert is_candidate(s) is candidate
