"""Actor names onto the codebook's names and types (`normalise_actor` and the table `actors.json`).

Cases follow the codebook's actor rules: a specific group keeps its name, state
forces are "Military Forces of X" (external forces abroad), generic names only
when nothing specific is named. The sentences are made up for the rules.
"""

from datetime import date

import pytest

from pipeline.extraction.normalise import (
    GuessedActor,
    _alias_pattern,
    actor_rules,
    canonical_country,
    is_armed,
    normalise_actor,
)


def actor(name, country, text=None, actor_type=None):
    """The normalised actor, for a text that contains the name unless a text is given."""
    a = normalise_actor(name, actor_type, country, name if text is None else text)
    return a.name, a.actor_type.value


# --------------------------------------------------------------------------- the table


def test_the_table_covers_the_conflicts_of_many_countries():
    rules = actor_rules()
    groups = rules["groups"]
    assert len(groups) >= 300
    names = [g["name"] for g in groups]
    assert len(names) == len(set(names))
    covered = {c for g in groups for c in g["countries"]}
    assert len(covered) >= 60
    types = {"state_forces", "rebel_group", "political_militia", "identity_militia", "external_forces"}
    for g in groups:
        assert g["type"] in types, g["name"]
        assert g["countries"], g["name"]
        assert set(g["countries"]) <= set(rules["demonyms"]), g["name"]
    # the views other code reads
    assert rules["named"]["Al-Shabaab"] and rules["named_types"]["Al-Shabaab"] == "rebel_group"
    assert "Somalia" in rules["countries"]["Al-Shabaab"]


def test_no_spelling_belongs_to_two_entries_in_one_country():
    from pipeline.extraction.normalise import _key

    seen: dict[tuple[str, str], str] = {}
    for g in actor_rules()["groups"]:
        for alias in [g["name"], *g["aliases"]]:
            for country in g["countries"]:
                owner = seen.setdefault((_key(alias), country), g["name"])
                assert owner == g["name"], f"{alias!r} in {country}: {owner} and {g['name']}"


def test_short_aliases_are_acronyms_written_in_capitals():
    for g in actor_rules()["groups"]:
        for alias in g["aliases"]:
            if len(alias) <= 4:
                assert alias != alias.lower(), f"{g['name']}: lower-case short alias {alias!r}"


def test_branches_name_entries_of_their_country():
    rules = actor_rules()
    countries = rules["countries"]
    for global_name, by_country in rules["branches"].items():
        for country, branch in by_country.items():
            assert country in countries[global_name] and country in countries[branch]


# --------------------------------------------------------------------------- state forces


@pytest.mark.parametrize("country", ["Syria", "Myanmar", "Sudan", "Mali", "Yemen"])
@pytest.mark.parametrize(
    "name", ["regime forces", "the regime", "government troops", "pro-government forces", "loyalists"]
)
def test_any_regime_is_the_event_countrys(name, country):
    assert actor(name, country) == (f"Military Forces of {country}", "state_forces")


def test_forces_named_by_their_country_are_that_countrys_and_external_abroad():
    assert actor("Russian warplanes", "Syria") == ("Military Forces of Russia", "external_forces")
    assert actor("Russian troops", "Russia") == ("Military Forces of Russia", "state_forces")
    assert actor("Turkish army", "Syria") == ("Military Forces of Turkey", "external_forces")
    # a sponsor is not the actor: government forces backed by Russia are the government's
    assert actor("Russian-backed government forces", "Syria") == ("Military Forces of Syria", "state_forces")
    assert actor("Syria", "Syria") == ("Military Forces of Syria", "state_forces")


def test_country_names_take_the_article_where_datasets_write_it():
    assert actor("Philippine army", "Philippines")[0] == "Military Forces of the Philippines"
    assert actor("Congolese soldiers", "DR Congo") == (
        "Military Forces of the Democratic Republic of Congo",
        "state_forces",
    )
    assert actor("US forces", "Iraq") == ("Military Forces of the United States", "external_forces")


def test_the_event_country_may_be_given_by_a_demonym_or_short_name():
    assert canonical_country("Burmese") == "Myanmar"
    assert canonical_country("DRC") == "Democratic Republic of Congo"
    assert actor("Myanmar military", "Burmese") == ("Military Forces of Myanmar", "state_forces")


