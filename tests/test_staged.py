"""The code half of the staged design: sentences, dates, tolls, totals, actors, places, the sweep.

The model only lists incidents and fills slots; everything here is code and
must be right on its own, whatever the model says.
"""

import dataclasses
import json
from dataclasses import replace
from datetime import date

import pytest

from pipeline.backends import get_backend
from pipeline.extraction import rules
from pipeline.extraction.article import extract_article
from pipeline.extraction.normalise import clean_place, geo_precision_for, normalise_actor
from pipeline.extraction.staged import MAX_SWEEP, sweep_candidates
from pipeline.extraction.text import (
    date_cue,
    fatalities_from,
    locate,
    looks_like_total,
    numbers_in,
    reference_day,
    split_sentences,
)
from pipeline.ingest import Article
from pipeline.prompts import load_prompt

TUESDAY = date(2019, 8, 27)


def make_slots(quote, **fields):
    """The model's slots for one incident in the code rules' tests: unidentified gunmen killing no one in
    Nigeria unless `fields` say otherwise."""
    from pipeline.extraction.answers import IncidentSlots

    values = {
        "event": "violence_against_civilians_attack",
        "actor1": "Unidentified armed group",
        "actor2": "Civilians",
        "country": "Nigeria",
        "admin1": None,
        "location": None,
        "killed": [],
    }
    return IncidentSlots(quote=quote, **{**values, **fields})


def make_draft(text, *, number=1, **fields):
    """A one-sentence incident draft for the code rules' tests: unidentified gunmen against civilians in
    Nigeria unless `fields` say otherwise."""
    from pipeline.extraction.staged import Draft
    from pipeline.extraction.text import Sentence
    from schemas import Actor

    values = {
        "event_type": "Violence against civilians",
        "sub_event_type": "Attack",
        "actor1": Actor(name="Unidentified armed group", actor_type="political_militia"),
        "actor2": Actor(name="Civilians", actor_type="civilians"),
        "assoc1": [],
        "country": "Nigeria",
        "admin1": None,
        "location": None,
        "fatalities": 0,
        "per_side": False,
        "cue": None,
        "sentences": [Sentence(number, 0, len(text), text)],
    }
    return Draft(**{**values, **fields})


def test_sentences_keep_exact_offsets():
    text = 'Headline here\n\nClashes killed 5 people. Mr. Smith said on Monday it was bad. "We fled," she said.'
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Headline here",
        "Clashes killed 5 people.",
        "Mr. Smith said on Monday it was bad.",
        '"We fled," she said.',
    ]
    for s in sentences:
        assert text[s.start : s.end] == s.text
    assert [s.number for s in sentences] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "phrase, start, end, precision",
    [
        ("Air strikes on Monday killed 12 civilians.", date(2019, 8, 26), None, 1),
        ("Clashes overnight killed eight.", date(2019, 8, 26), None, 1),
        ("Two days of clashes killed 96 fighters.", date(2019, 8, 25), date(2019, 8, 26), 1),
        ("Fighting between Sunday and Monday killed 35.", date(2019, 8, 25), date(2019, 8, 26), 1),
        ("On August 3, gunmen attacked the village.", date(2019, 8, 3), None, 1),
        ("On 11-12 June 121 women were raped.", date(2019, 6, 11), date(2019, 6, 12), 1),
        ("Last week rebels seized the town.", date(2019, 8, 20), None, 2),
        ("The monitor said on Monday that ten people were killed.", None, None, None),
    ],
)
def test_date_cue_resolves_against_the_reference_day(phrase, start, end, precision):
    cue = date_cue(phrase, TUESDAY)
    if start is None:
        assert cue is None  # "said on Monday" dates the reporting, not the event
    else:
        assert (cue.start, cue.end, cue.precision) == (start, end, precision)


def test_december_story_in_january_is_last_year():
    assert date_cue("On December 30 gunmen attacked a bus.", date(2020, 1, 2)).start == date(2019, 12, 30)


def test_reference_day_follows_the_reporting_weekday():
    printed_saturday = date(2019, 6, 8)
    sentences = split_sentences("Clashes kill 20\n\nClashes killed 20 fighters, a monitor said on Friday.")
    assert reference_day(sentences, printed_saturday) == date(2019, 6, 7)
    assert reference_day(split_sentences("Clashes killed 20 fighters."), printed_saturday) == printed_saturday


def test_numbers_in_ignores_wounded_and_distances():
    assert numbers_in("killed 29 regime forces and 31 rebels while 40 wounded, 12 kilometres away") == {29, 31}
    assert 2 in numbers_in("two children were killed")
    # the wounded told after a verb are no toll either
    assert numbers_in("Officials said 14 people had been killed and that 50 others had been wounded.") == {14}


@pytest.mark.parametrize(
    "killed, text, expected",
    [
        ([29, 31], "The clashes killed at least 29 regime forces and 31 rebels.", 60),
        ([60, 29, 31], "60 died: 29 regime forces and 31 rebels.", 60),  # a stated total of the parts
        ([35, 26], "At least 35 fighters, including 26 pro-regime forces, were killed.", 35),
        ([100], "Ten people were killed.", 0),  # a number the sentence never states
        ([2], "two children were killed overnight", 2),
    ],
)
def test_fatalities_sum_only_what_the_text_states(killed, text, expected):
    assert fatalities_from(killed, text) == expected


@pytest.mark.parametrize(
    "text, total",
    [
        ("The war has killed more than 370,000 people since 2011.", True),
        ("The war, which started in 2011 with the repression of protests, has killed more than 370,000.", True),
        ("In all, 248 women have reported being raped since January.", True),
        ("A total of 14 soldiers were killed in the ambush on Monday.", False),
        ("More than 920 civilians have been killed since late April.", True),
        ("Regime air strikes killed 12 civilians on Monday.", False),
    ],
)
def test_running_totals_are_recognised(text, total):
    assert looks_like_total(split_sentences(text)[0]) is total


def test_actor_names_map_to_the_codebook():
    text = "Regime forces and jihadists of Hayat Tahrir al-Sham clashed."
    assert normalise_actor("regime forces", "state_forces", "Syria", text).name == "Military Forces of Syria"
    assert normalise_actor("Russian warplanes", "state_forces", "Syria", text).name == "Military Forces of Russia"
    assert normalise_actor("Russian warplanes", "state_forces", "Syria", text).actor_type.value == "external_forces"
    assert normalise_actor("gunmen", "political_militia", "Syria", text).name == "Unidentified armed group"
    # a specific name the article never contains is a guess: a generic name replaces it
    assert normalise_actor("Free Syrian Army", "rebel_group", "Syria", text).name == "Rebel groups"


def test_places_must_be_in_the_article():
    text = "Clashes east of the town of Khan Sheikhun killed 8."
    assert clean_place("the town of Khan Sheikhun", text) == "Khan Sheikhun"
    assert clean_place("Maarat al-Numan", text) is None
    assert geo_precision_for("Khan Sheikhun", text) == 2
    assert geo_precision_for("Khan Sheikhun", "Khan Sheikhun was shelled.") == 1
    assert geo_precision_for(None, text) == 3


def test_a_quote_snaps_to_its_sentence():
    sentences = split_sentences("Intro line here.\n\nViolent clashes east of the town broke out at dawn on Tuesday.")
    assert locate("Violent clashes east of the town", sentences).number == 2
    assert locate("Violent clashes eas of the town", sentences).number == 2  # a small copying slip
    assert locate("Nothing like this appears", sentences) is None


SWEEP_TEXT = (
    "Clashes kill 40 in Idlib\n\n"
    "Clashes between rebels and regime forces killed 40 fighters on Tuesday, a monitor said.\n"
    "The clashes killed 20 regime forces and 20 rebels near Khan Sheikhun.\n"
    "Elsewhere, 10 civilians were killed in regime air strikes on Maaret al-Numan.\n"
    "The war has killed more than 370,000 people since 2011.\n"
    "The minister condemned the violence.\n"
    "On Monday, regime air strikes killed 12 civilians in Kafr Nabl.\n"
    "Two children died in shelling on Saraqeb.\n"
    "Three fighters were killed in Jisr al-Shughur.\n"
)


def test_sweep_takes_uncited_harm_sentences_after_the_lede_but_no_totals():
    sentences = split_sentences(SWEEP_TEXT)
    picked = sweep_candidates(sentences, cited={3})
    assert [s.number for s in picked] == [4, 7, 8][:MAX_SWEEP]
    assert all("370,000" not in s.text and "condemned" not in s.text for s in picked)


