"""Deterministic answers of the `fake` backend, computed from the request alone.

The fake reads the article out of the prompt and applies fixed keyword rules,
so tests exercise the whole pipeline (instructor, validation, storage) offline
and get the same output every time. Each response schema the pipeline asks
for has a rule here, keyed by the schema's title.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_NUMBER = re.compile(r"\b(\d{1,5})\b")


def _user_text(kwargs: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in kwargs.get("messages", []) if m.get("role") == "user")


def _published(text: str) -> str:
    match = re.search(r"(\d{4}-\d{2}-\d{2})", text)
    return match.group(1) if match else "2000-01-01"


def _article(text: str) -> str:
    marker = "Article:\n"
    return text.split(marker, 1)[1] if marker in text else text


def _event_for(sentence: str, published: str) -> dict[str, Any] | None:
    lower = sentence.lower()
    if "killed" not in lower and "attack" not in lower:
        return None
    if any(w in lower for w in ("since 2011", "since late", "since the start", "more than 3")):
        return None  # looks like a running total
    numbers = [int(n) for n in _NUMBER.findall(sentence) if int(n) < 1000]
    if "air strike" in lower or "airstrike" in lower:
        etype, sub = "Explosions/Remote violence", "Air/drone strike"
        actor2 = {"name": "Civilians", "actor_type": "civilians"}
        civ = "civilian" in lower
    elif "clash" in lower or "fight" in lower:
        etype, sub = "Battles", "Armed clash"
        actor2 = {"name": "Rebel groups", "actor_type": "rebel_group"}
        civ = False
    else:
        etype, sub = "Violence against civilians", "Attack"
        actor2 = {"name": "Civilians", "actor_type": "civilians"}
        civ = True
    return {
        "event_date": published,
        "event_end_date": None,
        "time_precision": 1,
        "event_type": etype,
        "sub_event_type": sub,
        "actor1": {"name": "Unidentified armed group", "actor_type": "political_militia"},
        "assoc_actors_1": [],
        "actor2": actor2,
        "assoc_actors_2": [],
        "country": "Syria",
        "admin1": None,
        "location": None,
        "geo_precision": 3,
        "fatalities": sum(numbers[:2]),
        "civilian_targeting": civ,
        "source": "",
        "notes": "Rule-based test event.",
        "evidence": [sentence.strip()[:400]],
    }


def answer_article_events(kwargs: dict[str, Any]) -> str:
    text = _user_text(kwargs)
    published = _published(text)
    events = []
    for match in _SENTENCE.finditer(_article(text)):
        sentence = match.group(0).strip()
        if len(sentence) < 20:
            continue
        event = _event_for(sentence, published)
        if event:
            events.append(event)
        if len(events) == 3:
            break
    return json.dumps({"events": events})


# ---------------------------------------------------------------------------
# fake-backend rule for this strategy's schema (deterministic, keyword based)
# ---------------------------------------------------------------------------


def _fake_slots(sentence: str) -> dict[str, Any]:
    lower = sentence.lower()
    if "air strike" in lower or "airstrike" in lower:
        event, a2 = "explosion_air_or_drone_strike", "Civilians"
    elif "clash" in lower:
        event, a2 = "battle_armed_clash", "rebels"
    else:
        event, a2 = "violence_against_civilians_attack", "Civilians"
    return {
        "event": event,
        "actor1": "regime forces",
        "actor2": a2,
        "country": "Syria",
        "admin1": None,
        "location": None,
        "killed": [int(n) for n in re.findall(r"\b(\d{1,3})\b", sentence)][:2],
    }


def _fake_incidents(kwargs: dict[str, Any]) -> str:
    user = kwargs["messages"][-1]["content"]
    incidents = []
    for m in re.finditer(r"^(.{25,})$", user, re.MULTILINE):
        sentence = m.group(1)
        if "killed" not in sentence.lower() or re.search(r"since|more than \d{3}", sentence.lower()):
            continue
        incidents.append({"quote": " ".join(sentence.split()[:8]), **_fake_slots(sentence)})
    return json.dumps({"incidents": incidents[:1]})


def _fake_fill(kwargs: dict[str, Any]) -> str:
    """The slots of the sentence a fill request names (the line after the article)."""
    user = kwargs["messages"][-1]["content"]
    tail = user.rsplit("\n\n", 1)[-1].splitlines()
    return json.dumps(_fake_slots(tail[1] if len(tail) > 1 else ""))


def _fake_check(kwargs: dict[str, Any]) -> str:
    """A screening answer: the sentence after the question reports an incident when it names a killing or clash."""
    user = kwargs["messages"][-1]["content"]
    sentence = user.rsplit("\n", 1)[-1].lower()
    return json.dumps({"reports_incident": any(w in sentence for w in ("killed", "clash", "protest"))})


def _fake_meaning(kwargs: dict[str, Any]) -> str:
    """Answers about the incident of the sentence the question quotes (the line after the question's first)."""
    user = kwargs["messages"][-1]["content"]
    tail = user.rsplit("\n\n", 1)[-1].splitlines()
    sentence = (tail[1] if len(tail) > 1 else "").lower()
    if "air strike" in sentence or "airstrike" in sentence:
        means, hit = "air_or_drone_strike", "civilians"
    elif "clash" in sentence:
        means, hit = "gunfire_or_armed_assault", "fighters_or_security_forces"
    elif "protest" in sentence:
        means, hit = "protest", "no_one"
    else:
        means, hit = "gunfire_or_armed_assault", "civilians"
    return json.dumps({"means": means, "hit": hit})


STAGED_RULES = {
    "IncidentList": _fake_incidents,
    "IncidentFill": _fake_fill,
    "IncidentCheck": _fake_check,
    "IncidentMeaning": _fake_meaning,
}


PEER_FIELDS = (
    "event_date", "event_type", "sub_event_type", "actor1", "actor2", "country", "admin1", "location",
    "fatalities", "civilian_targeting", "evidence",
)  # fmt: skip


def answer_peer(kwargs: dict[str, Any]) -> str:
    """The peer baseline's schema: the same rule-based events, with the peer's fields only."""
    events = json.loads(answer_article_events(kwargs))["events"]
    return json.dumps({"events": [{k: e[k] for k in PEER_FIELDS} for e in events]})


RULES = {
    "ArticleEvents": answer_article_events,
    "PeerAnswer": answer_peer,
    **STAGED_RULES,
}


def schema_title(kwargs: dict[str, Any]) -> str | None:
    from pipeline.backends.base import schema_from_request

    schema = schema_from_request(kwargs) or {}
    fmt = kwargs.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name") or schema.get("title")


def answer(kwargs: dict[str, Any]) -> str:
    title = schema_title(kwargs)
    if title in RULES:
        return RULES[title](kwargs)
    raise ValueError(f"the fake backend has no rule for response schema {title!r}")