def test_named_state_forces_and_police():
    assert actor("Tatmadaw", "Myanmar") == ("Military Forces of Myanmar", "state_forces")
    assert actor("FARDC", "DRC")[0] == "Military Forces of the Democratic Republic of Congo"
    assert actor("IDF", "Lebanon") == ("Military Forces of Israel", "external_forces")
    assert actor("SAF", "Sudan") == ("Military Forces of Sudan", "state_forces")
    # regional and special police are their country's police
    assert actor("Punjab Police", "Pakistan") == ("Police Forces of Pakistan", "state_forces")
    assert actor("Kenyan police", "Kenya") == ("Police Forces of Kenya", "state_forces")
    assert actor("CRPF", "India") == ("Police Forces of India", "state_forces")


# --------------------------------------------------------------------------- case-aware matching


def test_acronyms_match_only_in_capitals_inside_a_description():
    # prose that happens to spell an acronym in lower case is not the group
    assert actor("a tip from residents", "Syria")[0] != "Turkistan Islamic Party"
    assert actor("this is what they said", "Syria")[0] != "Islamic State"
    assert actor("TIP fighters", "Syria")[0] == "Turkistan Islamic Party"
    assert actor("fighters of the IS group", "Iraq")[0] == "Islamic State"


def test_the_whole_name_may_differ_in_case_and_punctuation():
    assert actor("hayat tahrir al sham", "Syria")[0] == "Hayat Tahrir al-Sham"
    assert actor("Hay'at Tahrir al-Sham (HTS)", "Syria")[0] == "Hayat Tahrir al-Sham"
    assert actor("al shabab", "Somalia")[0] == "Al-Shabaab"


def test_aliases_inside_a_description_match_as_written():
    assert _alias_pattern("al-Shabaab").search("Al-Shabaab militants")  # a capitalised first letter
    assert _alias_pattern("Hayat Tahrir al-Sham").search("jihadists of Hayat Tahrir Al-Sham")  # an article particle
    assert not _alias_pattern("HTS").search("the hts")
    assert not _alias_pattern("Hezbollah").search("Hezbollah-backed militia")  # a sponsor, not the actor
    assert not _alias_pattern("al-Qaeda").search("al-Qaeda affiliated group")
    assert actor("Somali-based al-Qaeda affiliated group al-Shabaab", "Somalia")[0] == "Al-Shabaab"


# --------------------------------------------------------------------------- country-aware matching


def test_an_entry_matches_only_in_its_countries():
    assert actor("SNA troops", "Somalia") == ("Military Forces of Somalia", "state_forces")
    assert actor("SNA", "Syria") == ("Syrian National Army", "rebel_group")
    # unless the name itself names the country
    assert actor("Syrian National Army", "Libya")[0] == "Syrian National Army"
    assert actor("ADF rebels", "DRC")[0] == "Allied Democratic Forces"
    assert actor("ADF fighters", "Cameroon")[0] == "Ambazonian separatists"
    assert actor("VDP", "Burkina Faso")[0] == "Volunteers for the Defense of the Homeland"
    assert actor("VDP", "DR Congo")[0] == "Wazalendo"
    assert actor("Taliban", "Afghanistan")[0] == "Taliban"
    assert actor("Taliban", "Pakistan")[0] == "Tehreek-e-Taliban Pakistan"
    assert actor("Afghan Taliban", "Pakistan")[0] == "Taliban"


def test_a_global_name_stands_for_its_local_branch():
    assert actor("Islamic State", "Syria")[0] == "Islamic State"
    assert actor("Islamic State", "Nigeria")[0] == "Islamic State West Africa Province"
    assert actor("ISIS militants", "Mozambique")[0] == "Islamic State Mozambique Province"
    assert actor("al-Qaeda", "Yemen")[0] == "Al-Qaeda in the Arabian Peninsula"
    assert actor("al-Shabab", "Mozambique")[0] == "Islamic State Mozambique Province"


def test_the_longest_name_inside_a_description_wins():
    assert (
        actor("fighters of the Islamic State West Africa Province", "Chad")[0] == "Islamic State West Africa Province"
    )
    assert actor("Kataib Hezbollah militia", "Iraq")[0] == "Kataib Hezbollah"


# --------------------------------------------------------------------------- generic words and proper names


def test_peoples_in_a_group_name_is_not_civilians():
    assert actor("People's Defence Force", "Myanmar") == ("People's Defense Force", "rebel_group")
    assert actor("local PDF fighters", "Myanmar")[0] == "People's Defense Force"
    # an unknown group with "People's" keeps its name and an armed type
    name, atype = actor("People's Liberation Front of Zogland", "Chad")
    assert (name, atype) == ("People's Liberation Front of Zogland", "rebel_group")