def test_staged_extraction_with_the_fake_model_adds_swept_incidents():
    article = Article(path="x.txt", file_name="x.txt", text=SWEEP_TEXT, article_id="x", published=TUESDAY)
    result = extract_article(article, load_prompt("default"), get_backend("fake"), run_id="r")
    assert result.error is None
    stages = [c["stage"] for c in result.calls]
    limit = load_prompt("default").settings.get("max_sweep", MAX_SWEEP)
    assert stages.count("extract") == 1 and MAX_SWEEP <= stages.count("fill") <= limit
    evidence = [e.evidence[0] for e in result.events]
    assert any("10 civilians were killed" in x for x in evidence)
    assert any("12 civilians" in x for x in evidence)
    assert not any("370,000" in x for x in evidence)
    monday = [e for e in result.events if "12 civilians" in e.evidence[0]][0]
    assert monday.event_date == date(2019, 8, 26) and monday.fatalities == 12


@pytest.mark.parametrize(
    "country, admin1, location, expected",
    [
        ("Syria", "Manbij", None, ("Aleppo", "Manbij")),  # a town given as admin1
        ("Pakistan", "Khyber", None, ("Khyber Pakhtunkhwa", None)),  # a region's short name
        ("Syria", "Idlib", "Idlib", ("Idlib", None)),  # "Idlib province": the region only
        ("Kenya", "Nairobi", "Nairobi", ("Nairobi", "Nairobi")),  # "in Nairobi": the city
        ("Syria", "Idlib", "northwestern Syria", ("Idlib", None)),  # a direction is no place
        ("Sudan", None, "Wad Madani", ("Al Jazīrah", "Wad Madani")),  # another spelling of one town
        ("Libya", None, "Derna", ("Darnah", "Derna")),
    ],
)
def test_places_settle_into_their_slots(country, admin1, location, expected):
    from pipeline.extraction.normalise import settle_places

    text = "Clashes in Idlib province. A protest in Nairobi. Fighting in Manbij. A blast in Khyber."
    assert settle_places(country, admin1, location, text) == expected


def test_a_named_group_inside_a_description_is_found():
    text = "Somali-based al-Qaeda affiliated group al-Shabaab claimed it. This is what HTS said."
    assert (
        normalise_actor("Somali-based al-Qaeda affiliated group al-Shabaab", "rebel_group", "Somalia", text).name
        == "Al-Shabaab"
    )
    # lower-case prose never matches an acronym alias
    assert normalise_actor("this is what", "rebel_group", "Syria", text).name == "this is what"


@pytest.mark.parametrize(
    "text",
    [
        "According to them, some 74 civilians were killed in the first 16 days of July.",
        "Compared to June 30, two children were killed and 22 others were wounded.",
        "Civilian casualties from February 24, 2022 to July 15 reached 25,671.",
        "Killings and kidnappings rose 14% in second quarter, a monitor said.",
        # deaths in the present perfect counted from a starting point
        "Over 300 people have lost their lives in the region since the fighting flared in March.",
    ],
)
def test_tallies_over_a_period_are_totals(text):
    assert looks_like_total(split_sentences(text)[0])


def test_a_failed_fill_costs_only_its_sentence(monkeypatch):
    from tests.support import fake_rules

    monkeypatch.setitem(fake_rules.RULES, "IncidentFill", lambda kwargs: "not json at all")
    article = Article(path="x.txt", file_name="x.txt", text=SWEEP_TEXT, article_id="x", published=TUESDAY)
    result = extract_article(article, load_prompt("default"), get_backend("fake"), run_id="r")
    assert result.error is None
    assert len(result.events) == 1  # the listed incident survives
    fills = [c for c in result.calls if c["stage"] == "fill"]
    # each fill asked, re-asked twice, and logged
    assert len(fills) % 3 == 0 and len(fills) >= MAX_SWEEP * 3


def test_sweep_skips_a_restated_toll():
    sentences = split_sentences(
        "Strike kills ten\n\nA jet bombed the village on Tuesday, killing ten people.\n"
        "Ten people were killed and eight wounded, he said.\nIn another village, four people were killed.\n"
    )
    picked = sweep_candidates(sentences, cited={2}, known_tolls={10})
    assert [s.number for s in picked] == [4]


def test_no_death_word_no_toll():
    assert fatalities_from([121], "121 local women had been raped during the night") == 0


def test_elsewhere_starts_a_new_incident_and_differing_tolls_stay_apart():
    text = (
        "Headline\n\n8 rebels were killed in air strikes near the airport on Tuesday.\n"
        "Elsewhere, 10 civilians were killed in regime air strikes.\n"
        "The strikes killed 8 rebels.\n"
    )
    article = Article(path="x.txt", file_name="x.txt", text=text, article_id="x", published=TUESDAY)
    result = extract_article(article, load_prompt("default"), get_backend("fake"), run_id="r")
    tolls = sorted(e.fatalities for e in result.events)
    assert tolls == [8, 10]  # "The strikes killed 8" is a restated toll: not swept, not a third event


def test_since_a_deal_took_effect_is_a_total():
    assert looks_like_total(
        split_sentences("More than 160 civilians have been killed since the deal went into effect.")[0]
    )


def test_a_truncated_incident_list_keeps_its_complete_incidents():
    import instructor

    from pipeline.backends.base import Backend, completion_from_text

    slots = {
        "event": "explosion_air_or_drone_strike",
        "actor1": "regime forces",
        "actor2": "Civilians",
        "country": "Syria",
        "admin1": None,
        "location": None,
        "killed": [10],
    }
    whole = {"quote": "Elsewhere, 10 civilians were killed", **slots}
    repeated = '{"incidents": [' + ", ".join([json.dumps(whole)] * 3) + ', {"quote": "Elsewhere, 10 civ'

    def create(**kwargs):
        if "IncidentList" in json.dumps(kwargs.get("response_format") or {}):
            return completion_from_text(repeated, model="m", finish_reason="length")
        return completion_from_text(json.dumps(slots), model="m")

    backend = Backend(name="fake", model="m", mode=instructor.Mode.JSON_SCHEMA, create=create)
    article = Article(path="x.txt", file_name="x.txt", text=SWEEP_TEXT, article_id="x", published=TUESDAY)
    result = extract_article(article, load_prompt("default"), backend, run_id="r")
    assert result.error is None
    assert [c["outcome"] for c in result.calls][0] != "ok"  # the truncated call is logged as such
    listed = [e for e in result.events if "Elsewhere, 10 civilians" in e.evidence[0]]
    assert len(listed) == 1 and listed[0].fatalities == 10  # three copies of one incident: one event


def test_complete_incidents_of_garbage_is_empty():
    from pipeline.extraction.answers import complete_incidents

    assert complete_incidents('{"incidents": [{"quote": "unfinished') == []


