"""Typed records of the codebook. Imports nothing from `pipeline`."""

from .events import Actor, ArticleEvents, ConflictEvent
from .taxonomy import EVENT_TYPE_OF, SUB_EVENT_TYPES, ActorType, EventType, SubEventType

__all__ = [
    "Actor",
    "ArticleEvents",
    "ConflictEvent",
    "ActorType",
    "EventType",
    "SubEventType",
    "SUB_EVENT_TYPES",
    "EVENT_TYPE_OF",
]