def test_unarmed_people_are_named_by_what_they_are():
    assert actor("Amhara civilians", "Ethiopia") == ("Civilians", "civilians")
    assert actor("Residents of Kalanga village", "Uganda") == ("Civilians", "civilians")
    assert actor("teachers at a primary school", "Cameroon") == ("Civilians", "civilians")
    assert actor("members of the Zogo ethnic group", "Chad") == ("Civilians", "civilians")
    assert actor("Houthi supporters", "Yemen") == ("Protesters", "protesters")
    assert actor("angry mob", "Uganda") == ("Rioters", "rioters")
    # ... but armed men are not civilians, and a group called "Boys" is a group
    assert actor("armed men", "Ethiopia") == ("Unidentified armed group", "political_militia")
    assert actor("Zogo Boys", "Nigeria")[0] == "Zogo Boys"


def test_generic_names_when_nothing_specific_is_named():
    assert actor("gunmen", "Nigeria") == ("Unidentified armed group", "political_militia")
    assert actor("suspected militants", "Pakistan")[0] == "Unidentified armed group"
    assert actor("jihadists", "Syria") == ("Rebel groups", "rebel_group")
    assert actor("rebel forces", "Syria") == ("Rebel groups", "rebel_group")
    assert actor("Bandits", "Nigeria")[0] == "Unidentified armed group"
    assert actor("Unidentified armed group", "Mali")[0] == "Unidentified armed group"
    assert actor("Syrian clashes", "Syria")[0] == "Unidentified armed group"  # an event is no actor


# --------------------------------------------------------------------------- specific names are kept


def test_a_known_group_is_never_erased_into_a_generic_name():
    assert actor("Houthi fighters", "Yemen") == ("Houthis", "rebel_group")
    assert actor("Arakan Army troops", "Myanmar")[0] == "Arakan Army"
    assert actor("RSF paramilitaries", "Sudan")[0] == "Rapid Support Forces"
    assert actor("Manbij Military Council", "Syria")[0] == "Manbij Military Council"  # "Military" in a name


def test_an_unknown_specific_name_in_the_article_is_kept_and_typed_from_its_words():
    text = "The Zogland Liberation Army, the Kassa Brigade and the Tuma clan militia clashed with the Mbeko vigilantes."
    assert actor("Zogland Liberation Army", "Chad", text) == ("Zogland Liberation Army", "rebel_group")
    assert actor("Kassa Brigade", "Chad", text) == ("Kassa Brigade", "political_militia")
    assert actor("Tuma clan militia", "Chad", text) == ("Tuma clan militia", "identity_militia")
    assert actor("Zogland Liberation Army", "Chad", "No such name here.")[0] == "Rebel groups"


def test_a_named_group_the_article_never_names_is_a_guess():
    assert actor("Free Syrian Army", "Syria", "Rebels clashed with regime forces.") == ("Rebel groups", "rebel_group")
    assert actor("Free Syrian Army", "Syria", "Fighters of the FSA clashed.")[0] == "Free Syrian Army"


def test_a_name_no_rule_can_type_is_not_evidence_of_an_armed_target():
    text = "Gunmen killed Amadou Zongo and wounded residents of Tessit."
    person = normalise_actor("Amadou Zongo", None, "Mali", text)
    assert person.name == "Amadou Zongo" and not is_armed(person)
    word = normalise_actor("Tessit", None, "Mali", text)
    assert isinstance(word, GuessedActor) and word.name == "Tessit" and not is_armed(word)
    assert word.actor_type.value == "political_militia"  # the default type, kept
    assert is_armed(normalise_actor("Zogland Liberation Army", None, "Chad", "Zogland Liberation Army"))


def test_violence_against_a_named_person_stays_violence_against_civilians():
    from pipeline.extraction.answers import IncidentSlots
    from pipeline.extraction.staged import draft_from
    from pipeline.extraction.text import Sentence
    from pipeline.ingest import Article

    text = "Unknown attackers shot dead Amadou Zongo outside his shop in Tessit on Monday."
    article = Article(path="a.txt", file_name="a.txt", text=text, published=date(2024, 3, 5))
    slots = IncidentSlots(
        quote=text[:30],
        event="violence_against_civilians_attack",
        actor1="Unknown attackers",
        actor2="Amadou Zongo",
        country="Mali",
        admin1=None,
        location="Tessit",
        killed=[1],
    )
    draft = draft_from(slots, [Sentence(1, 0, len(text), text)], article, date(2024, 3, 5))
    assert draft.event_type == "Violence against civilians"
    assert draft.actor1.name == "Unidentified armed group"