@pytest.mark.parametrize(
    "code, sentence, killed, expected",
    [
        # Remote violence words settle the sub-event type.
        (
            "explosion_air_or_drone_strike",
            "A roadside bomb killed five soldiers near Balad.",
            5,
            "explosion_remote_explosive_landmine_ied",
        ),
        (
            "explosion_air_or_drone_strike",
            "A suicide bomber blew himself up at a checkpoint in Khyber.",
            3,
            "explosion_suicide_bomb",
        ),
        (
            "violence_against_civilians_attack",
            "Russian shelling killed two civilians in Zaporizhzhia.",
            2,
            "explosion_shelling_artillery_missile",
        ),
        (
            "explosion_shelling_artillery_missile",
            "Air strikes and shelling hit Kafranbel.",
            0,
            "explosion_shelling_artillery_missile",
        ),  # the model's choice stands when the sentence names it
        (
            "explosion_air_or_drone_strike",
            "Regime air strikes killed ten civilians.",
            10,
            "explosion_air_or_drone_strike",
        ),
        # Violence against civilians by what was done.
        (
            "protest_peaceful",
            "Soldiers raped 121 women in the village of Nakiele.",
            0,
            "violence_against_civilians_sexual_violence",
        ),
        ("protest_peaceful", "Hundreds of women protested against rape in Bukavu.", 0, "protest_peaceful"),
        (
            "violence_against_civilians_attack",
            "Boko Haram gunmen abducted 16 women in Madagali.",
            0,
            "violence_against_civilians_abduction",
        ),
        (
            "violence_against_civilians_attack",
            "Gunmen kidnapped and killed two traders.",
            2,
            "violence_against_civilians_attack",
        ),
        ("violence_against_civilians_attack", "An angry mob lynched a man accused of theft.", 1, "riot_mob_violence"),
        # people taken away are abducted, whatever family the model chose, when nothing exploded
        (
            "explosion_air_or_drone_strike",
            "Insurgents seized about 40 displaced women collecting firewood outside the camp.",
            0,
            "violence_against_civilians_abduction",
        ),
        (
            "violence_against_civilians_attack",
            "Bandits raided the village and carried away an unknown number of residents.",
            0,
            "violence_against_civilians_abduction",
        ),
        # a place seized is no abduction
        (
            "battle_nonstate_actor_overtakes_territory",
            "Rebels seized the town after government troops withdrew.",
            0,
            "battle_nonstate_actor_overtakes_territory",
        ),
        # a clash in which a place changed hands is a change of territory; prisoners taken are not
        (
            "battle_armed_clash",
            "The army said it had retaken Kalehe after a day of fighting.",
            0,
            "battle_nonstate_actor_overtakes_territory",
        ),
        ("battle_armed_clash", "Rebels captured two soldiers in a clash near Kalehe.", 0, "battle_armed_clash"),
        (
            "violence_against_civilians_attack",
            "At least ten people died when insurgents overran the town of Mocimboa on Friday.",
            10,
            "battle_nonstate_actor_overtakes_territory",
        ),
        # people detained by the police are arrested, not abducted
        (
            "violence_against_civilians_abduction",
            "Police later arrested four suspects in connection with the lynching.",
            0,
            "strategic_arrests",
        ),
        # a crowd broken up by the police is a protest met by force
        (
            "violence_against_civilians_attack",
            "In Nakuru, police broke up the crowds with batons.",
            0,
            "protest_with_intervention",
        ),
        # protesters who attack, burn or loot are a violent demonstration
        (
            "violence_against_civilians_attack",
            "Protesters stormed and torched the governor's office in Kaduna.",
            0,
            "riot_violent_demonstration",
        ),
        (
            "strategic_agreement",
            "A curfew was imposed as the protest turned violent in Kano.",
            0,
            "riot_violent_demonstration",
        ),
        # protesters shot dead by the police: the force's violence is the event
        (
            "violence_against_civilians_attack",
            "Police opened fire on protesters who had looted shops, killing three.",
            3,
            "protest_excessive_force_against_protesters",
        ),
        # Protesters met by force are a protest, not an attack on civilians.
        (
            "violence_against_civilians_attack",
            "Security forces opened fire on protesters in Sanamein, killing 20.",
            20,
            "protest_excessive_force_against_protesters",
        ),
        (
            "violence_against_civilians_attack",
            "Police fired tear gas to disperse demonstrators in Nairobi.",
            0,
            "protest_with_intervention",
        ),
        # No telling words: the model's code stands.
        ("battle_armed_clash", "Rebels and regime forces clashed east of Khan Sheikhun.", 60, "battle_armed_clash"),
        (
            "violence_against_civilians_attack",
            "Gunmen shot dead seven farmers in Dogo.",
            7,
            "violence_against_civilians_attack",
        ),
        # a raid by aircraft is fired from the air
        (
            "explosion_air_or_drone_strike",
            "The dawn raid by coalition aircraft on the prison killed 20 inmates.",
            20,
            "explosion_air_or_drone_strike",
        ),
        # an explosion code over a sentence of shots is an attack; one over a sentence that names no means at
        # all keeps the model's reading of the story around it
        (
            "explosion_shelling_artillery_missile",
            "A trader was shot dead and stabbed at a market in Kadugli.",
            1,
            "violence_against_civilians_attack",
        ),
        (
            "explosion_shelling_artillery_missile",
            "A 70-year-old woman was killed in the town of Kupiansk, the governor said.",
            1,
            "explosion_shelling_artillery_missile",
        ),
    ],
)
def test_reconcile_event_reads_what_the_sentence_says_happened(code, sentence, killed, expected):
    from pipeline.extraction.normalise import reconcile_event

    assert reconcile_event(code, sentence, killed) == expected


def test_protest_and_mob_actors_follow_the_codebook():
    from pipeline.extraction.normalise import actors_for
    from schemas import Actor, ActorType

    police = Actor(name="Police Forces of Kenya", actor_type=ActorType.STATE_FORCES)
    civilians = Actor(name="Civilians", actor_type=ActorType.CIVILIANS)
    a1, a2 = actors_for("Protests", "Protest with intervention", police, civilians)
    assert (a1.name, a2.name) == ("Protesters", "Police Forces of Kenya")
    a1, a2 = actors_for("Protests", "Peaceful protest", civilians, None)
    assert (a1.name, a2) == ("Protesters", None)
    someone = Actor(name="Unidentified armed group", actor_type=ActorType.POLITICAL_MILITIA)
    a1, a2 = actors_for("Riots", "Mob violence", someone, None)
    assert (a1.name, a2.name) == ("Rioters", "Civilians")
    a1, a2 = actors_for("Battles", "Armed clash", police, someone)
    assert (a1, a2) == (police, someone)


def test_a_lede_that_dates_only_the_reporting_takes_the_day_from_the_body():
    from pipeline.extraction.staged import Draft, following_cue
    from pipeline.extraction.text import split_sentences
    from schemas import Actor, ActorType

    text = (
        "An airstrike by the Myanmar military killed ten civilians in a village, locals said on Wednesday.\n\n"
        "The country has been in conflict since the 2021 coup.\n\n"
        "A military aircraft, on Tuesday afternoon, dropped three bombs on Nyaung Kone village.\n\n"
        "Elsewhere, on Monday, two soldiers were killed in Nyaung Kone."
    )
    sentences = split_sentences(text)
    ref = date(2023, 6, 28)  # a Wednesday
    draft = Draft(
        event_type="Explosions/Remote violence",
        sub_event_type="Air/drone strike",
        actor1=Actor(name="Military Forces of Myanmar", actor_type=ActorType.STATE_FORCES),
        actor2=None,
        assoc1=[],
        country="Myanmar",
        admin1="Sagaing",
        location="Nyaung Kone",
        fatalities=10,
        per_side=False,
        cue=None,
        sentences=[sentences[0]],
    )
    assert following_cue(draft, sentences, ref).start == date(2023, 6, 27)
    # A headline or lede borrows the day of the next violent sentence; "Elsewhere" ends the search.
    draft.location = "Kurmi"
    assert following_cue(draft, sentences, ref).start == date(2023, 6, 27)
    body = split_sentences(
        "Intro.\n\nMore.\n\nAnd more.\n\nGunmen killed five herders in Kurmi, residents said on Wednesday.\n\n"
        "A military aircraft, on Tuesday afternoon, dropped three bombs on Nyaung Kone village.\n\n"
        "The raiders torched the Kurmy market on Monday night."
    )
    later = replace(draft, sentences=[body[3]])
    # a later incident takes its day only from a sentence naming its place, in another spelling too
    assert following_cue(later, body, ref).start == date(2023, 6, 26)
    later.location = "Dogo"
    assert following_cue(later, body, ref) is None


def test_a_place_given_as_region_finds_its_region():
    from pipeline.extraction.normalise import settle_places

    # The town in both slots: the gazetteer knows the town's region.
    assert settle_places("Syria", "Manbij", "Manbij", "Clashes in Manbij.") == ("Aleppo", "Manbij")
    # A village the gazetteer does not know exactly: the one region the article names.
    text = "A military aircraft dropped three bombs on Nyaung Kone village in the northern Sagaing region."
    assert settle_places("Myanmar", "Nyaung Kone", "Nyaung Kone", text) == ("Sagaing", "Nyaung Kone")
    # Only a sentence naming the place says its region: no guess from elsewhere in the article.
    text2 = "Bombs fell on Thazin Kone village. Survivors spoke to the Mandalay region's broadcaster."
    assert settle_places("Myanmar", "Thazin Kone", "Thazin Kone", text2) == (None, "Thazin Kone")
    text3 = "Bombs fell on Thazin Kone between the Sagaing region and the Mandalay region."
    assert settle_places("Myanmar", "Thazin Kone", "Thazin Kone", text3) == (None, "Thazin Kone")
    # With no region in the article, a name the gazetteer lists as another spelling of one town
    # ("Nyaung Kone" of Nyaung Gon) takes that town's region.
    text4 = "Bombs fell on Nyaung Kone village."
    assert settle_places("Myanmar", None, "Nyaung Kone", text4) == ("Yangon", "Nyaung Kone")


def test_arms_seized_or_defused_are_no_blast():
    from pipeline.extraction.normalise import explosive_named, reconcile_event

    seized = "Soldiers killed six gunmen in the forest on Friday, recovering rifles and two explosive devices."
    assert explosive_named(seized) is None
    assert reconcile_event("explosion_remote_explosive_landmine_ied", seized, 6) == "battle_armed_clash"
    defused = "Police defused a roadside bomb near the market on Monday."
    assert explosive_named(defused) is None
    # a device that went off is still a blast, even in a sentence that also tells of arms found
    blast = "A roadside bomb killed three soldiers; troops later found two more devices and rifles."
    assert explosive_named(blast) == "explosion_remote_explosive_landmine_ied"
    with rules.disabled(["arms_seized_no_blast"]):
        assert explosive_named(seized) == "explosion_remote_explosive_landmine_ied"


