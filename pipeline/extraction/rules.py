"""The staged design's code rules: each has a name, is recorded on the events it changed, and can be switched off.

The staged design lets code do what the codebook defines formally (dates
against a reference day, toll sums, grounding, merging) and a few rules that
correct the model's answer from the incident's own sentence. Every rule that
changes a field calls `fired(NAME)`; the names it fired are stored with the
event (`events.rules`), so a rule's precision can be measured on reviewed or
gold events. `disabled(NAMES)` switches rules off for an ablation: replaying a
run's logged answers with a rule off (`benchmarks/rule_ablation.py`) shows what
that rule is worth on every gold set, with no model call.

`RULES` is the table of names and what each changes. A rule that does not pay
across the gold sets is deleted, not kept switched off.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator

RULES: dict[str, str] = {
    # meaning: the event code and the roles of the actors
    "meaning_table": "event code from the decision table over the model's answers about the incident "
    "(means, who was hit); the keyword rules below then apply only where the model gave no answer",
    "meaning_actors": "civilians the model says were hit become actor2 of an attack or explosion with no "
    "unarmed target; civilians are no side of a battle",
    "event_code_from_sentence": "event code changed to the sub-event type the incident's sentence names "
    "(rape, abduction, mob, protest, the kind of explosive, clashes, a deal signed, a place taken, arrests)",
    "arms_seized_no_blast": 'explosives or rockets seized, found or defused ("seizing three explosive devices") '
    "name no means of attack when the event code is read from the sentence",
    "civilians_are_the_target": "Civilians given as actor1 moved to actor2",
    "fighters_killed_is_a_battle": "an attack in whose sentence fighters died or fought, and no civilian, "
    "becomes an armed clash (the fighters who attacked, as the model named them, do not count)",
    "violence_needs_civilian_victims": "violence against civilians whose target is an armed group becomes a battle",
    "protest_and_mob_actors": "protests get Protesters as actor1 (and the intervening force); mob violence "
    "gets Rioters against Civilians",
    # actors
    "intervener_named": "a protest with intervention or excessive force, with no force named by the model, gets "
    "the police or military its sentences name",
    "claimed_by_named_group": "an attack, explosion or battle by an unidentified armed group gets the named armed "
    "group a sentence about it, or one of the next few, says claimed it",
    "striker_named_nearby": "an air strike or shelling with an unidentified striker gets the state force its "
    'sentences or the next few name as flying or firing ("Russian warplanes carried out the raid")',
    "no_reporter_or_place_as_actor": "in a violent event, a monitor, rescuer, agency or official given as its "
    "initiator becomes an unidentified armed group; a reporter, place or site given as its target becomes "
    "civilians (no one in a battle)",
    "actor_alias": "actor name mapped to the canonical name of the actor table",
    "actor_generic_name": "actor name mapped to a generic codebook name (Military Forces of X, Civilians, ...)",
    # tolls
    "toll_grounded": "numbers the sentence does not state, or that count the wounded, dropped from the toll",
    "ages_are_people": 'a toll the model gave as the ages of the dead ("a 65-year-old woman" as 65) counted as '
    "one person per age",
    "lowest_toll": "sentences merged into one incident keep the lowest toll that counts more than one person "
    "(the codebook's lowest reported total; a headline's toll over several places gives way to one place's)",
    "toll_cap": "a toll above MAX_INCIDENT_TOLL is a tally, not an incident: the incident is dropped",
    # incidents
    "running_total": "a listed sentence that reads as a running total or a tally over a period is dropped",
    "old_background": 'an incident whose sentence dates it only by a year long before the story ("in 2014") '
    "is background, dropped",
    "clause_of_its_own": "a sentence of which the model listed two incidents, quoting different semicolon clauses "
    "(a headline telling two incidents), gives each incident only its own clause",
    "sweep": "an incident found by asking about a harm sentence the list left out",
    "toll_update_not_incident": "a left-out sentence that only counts the dead or hurt, telling no act "
    '("In the capital, 30 people died"), is not swept as an incident of its own',
    "screen_dated_only": "of the other sentences the list left out, only those that give their own day are "
    "screened (asked whether they report an incident)",
    "headline_read_with_lede": "an incident the list quotes by the headline is read with the lede (the first of "
    "the next three sentences that states harm), which tells who was hit, how and how many in full",
    "screen_new_place": "an undated left-out sentence that names a town or region no listed incident is at "
    "or names is screened too (one event per place and day)",
    "one_event_per_place": "an incident whose sentence tells the same kind of incident at several towns (a "
    "plain list, or a clause per town) becomes one event per town, its toll split by the clause that tells each",
    "sentence_merge": "sentences about the same incident merged into one event",
    "told_before": "a sentence that names a violent incident at the same place as one already told (\"Sunday's "
    'attack on the village"), adding no toll of its own, is merged into it even when its own words suggest '
    "another code",
    # dates and places
    "date_from_other_sentence": "the event day taken from a later or earlier sentence about the same incident",
    "town_for_site": "a location the gazetteer does not know as a place (a school, a market, a district) "
    "replaced by the town the site's name or the incident's sentence names",
    "town_for_site_nearby": "with no town in the incident's own sentence, the town a nearby sentence names "
    "(the closest first) replaces the site",
    "one_place_per_location": 'a location that lists places ("NTV, Hurum and Darawat") becomes the first of them',
    "place_settled": "a town given as admin1 moved to location, or the region filled from the gazetteer",
    "place_not_in_text": "a place the article never names dropped",
}

_disabled: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("disabled_rules", default=frozenset())
_collector: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("fired_rules", default=None)


def enabled(name: str) -> bool:
    """False when an ablation switched the rule off."""
    assert name in RULES, f"unknown rule {name!r}"
    return name not in _disabled.get()


def fired(name: str) -> None:
    """Record that rule `name` changed a field of the incident being built."""
    assert name in RULES, f"unknown rule {name!r}"
    collected = _collector.get()
    if collected is not None and name not in collected:
        collected.append(name)


@contextlib.contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the names of the rules fired inside the block (one incident's)."""
    names: list[str] = []
    token = _collector.set(names)
    try:
        yield names
    finally:
        _collector.reset(token)


@contextlib.contextmanager
def disabled(names: Iterable[str]) -> Iterator[None]:
    """Switch rules off inside the block (for an ablation); unknown names are an error."""
    names = frozenset(names)
    unknown = sorted(names - set(RULES))
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    token = _disabled.set(_disabled.get() | names)
    try:
        yield
    finally:
        _disabled.reset(token)
