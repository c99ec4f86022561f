"""The event taxonomy of the codebook (ACLED's), as enums and lookup tables.

Everything here is data; nothing in `schemas` imports from `pipeline`.
"""

from __future__ import annotations

from enum import Enum


class EventType(str, Enum):
    BATTLES = "Battles"
    EXPLOSIONS = "Explosions/Remote violence"
    VIOLENCE_AGAINST_CIVILIANS = "Violence against civilians"
    PROTESTS = "Protests"
    RIOTS = "Riots"
    STRATEGIC_DEVELOPMENTS = "Strategic developments"


class SubEventType(str, Enum):
    # Battles
    ARMED_CLASH = "Armed clash"
    GOVERNMENT_REGAINS_TERRITORY = "Government regains territory"
    NON_STATE_OVERTAKES_TERRITORY = "Non-state actor overtakes territory"
    # Explosions/Remote violence
    CHEMICAL_WEAPON = "Chemical weapon"
    AIR_DRONE_STRIKE = "Air/drone strike"
    SUICIDE_BOMB = "Suicide bomb"
    SHELLING = "Shelling/artillery/missile attack"
    REMOTE_EXPLOSIVE = "Remote explosive/landmine/IED"
    GRENADE = "Grenade"
    # Violence against civilians
    SEXUAL_VIOLENCE = "Sexual violence"
    ATTACK = "Attack"
    ABDUCTION = "Abduction/forced disappearance"
    # Protests
    PEACEFUL_PROTEST = "Peaceful protest"
    PROTEST_WITH_INTERVENTION = "Protest with intervention"
    EXCESSIVE_FORCE = "Excessive force against protesters"
    # Riots
    VIOLENT_DEMONSTRATION = "Violent demonstration"
    MOB_VIOLENCE = "Mob violence"
    # Strategic developments
    AGREEMENT = "Agreement"
    ARRESTS = "Arrests"
    CHANGE_TO_GROUP = "Change to group/activity"
    DISRUPTED_WEAPONS_USE = "Disrupted weapons use"
    HQ_ESTABLISHED = "Headquarters or base established"
    LOOTING = "Looting/property destruction"
    NON_VIOLENT_TRANSFER = "Non-violent transfer of territory"
    OTHER = "Other"


SUB_EVENT_TYPES: dict[EventType, tuple[SubEventType, ...]] = {
    EventType.BATTLES: (
        SubEventType.ARMED_CLASH,
        SubEventType.GOVERNMENT_REGAINS_TERRITORY,
        SubEventType.NON_STATE_OVERTAKES_TERRITORY,
    ),
    EventType.EXPLOSIONS: (
        SubEventType.CHEMICAL_WEAPON,
        SubEventType.AIR_DRONE_STRIKE,
        SubEventType.SUICIDE_BOMB,
        SubEventType.SHELLING,
        SubEventType.REMOTE_EXPLOSIVE,
        SubEventType.GRENADE,
    ),
    EventType.VIOLENCE_AGAINST_CIVILIANS: (
        SubEventType.SEXUAL_VIOLENCE,
        SubEventType.ATTACK,
        SubEventType.ABDUCTION,
    ),
    EventType.PROTESTS: (
        SubEventType.PEACEFUL_PROTEST,
        SubEventType.PROTEST_WITH_INTERVENTION,
        SubEventType.EXCESSIVE_FORCE,
    ),
    EventType.RIOTS: (SubEventType.VIOLENT_DEMONSTRATION, SubEventType.MOB_VIOLENCE),
    EventType.STRATEGIC_DEVELOPMENTS: (
        SubEventType.AGREEMENT,
        SubEventType.ARRESTS,
        SubEventType.CHANGE_TO_GROUP,
        SubEventType.DISRUPTED_WEAPONS_USE,
        SubEventType.HQ_ESTABLISHED,
        SubEventType.LOOTING,
        SubEventType.NON_VIOLENT_TRANSFER,
        SubEventType.OTHER,
    ),
}

# Reverse lookup: every sub-type belongs to exactly one type.
EVENT_TYPE_OF: dict[SubEventType, EventType] = {sub: etype for etype, subs in SUB_EVENT_TYPES.items() for sub in subs}


class ActorType(str, Enum):
    STATE_FORCES = "state_forces"
    REBEL_GROUP = "rebel_group"
    POLITICAL_MILITIA = "political_militia"
    IDENTITY_MILITIA = "identity_militia"
    RIOTERS = "rioters"
    PROTESTERS = "protesters"
    CIVILIANS = "civilians"
    EXTERNAL_FORCES = "external_forces"


# ACLED inter codes 1-8, in the order of the codebook.
INTER_CODES: dict[ActorType, int] = {t: i for i, t in enumerate(ActorType, start=1)}

# The codebook's generic actor names, used when no specific group is named.
GENERIC_ACTORS: dict[str, ActorType] = {
    "Military Forces of Syria": ActorType.STATE_FORCES,
    "Military Forces of Russia": ActorType.EXTERNAL_FORCES,
    "Rebel groups": ActorType.REBEL_GROUP,
    "Civilians": ActorType.CIVILIANS,
    "Protesters": ActorType.PROTESTERS,
    "Rioters": ActorType.RIOTERS,
    "Unidentified armed group": ActorType.POLITICAL_MILITIA,
}