def test_clashes_are_battles_and_armed_victims_make_a_clash():
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.normalise import reconcile_event
    from pipeline.extraction.staged import draft_from
    from pipeline.extraction.text import Sentence

    sentence = "Violent clashes east of Khan Sheikhun broke out at dawn after jihadists attacked regime positions."
    assert reconcile_event("explosion_air_or_drone_strike", sentence, 0) == "battle_armed_clash"
    # Air strikes during clashes stay air strikes.
    assert (
        reconcile_event("explosion_air_or_drone_strike", "Air strikes backed the clashes.", 0)
        == "explosion_air_or_drone_strike"
    )

    text = "Eight rebels were killed trying to sneak into regime positions near Abu Duhur."
    article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2019, 8, 27))
    slots = IncidentSlots(
        quote=text[:30],
        event="violence_against_civilians_attack",
        actor1="regime forces",
        actor2="rebels",
        country="Syria",
        admin1="Idlib",
        location="Abu Duhur",
        killed=[8],
    )
    draft = draft_from(slots, [Sentence(1, 0, len(text), text)], article, date(2019, 8, 27))
    assert (draft.event_type, draft.sub_event_type) == ("Battles", "Armed clash")


def test_a_country_named_as_actor_is_its_forces_and_breakdowns_are_not_swept():
    from pipeline.extraction.normalise import normalise_actor
    from pipeline.extraction.staged import sweep_candidates
    from pipeline.extraction.text import looks_like_total, split_sentences

    assert normalise_actor("Syria", None, "Syria", "").name == "Military Forces of Syria"
    russia = normalise_actor("the Russian government", None, "Syria", "")
    assert (russia.name, russia.actor_type.value) == ("Military Forces of Russia", "external_forces")
    text = (
        "Headline.\n\nClashes killed 35 fighters on Sunday.\n\nAn air strike hit a market.\n\n"
        "At least 19 jihadists and 16 pro-regime fighters have been killed, the report said.\n\n"
        "At least 119 civilians were killed in the violence, the monitor said.\n\n"
        "Gunmen killed four farmers in Dogo."
    )
    sentences = split_sentences(text)
    assert looks_like_total(sentences[4])
    swept = sweep_candidates(sentences, cited={2}, known_tolls={35})
    assert [s.text for s in swept] == ["Gunmen killed four farmers in Dogo."]


def test_the_wounded_are_not_counted_as_dead():
    from pipeline.extraction.text import fatalities_from

    assert fatalities_from([2, 5], "A missile attack killed at least two people and wounded five others.") == 2
    assert fatalities_from([1, 4], "Another strike killed a woman and injured four other people.") == 1


def test_fighters_killed_are_a_battle_and_a_count_among_them_is_not_per_side():
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.normalise import reconcile_event
    from pipeline.extraction.staged import draft_from
    from pipeline.extraction.text import Sentence

    breakdown = "Fifty-one pro-government fighters had been killed over 48 hours, while 45 of their opponents died."
    assert reconcile_event("explosion_air_or_drone_strike", breakdown, 96) == "battle_armed_clash"

    def draft(text, **slots):
        article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2019, 8, 27))
        base = dict(
            quote=text[:30], actor1="HTS", actor2="Civilians", country="Syria", admin1="Idlib", location=None, killed=[]
        )
        return draft_from(
            IncidentSlots(**{**base, **slots}), [Sentence(1, 0, len(text), text)], article, date(2019, 8, 27)
        )

    sneak = "Eight rebels were killed trying to sneak through frontlines towards regime positions."
    d = draft(sneak, event="violence_against_civilians_attack", killed=[8])
    assert (d.event_type, d.actor2) == ("Battles", None)
    clashes = "More than 25 pro-regime forces were killed in the clashes."
    d = draft(clashes, event="violence_against_civilians_attack", actor1="regime", actor2=None, killed=[25])
    assert (d.event_type, d.sub_event_type) == ("Battles", "Armed clash")
    # the fighters who attacked are not the dead: the model named them as the initiator
    gunmen = "Suspected militants opened fire on two labourers at a water project, killing both."
    d = draft(gunmen, event="violence_against_civilians_attack", actor1="suspected militants", killed=[2])
    assert (d.event_type, d.sub_event_type) == ("Violence against civilians", "Attack")
    shot = "Regime forces shot dead five villagers in the clashes' aftermath."
    d = draft(shot, event="violence_against_civilians_attack", actor1="regime", killed=[5])
    assert d.event_type == "Violence against civilians"  # civilians died: still an attack on civilians
    among = "Elsewhere, 10 civilians, among them a child, were killed in regime air strikes."
    d = draft(among, event="explosion_air_or_drone_strike", actor1="regime", killed=[10, 1])
    assert (d.fatalities, d.per_side, d.event_type) == (10, False, "Explosions/Remote violence")


def test_the_default_prompt_screens_only_left_out_sentences_that_give_their_own_day():
    # Neither sentence states harm, so neither is swept as a harm sentence. The dated protest is asked about
    # and filled because the answer is yes; the undated one is never asked (rule `screen_dated_only`).
    text = (
        SWEEP_TEXT
        + "Hundreds of people staged a protest in the main square of Idlib on Monday.\n"
        + "Residents said a protest in the old town was planned.\n"
    )
    article = Article(path="x.txt", file_name="x.txt", text=text, article_id="x", published=TUESDAY)
    prompt = load_prompt("default")
    assert prompt.has_section("screen")
    prompt = replace(prompt, settings={**prompt.settings, "max_sweep": 8})  # room left after the harm sentences
    result = extract_article(article, prompt, get_backend("fake"), run_id="r")
    assert result.error is None

    def asked(stage):  # the question after the article: the last paragraph of the user message
        return [c["request"]["messages"][-1]["content"].split("\n\n")[-1] for c in result.calls if c["stage"] == stage]

    screened = asked("screen")
    assert len(screened) == 1 and "main square" in screened[0]
    fills = asked("fill")
    assert any("staged a protest" in f for f in fills)
    assert not any("was planned" in f for f in fills)
    protest = [e for e in result.events if "staged a protest" in e.evidence[0]]
    assert len(protest) == 1 and protest[0].event_date == date(2019, 8, 26)

    # with the rule off, the undated sentence is asked about too
    with rules.disabled(["screen_dated_only"]):
        result = extract_article(article, prompt, get_backend("fake"), run_id="r")
    assert any("was planned" in q for q in asked("screen"))

    # An undated sentence that names a town no incident is at is asked too (rule `screen_new_place`): the
    # codebook codes one event per place and day.
    article = replace(article, text=text + "Demonstrators also took to the streets in Saraqeb.\n")
    result = extract_article(article, prompt, get_backend("fake"), run_id="r")
    assert any("streets in Saraqeb" in q for q in asked("screen"))
    assert not any("was planned" in q for q in asked("screen"))
    with rules.disabled(["screen_new_place"]):
        result = extract_article(article, prompt, get_backend("fake"), run_id="r")
    assert not any("streets in Saraqeb" in q for q in asked("screen"))


@pytest.mark.parametrize(
    "country, sentence, towns",
    [
        ("Kenya", "In Narok, eight people were hurt as police broke up the crowds.", ["Narok"]),
        ("Chad", "Protests also took place in Doba and Sarh, two towns in the south.", ["Doba", "Sarh"]),
        ("Yemen", "Crowds gathered in Hodeidah, Ibb and Sanaa.", ["Hodeidah", "Ibb", "Sanaa"]),
        ("Kenya", "Police said on Friday that the Kenya Red Cross was ready.", []),  # no place of Kenya
        ("Kenya", "Crowds gathered in the capital.", []),
    ],
)
def test_towns_named_are_the_gazetteer_places_after_a_preposition(country, sentence, towns):
    from pipeline.extraction.normalise import towns_named

    assert towns_named(country, sentence) == towns


def test_a_place_is_new_when_no_listed_incident_is_at_it_in_any_spelling():
    from pipeline.extraction.staged import _names_a_new_place

    told = ("Syria", ["Idlib", "Saraqib"])
    planned, crowds, elsewhere = split_sentences(
        "A protest in Idlib was planned. Crowds gathered in Saraqeb. Crowds gathered in Kafr Nabl."
    )
    assert not _names_a_new_place(planned, told)
    assert not _names_a_new_place(crowds, told)  # Saraqeb is Saraqib spelled another way
    assert _names_a_new_place(elsewhere, told)
    assert not _names_a_new_place(elsewhere, None)  # nothing listed: no country to look places up in


@pytest.mark.parametrize(
    "killed, sentence, toll",
    [
        ([65], "A 65-year-old woman was killed when a shell hit her house.", 1),
        ([65, 86], "A 65-year-old woman was killed in one village and an 86-year-old man in another.", 2),
        ([44, 46], "Two men, aged 44 and 46, died when artillery hit the village.", 2),
        ([29], "Police officer Ali Musa, 29, died when the crowd set fire to his car.", 1),
        ([30], "A 30-year-old man was wounded when a drone struck his car.", 0),  # no death
        ([12, 40], "Twelve people were killed, among them a 40-year-old teacher.", 0),  # 12 is a count, not an age
    ],
)
def test_ages_given_as_a_toll_count_one_person_each(killed, sentence, toll):
    from pipeline.extraction.text import people_by_age

    assert people_by_age(killed, sentence) == toll


