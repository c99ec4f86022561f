"""The decision table that turns the model's answers about an incident into the codebook's event type.

Cases follow the codebook's taxonomy (shared/CODEBOOK.md, "Event types and
sub-event types") and ACLED's definitions it follows, not any article.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.extraction import rules
from pipeline.extraction.answers import EVENT_CODES, IncidentMeaning, IncidentSlots
from pipeline.extraction.meaning import code_for, event_table
from pipeline.extraction.staged import draft_from
from pipeline.extraction.text import split_sentences
from pipeline.ingest import Article


def _m(means: str, hit: str) -> IncidentMeaning:
    return IncidentMeaning(means=means, hit=hit)


@pytest.mark.parametrize(
    ("listed", "means", "hit", "killed", "expected"),
    [
        # explosions take precedence over the target: an air strike on civilians stays an air strike
        ("violence_against_civilians_attack", "air_or_drone_strike", "civilians", 5, "explosion_air_or_drone_strike"),
        ("explosion_air_or_drone_strike", "bomb_ied_landmine", "fighters_or_security_forces", 4,
         "explosion_remote_explosive_landmine_ied"),
        ("explosion_air_or_drone_strike", "suicide_bombing", "civilians", 9, "explosion_suicide_bomb"),
        ("battle_armed_clash", "shelling_rockets_missiles", "both", 3, "explosion_shelling_artillery_missile"),
        # armed men: unarmed victims make violence against civilians, armed ones a battle
        ("battle_armed_clash", "gunfire_or_armed_assault", "civilians", 7, "violence_against_civilians_attack"),
        ("violence_against_civilians_attack", "gunfire_or_armed_assault", "fighters_or_security_forces", 4,
         "battle_armed_clash"),
        ("violence_against_civilians_attack", "gunfire_or_armed_assault", "both", 6, "battle_armed_clash"),
        # nobody hurt: the listed battle or attack stands
        ("violence_against_civilians_attack", "gunfire_or_armed_assault", "no_one", 0,
         "violence_against_civilians_attack"),
        # abduction and rape are violence against civilians whoever did them
        ("battle_armed_clash", "abduction", "civilians", 0, "violence_against_civilians_abduction"),
        ("riot_mob_violence", "rape_or_sexual_violence", "civilians", 0, "violence_against_civilians_sexual_violence"),
        # demonstrations: protesters killed is excessive force; met by police without deaths, the listed code stands
        ("protest_with_intervention", "protest", "civilians", 2, "protest_excessive_force_against_protesters"),
        ("protest_with_intervention", "protest", "civilians", 0, "protest_with_intervention"),
        ("violence_against_civilians_attack", "protest", "no_one", 0, "protest_peaceful"),
        ("violence_against_civilians_attack", "riot_or_mob", "civilians", 1, "riot_mob_violence"),
        ("riot_violent_demonstration", "riot_or_mob", "no_one", 0, "riot_violent_demonstration"),
        ("protest_with_intervention", "arrests", "civilians", 0, "protest_with_intervention"),
        ("violence_against_civilians_attack", "arrests", "civilians", 0, "strategic_arrests"),
        # a territory change keeps the listed sub-type; "other" keeps the listed code
        ("battle_government_regains_territory", "capture_of_a_place", "no_one", 0,
         "battle_government_regains_territory"),
        ("strategic_agreement", "other", "no_one", 0, "strategic_agreement"),
    ],
)  # fmt: skip
def test_the_decision_table_follows_the_taxonomy(listed, means, hit, killed, expected):
    assert code_for(listed, _m(means, hit), killed) == expected


def test_every_row_of_the_table_names_real_codes_and_answers():
    rows = event_table()
    assert rows and all(row["code"] in EVENT_CODES for row in rows)
    # every means the model may answer, except "other", has a row
    means = set(IncidentMeaning.model_fields["means"].annotation.__args__)
    assert means - {row["means"] for row in rows} == {"other"}


ARTICLE = (
    "Gunmen attack village\n\nGunmen stormed the village of Tala on Monday and shot dead six farmers, residents said."
)


def _draft(listed: str, answers: IncidentMeaning | None, actor2: str | None = None):
    article = Article(path="a.txt", file_name="a.txt", text=ARTICLE, published=date(2024, 5, 8))
    sentence = split_sentences(ARTICLE)[-1]
    slots = IncidentSlots(
        quote="Gunmen stormed the village of Tala",
        event=listed,
        actor1="Unidentified armed group",
        actor2=actor2,
        country="Nigeria",
        admin1=None,
        location="Tala",
        killed=[6],
    )
    return draft_from(slots, [sentence], article, article.published, answers)


def test_the_model_answer_settles_the_type_and_the_civilian_target():
    draft = _draft("battle_armed_clash", _m("gunfire_or_armed_assault", "civilians"))
    assert (draft.event_type, draft.sub_event_type) == ("Violence against civilians", "Attack")
    assert draft.actor2 is not None and draft.actor2.name == "Civilians"
    assert "meaning_table" in draft.rules and "meaning_actors" in draft.rules


def test_with_the_table_off_the_keyword_rules_decide_as_before():
    with rules.disabled(["meaning_table"]):
        by_keywords = _draft("battle_armed_clash", _m("gunfire_or_armed_assault", "fighters_or_security_forces"))
    without_answers = _draft("battle_armed_clash", None)
    assert (by_keywords.event_type, by_keywords.sub_event_type) == (
        without_answers.event_type,
        without_answers.sub_event_type,
    )
    assert "meaning_table" not in by_keywords.rules


def test_a_battle_has_no_civilian_side():
    draft = _draft("violence_against_civilians_attack", _m("gunfire_or_armed_assault", "both"), actor2="Civilians")
    assert draft.event_type == "Battles" and draft.actor2 is None


def test_the_meaning_prompt_asks_one_question_per_incident_and_the_answer_codes_it():
    """The shipped `meaning` prompt: each listed or swept incident gets one `meaning` call on the cached
    article prefix, and the code follows from the answer (gunfire on civilians: an attack on civilians)."""
    from pipeline.backends import get_backend
    from pipeline.extraction.article import extract_article
    from pipeline.prompts import load_prompt

    text = (
        "Clashes in the north\n\n"
        "Gunmen stormed the village of Tala on Monday and killed 6 farmers, residents said.\n"
        "The governor condemned the attack."
    )
    article = Article(path="a.txt", file_name="a.txt", text=text, article_id="a", published=date(2024, 5, 8))
    prompt = load_prompt("meaning")
    assert prompt.has_section("meaning") and not load_prompt("default").has_section("meaning")
    result = extract_article(article, prompt, get_backend("fake"), run_id="r")
    assert result.error is None
    stages = [c["stage"] for c in result.calls]
    assert stages.count("meaning") == len(result.events) == 1
    (event,) = result.events
    assert (event.event_type, event.sub_event_type) == ("Violence against civilians", "Attack")
    assert event.actor2 is not None and event.actor2.name == "Civilians" and event.fatalities == 6
