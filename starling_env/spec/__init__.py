"""The GameSpec data model and its fact vocabulary."""

from .facts import FACTS, Fact, FactSyntaxError
from .model import (
    SPEC_VERSION,
    Action,
    Door,
    GameObject,
    GameSpec,
    Goal,
    ObjectKind,
    Room,
    SpecError,
    StateVar,
    json_schema,
)

__all__ = [
    "FACTS",
    "SPEC_VERSION",
    "Action",
    "Door",
    "Fact",
    "FactSyntaxError",
    "GameObject",
    "GameSpec",
    "Goal",
    "ObjectKind",
    "Room",
    "SpecError",
    "StateVar",
    "json_schema",
]