@pytest.mark.parametrize(
    "text, ref, old",
    [
        ("His successor broke off the talks in 2019 after the group bombed a police academy.", date(2023, 2, 13), True),
        ("En 2014, des soldats avaient tué 22 personnes dans un entrepôt.", date(2024, 10, 22), True),
        ("Gunmen killed five villagers on 28 December 2023.", date(2024, 1, 10), False),  # last year, yet recent
        ("The 2019 accord and the strike on 3 March 2024 that killed four.", date(2024, 3, 5), False),
        ("Gunmen killed five villagers on Sunday.", date(2024, 3, 5), False),  # no year at all
        # told relative to the story, with no usable date
        ("It is the village where gunmen killed a teacher a little over a month ago.", date(2024, 3, 8), True),
        ("A year ago, a truck bomb killed 20 people at the same market.", date(2024, 3, 8), True),
        ("Gunmen killed a teacher a week ago in the same village.", date(2024, 3, 8), False),
    ],
)
def test_an_incident_dated_only_by_a_year_long_past_is_background(text, ref, old):
    from pipeline.extraction.text import dated_long_before

    assert dated_long_before(text, ref) is old


def test_the_sentence_that_names_the_weapon_settles_a_merged_explosion():
    from pipeline.extraction.staged import Draft, group_drafts
    from pipeline.extraction.text import Sentence
    from schemas import Actor

    def draft(number, text, sub):
        return Draft(
            event_type="Explosions/Remote violence",
            sub_event_type=sub,
            actor1=Actor(name="Rebel groups", actor_type="rebel_group"),
            actor2=None,
            assoc1=[],
            country="India",
            admin1=None,
            location=None,
            fatalities=8,
            per_side=False,
            cue=None,
            sentences=[Sentence(number, 0, len(text), text)],
        )

    lede = draft(1, "Rebels blow up a police vehicle, killing eight", "Air/drone strike")
    body = draft(2, "A roadside bomb planted by the rebels tore through the vehicle.", "Remote explosive/landmine/IED")
    (merged,) = group_drafts([lede, body])
    assert merged.sub_event_type == "Remote explosive/landmine/IED"
    assert "event_code_from_sentence" in merged.rules
    # a first sentence that names its own weapon keeps it
    strike = draft(1, "An air strike hit the convoy, killing eight", "Air/drone strike")
    (merged,) = group_drafts([strike, body])
    assert merged.sub_event_type == "Air/drone strike"


@pytest.mark.parametrize(
    "country, location, sentence, expected",
    [
        # a site gives way to the town the sentence names it in
        ("Nigeria", "central market", "Gunmen opened fire at the central market in Maiduguri on Friday.", "Maiduguri"),
        # a town that shares its name with its state, written as a site of it
        ("Nigeria", "Kano metropolis", "A curfew was imposed on Kano metropolis after the riot.", "Kano"),
        (
            "Kenya",
            "Parliament buildings",
            "Police fired tear gas outside the Parliament buildings in Nairobi.",
            "Nairobi",
        ),
        # a place the gazetteer lacks, named as the town's own
        ("Pakistan", "Police Lines", "A suicide bomber struck the mosque in Peshawar's Police Lines.", "Peshawar"),
        ("Pakistan", "police compound", "Gunmen stormed Quetta's police compound at dawn.", "Quetta"),
        # a site named after its town, less the generic word
        ("Nigeria", "Kano Municipal LGA", "A bomb exploded in Kano Municipal LGA.", "Kano"),
        # a known town, and a village the gazetteer lacks, stay: each is the most specific place named
        ("Nigeria", "Maiduguri", "Gunmen killed five people in Maiduguri.", None),
        ("Nigeria", "Kurmi", "Gunmen killed five people in Kurmi village near Maiduguri.", None),
        # a site with no known town in its sentence stays
        ("Nigeria", "the old market", "Gunmen attacked the old market at dawn.", None),
    ],
)
def test_a_site_gives_way_to_the_town_its_sentence_names(country, location, sentence, expected):
    from pipeline.extraction.normalise import town_for_site

    assert town_for_site(country, location, sentence) == expected


@pytest.mark.parametrize(
    "event, actor1, actor2, expected",
    [
        # a monitor quoted as the source is not who struck
        (
            "explosion_air_or_drone_strike",
            "Local Monitoring Observatory",
            "Civilians",
            ("Unidentified armed group", "Civilians"),
        ),
        # an official commenting on an attack is not its author
        (
            "violence_against_civilians_attack",
            "Interior Minister Ana Ruiz",
            "Civilians",
            ("Unidentified armed group", "Civilians"),
        ),
        # a building or a town hit is where, not whom: civilians are the target of the strike
        (
            "explosion_shelling_artillery_missile",
            "Military Forces of Ruritania",
            "Residential building in Dorvik",
            ("Military Forces of Ruritania", "Civilians"),
        ),
        (
            "explosion_shelling_artillery_missile",
            "Military Forces of Ruritania",
            "Dorvik",
            ("Military Forces of Ruritania", "Civilians"),
        ),
        # a battle has no place as its other side
        ("battle_armed_clash", "Military Forces of Ruritania", "Dorvik school", ("Military Forces of Ruritania", None)),
        # the media that report an attack did not carry it out
        ("violence_against_civilians_attack", "State media", "Civilians", ("Unidentified armed group", "Civilians")),
        # armed actors and real targets stay
        (
            "battle_armed_clash",
            "Military Forces of Ruritania",
            "Police Forces of Ruritania",
            ("Military Forces of Ruritania", "Police Forces of Ruritania"),
        ),
    ],
)
def test_a_reporter_an_official_or_a_place_is_never_a_side_of_violence(event, actor1, actor2, expected):
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.staged import draft_from
    from pipeline.extraction.text import Sentence

    text = "Shells hit Dorvik on Monday, killing three people, the observatory and the minister said."
    article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2024, 3, 5))
    slots = IncidentSlots(
        quote=text[:30],
        event=event,
        actor1=actor1,
        actor2=actor2,
        country="Ruritania",
        admin1=None,
        location="Dorvik",
        killed=[3],
    )
    d = draft_from(slots, [Sentence(1, 0, len(text), text)], article, date(2024, 3, 5))
    assert (d.actor1.name, d.actor2.name if d.actor2 else None) == expected


@pytest.mark.parametrize(
    "sentence, expected",
    [
        (
            "Rebels said they had captured the border town after a week of fighting.",
            "battle_nonstate_actor_overtakes_territory",
        ),
        ("Police arrested twelve suspects after the raid.", "strategic_arrests"),
        ("The two sides signed a ceasefire in the capital.", "strategic_agreement"),  # a deal stays a deal
        ("The governor visited the town.", "strategic_agreement"),  # nothing else told: the model's code stands
    ],
)
def test_an_agreement_without_a_deal_in_its_sentence_is_the_development_the_sentence_tells(sentence, expected):
    from pipeline.extraction.normalise import reconcile_event

    assert reconcile_event("strategic_agreement", sentence, 0) == expected


@pytest.mark.parametrize(
    "code, sentence, expected",
    [
        # a truce signed, with no violence told, is an agreement whatever code the model reached for
        (
            "explosion_air_or_drone_strike",
            "Negotiators signed a ceasefire late on Sunday in the capital.",
            "strategic_agreement",
        ),
        ("battle_armed_clash", "The two sides agreed a truce on Monday.", "strategic_agreement"),
        # violence in the sentence keeps the model's code
        ("battle_armed_clash", "Clashes broke out hours after the truce was signed.", "battle_armed_clash"),
    ],
)
def test_a_deal_with_no_violence_in_its_sentence_is_an_agreement(code, sentence, expected):
    from pipeline.extraction.normalise import reconcile_event

    assert reconcile_event(code, sentence, 0) == expected


def test_a_site_gives_way_to_the_town_a_nearby_sentence_names():
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.staged import draft_from
    from pipeline.extraction.text import split_sentences

    text = (
        "Residents of Maiduguri were counting their dead on Saturday.\n\n"
        "Gunmen opened fire at the central market on Friday, killing nine traders.\n\n"
        "The attackers fled towards the forest."
    )
    sentences = split_sentences(text)
    article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2024, 3, 9))
    slots = IncidentSlots(
        quote="Gunmen opened fire at the central market",
        event="violence_against_civilians_attack",
        actor1="Gunmen",
        actor2="Civilians",
        country="Nigeria",
        admin1="Borno",
        location="central market",
        killed=[9],
    )
    d = draft_from(slots, [sentences[1]], article, date(2024, 3, 9))
    assert d.location == "Maiduguri" and "town_for_site_nearby" in d.rules
    with rules.disabled(["town_for_site_nearby"]):
        assert draft_from(slots, [sentences[1]], article, date(2024, 3, 9)).location != "Maiduguri"


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("Mosque", "roadside mosque", True),
        ("Kurmi", "Kurmi village", True),
        ("the market", "Market", True),
        ("Kurmi", "Kurmiya", False),  # a word, not a prefix
        ("Dogo", "Kurmi", False),
    ],
)
def test_a_place_named_again_more_fully_is_the_same_place(a, b, same):
    from pipeline.extraction.staged import _same_place

    assert _same_place(a, b) is same


def test_a_headline_incident_is_read_with_its_lede():
    # A headline compresses its story: "rebels kill 12 in raid" names fighters and no victims, the lede says
    # who was hit. Read with the lede, the incident is an attack on civilians with the lede's toll and day.
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.staged import _lede_for, draft_from

    text = (
        "ADF rebels kill 12 in raid on border town\n\n"
        "Photo: the town's main road.\n\n"
        "Rebels raided the market of Kasindi on Friday, killing 12 villagers, police said on Saturday.\n\n"
        "The attackers burnt several shops.\n"
    )
    article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2023, 6, 17))
    sentences = split_sentences(text)
    headline, lede = sentences[0], sentences[2]  # sentences[1] is the caption
    assert _lede_for(headline, sentences, text) is lede  # a caption that states no harm is passed over
    assert _lede_for(lede, sentences, text) is None  # only a headline borrows a lede
    slots = IncidentSlots(
        quote=headline.text,
        event="violence_against_civilians_attack",
        actor1="ADF",
        actor2=None,
        country="Democratic Republic of the Congo",
        admin1=None,
        location="Kasindi",
        killed=[12],
    )
    alone = draft_from(slots, [headline], article, date(2023, 6, 17))
    assert alone is not None and alone.event_type == "Battles"  # fighters and no civilians in the headline
    read = draft_from(slots, [headline, lede], article, date(2023, 6, 17))
    assert read is not None and (read.event_type, read.sub_event_type) == ("Violence against civilians", "Attack")
    assert read.fatalities == 12 and read.cue is not None and read.cue.start == date(2023, 6, 16)

    # an article that opens with its lede (a full sentence on the first line) has no headline to read
    plain = "Rebels raided the market of Kasindi on Friday, killing 12 villagers.\nThe attackers burnt shops.\n"
    first = split_sentences(plain)
    assert _lede_for(first[0], first, plain) is None
    with rules.disabled(["headline_read_with_lede"]):
        assert _lede_for(headline, sentences, text) is None


@pytest.mark.parametrize(
    "first, first_toll, then, then_toll, toll",
    [
        # a headline's toll over two cities gives way to the lower total told for this place
        ("Security forces fire on protesters in two cities, at least 60 dead", 60, "In Moundou, 30 died.", 30, 30),
        # a share of the dead is a detail of the incident, not its total
        ("Air strikes killed 12 people in the market of Moundou.", 12, "Four of the dead were children.", 4, 12),
        # so is one victim named
        ("The bombing killed 93 people in Moundou.", 93, "Among the dead was a journalist.", 1, 93),
    ],
)
def test_merged_sentences_keep_the_lowest_total_reported(first, first_toll, then, then_toll, toll):
    from pipeline.extraction.staged import Draft, group_drafts
    from pipeline.extraction.text import Sentence
    from schemas import Actor

    def draft(number, text, killed):
        return Draft(
            event_type="Violence against civilians",
            sub_event_type="Attack",
            actor1=Actor(name="Military Forces of Chad", actor_type="state_forces"),
            actor2=Actor(name="Civilians", actor_type="civilians"),
            assoc1=[],
            country="Chad",
            admin1=None,
            location="Moundou",
            fatalities=killed,
            per_side=False,
            cue=None,
            sentences=[Sentence(number, 0, len(text), text)],
        )

    (merged,) = group_drafts([draft(1, first, first_toll), draft(2, then, then_toll)])
    assert merged.fatalities == toll
    assert ("lowest_toll" in merged.rules) is (toll < first_toll)
    with rules.disabled(["lowest_toll"]):
        (merged,) = group_drafts([draft(1, first, first_toll), draft(2, then, then_toll)])
    assert merged.fatalities == first_toll


def test_a_lede_that_counts_bodies_is_read_and_each_sentence_grounds_its_own_toll():
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.staged import _lede_for, draft_from

    text = (
        "Market lynching: police say 120 held\n\n"
        "By Tuesday, the bodies of two traders had been recovered from the market where a mob attacked them.\n\n"
        "They were beaten to death on Monday.\n"
    )
    article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2023, 6, 17))
    sentences = split_sentences(text)
    lede = _lede_for(sentences[0], sentences, text)
    assert lede is sentences[1]  # "the bodies of two traders": deaths told without the usual verbs
    slots = IncidentSlots(
        quote=sentences[0].text,
        event="riot_mob_violence",
        actor1="mob",
        actor2="trader",
        country="Pakistan",
        admin1=None,
        location=None,
        killed=[120],
    )
    draft = draft_from(slots, [sentences[0], lede], article, date(2023, 6, 17))
    assert draft is not None and draft.fatalities == 0  # 120 were held: no death word in the headline's count


@pytest.mark.parametrize(
    "country, sentence, parts",
    [
        # a plain list of towns: one incident per town, sharing the sentence
        (
            "Sudan",
            "Hundreds marched through the streets of Kassala, Gedaref and Dongola on Friday.",
            [("Kassala", True), ("Gedaref", True), ("Dongola", True)],
        ),
        # a clause per town: each town with the part that tells it
        (
            "Nigeria",
            "Two farmers were shot dead in Gusau, and a trader was killed in Kaura Namoda.",
            [("Gusau", False), ("Kaura Namoda", False)],
        ),
        (
            "Ukraine",
            "A 70-year-old man was killed in the city of Kherson and a woman in the village of Bilozerka.",
            [("Kherson", False), ("Bilozerka", False)],
        ),
        # "the village of X" says X is a settlement, whether the gazetteer knows it or not
        (
            "Syria",
            "Two men died: one in shelling on the village of Zarzour and another in an air strike on Ariha.",
            [("Zarzour", False), ("Ariha", False)],
        ),
        # a town told relative to another is one place
        ("Nigeria", "Gunmen attacked a village 20 km from Gusau and near Kaura Namoda.", []),
        # regions are not towns in a list
        ("Syria", "Clashes went on in Idlib and Hama provinces.", []),
        # but a region that a clause of its own is at is a place apart, whatever words come before the join
        (
            "Nigeria",
            "In Gusau district, bandits used explosives to blow up a bridge, while in Bakura district gunmen "
            "raided a police post.",
            [("Gusau", False), ("Bakura", False)],
        ),
        # a distance told inside the first clause does not tie the second town to the first
        (
            "Nigeria",
            "Two farmers were killed in Gusau, 20 km from the state capital, and a trader in Kaura Namoda.",
            [("Gusau", False), ("Kaura Namoda", False)],
        ),
        # one town only
        ("Nigeria", "Two farmers were shot dead in Gusau on Monday.", []),
    ],
)
def test_places_apart_finds_towns_told_as_a_list_or_a_clause_each(country, sentence, parts):
    from pipeline.extraction.normalise import places_apart

    found = places_apart(country, sentence)
    assert [(p.town, p.listed) for p in found] == parts
    for p in found:
        assert p.town in p.text and p.text in sentence


def test_one_event_per_place_and_day_even_in_one_sentence():
    from pipeline.extraction.staged import one_event_per_place

    def draft(text, location, fatalities, etype="Violence against civilians", sub="Attack"):
        return make_draft(
            text,
            number=4,
            event_type=etype,
            sub_event_type=sub,
            admin1="Zamfara",
            location=location,
            fatalities=fatalities,
        )

    # a clause per town: the toll goes with the clause that states it, the rest to the clause that states none
    clauses = "Gunmen shot dead two farmers in Gusau, and another villager was killed in Kaura Namoda."
    events = one_event_per_place([draft(clauses, "Gusau", 3)], clauses)
    assert [(d.location, d.fatalities) for d in events] == [("Gusau", 2), ("Kaura Namoda", 1)]
    assert all(d.rules.count("one_event_per_place") == 1 for d in events)  # recorded once on each
    assert events[1].admin1.startswith("Zamfara")  # the new town's region comes from the gazetteer
    # "two died: one in shelling on X and another in an air strike on Y": one each, each by its own means
    text = "Two men died: one in shelling on the village of Zarzour and another in an air strike on Ariha."
    strike = draft(text, "Ariha", 2, "Explosions/Remote violence", "Air/drone strike")
    strike.country = "Syria"
    events = one_event_per_place([strike], text)
    assert [(d.location, d.fatalities, d.sub_event_type) for d in events] == [
        ("Ariha", 1, "Air/drone strike"),
        ("Zarzour", 1, "Shelling/artillery/missile attack"),
    ]
    # a list of towns with no toll: one protest per town, the model's combined location split
    listed = "Protesters also gathered in Gusau and Kaura Namoda."
    protest = draft(listed, "Gusau and Kaura Namoda", 0, "Protests", "Peaceful protest")
    assert [d.location for d in one_event_per_place([protest], listed)] == ["Gusau", "Kaura Namoda"]
    # one toll over a list of towns cannot be split: the incident stays one
    shared = "Gunmen killed nine people in Gusau and Kaura Namoda."
    assert len(one_event_per_place([draft(shared, "Gusau", 9)], shared)) == 1
    # the model put the incident at neither town: nothing to split
    assert len(one_event_per_place([draft(clauses, "Sokoto", 3)], clauses)) == 1
    # a town another incident of the sentence is already at is left to it
    both = [draft(clauses, "Gusau", 2), draft(clauses, "Kaura Namoda", 1)]
    assert [d.location for d in one_event_per_place(both, clauses)] == ["Gusau", "Kaura Namoda"]
    with rules.disabled(["one_event_per_place"]):
        assert len(one_event_per_place([draft(clauses, "Gusau", 3)], clauses)) == 1


@pytest.mark.parametrize(
    "finder, country, text, expected",
    [
        ("striker", "Syria", "Witnesses said Russian warplanes carried out the raid.", "Military Forces of Russia"),
        ("striker", "Syria", "Activists blamed regime aircraft for the strike.", "Military Forces of Syria"),
        ("striker", "Lebanon", "An Israeli drone hit a car on the coastal road.", "Military Forces of Israel"),
        ("striker", "Syria", "One child died in regime rocket fire on the village.", "Military Forces of Syria"),
        ("striker", "Ukraine", "Officials said Russian shelling killed two men.", "Military Forces of Russia"),
        (
            "striker",
            "Syria",
            "The Syrian Observatory for Human Rights gave the toll.",
            None,
        ),  # a monitor, not a striker
        (
            "striker",
            "Yemen",
            "A raid by coalition aircraft hit the market.",
            None,
        ),  # a coalition is no one country's force
        # a claim of responsibility names an armed group, never a state force or no one
        ("claimant", "Somalia", "The militant group al-Shabaab claimed responsibility for the attack.", "Al-Shabaab"),
        ("claimant", "Somalia", "No group has claimed responsibility for the attack.", None),
        ("claimant", "Syria", "The army claimed the strike on its channel.", None),
        ("claimant", "Somalia", "Al-Shabaab fighters were seen in the area.", None),  # no claim
    ],
)
def test_a_side_the_story_names_as_firing_or_claiming(finder, country, text, expected):
    from pipeline.extraction.normalise import claimant_named, striker_named

    actor = {"striker": striker_named, "claimant": claimant_named}[finder](country, text)
    assert (actor.name if actor else None) == expected


def test_an_unidentified_striker_is_named_by_the_sentences_about_the_strike():
    from pipeline.extraction.staged import draft_from

    text = (
        "Air strikes killed 12 people at a market in Ariha on Monday.\n"
        "Residents blamed Russian jets for the raid.\n"
        "In Saraqib, regime aircraft bombed a bakery.\n"
    )
    article = Article(path="a.txt", file_name="a.txt", article_id="a", text=text, published=TUESDAY)
    strike, blamed, other = split_sentences(text)
    slots = make_slots(
        "Air strikes killed 12",
        event="explosion_air_or_drone_strike",
        country="Syria",
        admin1="Idlib",
        location="Ariha",
        killed=[12],
    )
    draft = draft_from(slots, [strike], article, TUESDAY)
    assert draft.actor1.name == "Military Forces of Russia"
    assert "striker_named_nearby" in draft.rules
    # a sentence about another town is another incident: its striker is not this one's
    article = Article(
        path="a.txt", file_name="a.txt", article_id="a", text=strike.text + "\n" + other.text + "\n", published=TUESDAY
    )
    (strike, _) = split_sentences(article.text)
    assert draft_from(slots, [strike], article, TUESDAY).actor1.name == "Unidentified armed group"
    with rules.disabled(["striker_named_nearby"]):
        article = Article(path="a.txt", file_name="a.txt", article_id="a", text=text, published=TUESDAY)
        strike = split_sentences(text)[0]
        assert draft_from(slots, [strike], article, TUESDAY).actor1.name == "Unidentified armed group"


def test_a_protest_broken_up_has_the_force_its_sentence_names():
    from pipeline.extraction.staged import draft_from

    text = "Police fired tear gas to disperse hundreds of protesters in Mombasa on Monday.\n"
    article = Article(path="a.txt", file_name="a.txt", article_id="a", text=text, published=TUESDAY)
    slots = make_slots(
        "Police fired tear gas",
        event="protest_with_intervention",
        actor1="Protesters",
        actor2=None,
        country="Kenya",
        location="Mombasa",
    )
    draft = draft_from(slots, split_sentences(text), article, TUESDAY)
    assert (draft.actor1.name, draft.actor2.name) == ("Protesters", "Police Forces of Kenya")
    assert "intervener_named" in draft.rules
    with rules.disabled(["intervener_named"]):
        assert draft_from(slots, split_sentences(text), article, TUESDAY).actor2 is None


def test_another_strike_starts_a_new_incident():
    from pipeline.extraction.staged import group_drafts
    from schemas import Actor

    def draft(number, text, location):
        return make_draft(
            text,
            number=number,
            event_type="Explosions/Remote violence",
            sub_event_type="Air/drone strike",
            actor1=Actor(name="Military Forces of Russia", actor_type="external_forces"),
            country="Ukraine",
            location=location,
        )

    first = draft(1, "A glide bomb hit a shopping centre in Kharkiv on Saturday.", "shopping centre")
    more = draft(2, "Smoke rose over the shopping centre for hours after the bomb hit.", None)
    later = draft(3, "Later that day, another strike hit an apartment block, wounding nine people.", None)
    grouped = group_drafts([first, more, later])
    assert [len(g.sentences) for g in grouped] == [2, 1]


def test_a_swept_attack_without_deaths_stands_when_people_were_shot_at_on_a_day_of_its_own():
    from pipeline.extraction.staged import _stands_without_deaths
    from pipeline.extraction.text import DateCue

    def draft(text, cue):
        made = make_draft(text, number=5, country="India", cue=cue)
        return made.sentences[0], made

    monday = DateCue(date(2019, 8, 26), None, 1)
    shot_at = "On Monday, gunmen opened fire on two workers at a construction site."
    assert _stands_without_deaths(*reversed(draft(shot_at, monday)), screened_in=True)
    assert not _stands_without_deaths(*reversed(draft(shot_at, None)), screened_in=True)  # no day of its own
    assert not _stands_without_deaths(*reversed(draft(shot_at, monday)), screened_in=False)
    statement = "On Monday, the governor said the attack on the workers would not go unpunished."
    assert not _stands_without_deaths(*reversed(draft(statement, monday)), screened_in=True)


@pytest.mark.parametrize(
    "text, expected",
    [
        # the gazetteer's "Northern Darfur", as the story spells it
        ("Shells hit a market in El Fasher, the capital of North Darfur state, on Monday.", "North Darfur"),
        # the story names no region: the gazetteer's name
        ("Shells hit a market in El Fasher on Monday.", "Northern Darfur"),
    ],
)
def test_a_region_filled_from_the_gazetteer_is_spelled_as_the_story_spells_it(text, expected):
    from pipeline.extraction.normalise import settle_places

    assert settle_places("Sudan", None, "El Fasher", text) == (expected, "El Fasher")


def test_a_region_named_at_a_sentence_start_is_the_region_without_the_article():
    from pipeline.extraction.normalise import settle_places

    text = "The Idlib province town of Maarat al-Numan was hit by air strikes."
    assert settle_places("Syria", None, "Maarat al-Numan", text) == ("Idlib", "Maarat al-Numan")


def test_two_incidents_listed_from_the_clauses_of_one_headline_each_read_their_own_clause():
    from pipeline.extraction.staged import _clause_quoted, _sentences_split_by_the_list

    text = "Rebels capture Bunia airport; protesters torch a police post in Kisangani\nMore text follows here.\n"
    (headline, _) = split_sentences(text)

    def slots(quote):
        return make_slots(
            quote,
            event="battle_armed_clash",
            actor1="Rebel groups",
            actor2=None,
            country="Democratic Republic of Congo",
        )

    capture, protest = slots("Rebels capture Bunia airport"), slots("protesters torch a police post")
    assert _sentences_split_by_the_list([(capture, headline), (protest, headline)]) == {headline.number}
    clause = _clause_quoted(headline, protest.quote)
    assert clause.text == "protesters torch a police post in Kisangani"
    assert text[clause.start : clause.end] == clause.text  # evidence stays an exact span of the article
    assert _clause_quoted(headline, capture.quote).text == "Rebels capture Bunia airport"
    # one incident listed from the sentence: it keeps the whole sentence
    assert _sentences_split_by_the_list([(capture, headline)]) == set()
    with rules.disabled(["clause_of_its_own"]):
        assert _sentences_split_by_the_list([(capture, headline), (protest, headline)]) == set()


def test_an_attack_by_unidentified_men_gets_the_group_that_claimed_it():
    from pipeline.extraction.staged import draft_from

    text = (
        "A roadside bomb killed four soldiers near Afgoye on Monday.\n"
        "The militant group al-Shabaab claimed responsibility for the attack.\n"
    )
    article = Article(path="a.txt", file_name="a.txt", article_id="a", text=text, published=TUESDAY)
    slots = make_slots(
        "A roadside bomb killed four soldiers",
        event="explosion_remote_explosive_landmine_ied",
        actor2="Military Forces of Somalia",
        country="Somalia",
        location="Afgoye",
        killed=[4],
    )
    draft = draft_from(slots, split_sentences(text)[:1], article, TUESDAY)
    assert draft.actor1.name == "Al-Shabaab" and "claimed_by_named_group" in draft.rules
    with rules.disabled(["claimed_by_named_group"]):
        assert draft_from(slots, split_sentences(text)[:1], article, TUESDAY).actor1.name == "Unidentified armed group"


def test_a_sentence_that_names_no_means_is_read_with_its_story():
    from pipeline.extraction.normalise import reconcile_event

    sentence = "A dozen villages were hit and 40 residents were killed."
    raids = "Armed men raided villages on Sunday night. " + sentence
    shelling = "Artillery shelling went on all night. " + sentence
    # a story of raids, no weapon fired from afar: armed men attacking people
    assert reconcile_event("explosion_air_or_drone_strike", sentence, 40, raids) == "violence_against_civilians_attack"
    # a story of shelling: the model's reading stands
    assert reconcile_event("explosion_air_or_drone_strike", sentence, 40, shelling) == "explosion_air_or_drone_strike"
    # "assailants struck" is an attack, not an explosion
    struck = "The assailants struck at about 10 p.m., shooting villagers."
    assert reconcile_event("explosion_air_or_drone_strike", struck, 0, struck) == "violence_against_civilians_attack"


def test_a_place_retaken_by_the_state_is_the_government_regaining_territory():
    from pipeline.extraction.normalise import territory_code
    from schemas import Actor

    army = Actor(name="Military Forces of Sudan", actor_type="state_forces")
    rebels = Actor(name="Rapid Support Forces", actor_type="rebel_group")
    taken = "battle_nonstate_actor_overtakes_territory"
    assert territory_code(taken, army) == "battle_government_regains_territory"
    assert territory_code(taken, rebels) == taken
    foreign = Actor(name="Military Forces of Russia", actor_type="external_forces")
    assert territory_code("battle_government_regains_territory", foreign) == taken  # ACLED: not the government
    assert territory_code("battle_armed_clash", army) == "battle_armed_clash"


def test_riot_police_are_no_riot_and_rioters_act_in_a_violent_demonstration():
    from pipeline.extraction.normalise import actors_for, reconcile_event
    from schemas import Actor

    heading = "Demonstrators marched again in Khash while riot police headed to the square."
    assert reconcile_event("protest_peaceful", heading, 0) == "protest_peaceful"
    governor = Actor(name="Governor of Sokoto", actor_type="political_militia")
    police = Actor(name="Police Forces of Nigeria", actor_type="state_forces")
    embassy = Actor(name="Embassies", actor_type="political_militia")
    rioters, other = actors_for("Riots", "Violent demonstration", governor, police)
    assert (rioters.name, other.name) == ("Rioters", "Police Forces of Nigeria")
    assert actors_for("Riots", "Violent demonstration", governor, embassy)[1] is None  # a building is no side


def test_deaths_told_near_a_peaceful_protest_are_another_incident():
    from pipeline.extraction.staged import group_drafts
    from schemas import Actor

    def draft(number, text, etype, sub, fatalities):
        protesters = Actor(name="Protesters", actor_type="protesters")
        return make_draft(
            text,
            number=number,
            event_type=etype,
            sub_event_type=sub,
            actor1=protesters,
            actor2=None,
            country="Iran",
            location="Khash",
            fatalities=fatalities,
        )

    march = draft(3, "Demonstrators took to the streets again in Khash.", "Protests", "Peaceful protest", 0)
    earlier = draft(
        4, "A week earlier, a dozen people were killed in Khash.", "Protests", "Protest with intervention", 12
    )
    assert len(group_drafts([march, earlier])) == 2


def test_a_swept_clash_without_deaths_or_day_stands_only_at_a_town_its_sentence_names():
    from pipeline.extraction.staged import _stands_without_deaths
    from schemas import Actor

    def draft(text, location):
        made = make_draft(
            text,
            number=6,
            event_type="Battles",
            sub_event_type="Armed clash",
            actor2=Actor(name="Police Forces of Nigeria", actor_type="state_forces"),
            location=location,
        )
        return made, made.sentences[0]

    raid = "Meanwhile in Gusau, gunmen raided a police post; no one was hurt."
    assert _stands_without_deaths(*draft(raid, "Gusau"), screened_in=True)
    assert not _stands_without_deaths(*draft(raid, "Gusau"), screened_in=False)  # never screened in
    # a place the sentence does not name, or no place: background told in passing
    assert not _stands_without_deaths(*draft(raid, "Kaura Namoda"), screened_in=True)
    assert not _stands_without_deaths(*draft("Gunmen have raided police posts for years.", None), screened_in=True)
    # "the village of X" names a settlement the gazetteer may not know
    village = "Gunmen also fired on the village of Tudun Wada, the police said."
    assert _stands_without_deaths(*draft(village, "Tudun Wada"), screened_in=True)


def test_an_incident_named_as_one_already_told_joins_it_whatever_its_own_words_suggest():
    from pipeline.extraction.staged import group_drafts
    from schemas import Actor

    army = Actor(name="Military Forces of Nigeria", actor_type="state_forces")
    attack = make_draft("Gunmen killed 30 villagers in Kurmi on Sunday.", location="Kurmi", fatalities=30)
    told = "Sunday's attack on Kurmi came a day after soldiers left the area."
    clash = make_draft(
        told, number=2, event_type="Battles", sub_event_type="Armed clash", actor2=army, location="Kurmi village"
    )
    (merged,) = group_drafts([attack, clash])
    assert (merged.sub_event_type, merged.fatalities, len(merged.sentences)) == ("Attack", 30, 2)
    assert "told_before" in merged.rules
    # a new toll of its own, another place, or no reference to a known incident: two events
    with_toll = dataclasses.replace(clash, fatalities=4)
    elsewhere = dataclasses.replace(clash, location="Gusau")
    fresh = make_draft(
        "Soldiers clashed with gunmen near Kurmi.",
        number=2,
        event_type="Battles",
        sub_event_type="Armed clash",
        actor2=army,
        location="Kurmi",
    )
    for other in (with_toll, elsewhere, fresh):
        assert len(group_drafts([attack, other])) == 2
    with rules.disabled(["told_before"]):
        assert len(group_drafts([attack, clash])) == 2


def test_a_swept_abduction_without_deaths_stands_only_when_its_sentence_tells_one():
    from pipeline.extraction.staged import _stands_without_deaths

    def draft(text):
        made = make_draft(text, number=7, sub_event_type="Abduction/forced disappearance", country="Cameroon")
        return made, made.sentences[0]

    assert _stands_without_deaths(*draft("Gunmen kidnapped three traders on the road to Kumbo."), screened_in=False)
    accused = "The two men were accused by the fighters of being informers for the army."
    assert not _stands_without_deaths(*draft(accused), screened_in=False)


@pytest.mark.parametrize(
    "location, expected",
    [
        ("Hurum, Darawat and Ganawuri", "Hurum"),
        ("Jibine and Tal Maleh", "Jibine"),
        ("Khan Sheikhun", "Khan Sheikhun"),
        ("Kafr Nabl", "Kafr Nabl"),
    ],
)
def test_a_location_that_lists_places_is_the_first_of_them(location, expected):
    from pipeline.extraction.staged import _first_place

    assert _first_place(location, "Syria") == expected


def test_people_arrested_over_a_killing_are_no_toll():
    from pipeline.extraction.staged import draft_from

    text = "Police arrested three suspects in connection with the killing of a trader on Monday.\n"
    article = Article(path="a.txt", file_name="a.txt", article_id="a", text=text, published=TUESDAY)
    slots = make_slots("Police arrested three suspects", event="strategic_arrests", actor1="Police", killed=[3])
    draft = draft_from(slots, split_sentences(text), article, TUESDAY)
    assert draft.sub_event_type == "Arrests" and draft.fatalities == 0


@pytest.mark.parametrize("reporter", ["MSF", "the Syrian Observatory for Human Rights", "a UN spokesman"])
def test_a_reporter_is_never_the_attacker(reporter):
    from pipeline.extraction.staged import draft_from

    text = "Gunmen killed four traders on the road to Macomia on Monday, a local official said.\n"
    article = Article(path="a.txt", file_name="a.txt", article_id="a", text=text, published=TUESDAY)
    slots = make_slots(
        "Gunmen killed four traders", actor1=reporter, country="Mozambique", location="Macomia", killed=[4]
    )
    draft = draft_from(slots, split_sentences(text), article, TUESDAY)
    assert draft.actor1.name == "Unidentified armed group"
