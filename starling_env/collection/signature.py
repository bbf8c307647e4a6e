"""Template signatures: what a game is once its names are taken away, to count real variety.

A game's **template** is its walkthrough with every object, door and room name replaced by a numbered
placeholder (``#1`` for the first thing the walkthrough names, ``#2`` for the next, each thing keeping its
number), and every direction by ``<dir>``; plus the set of its custom command templates (slots as ``{}``).
Two renamings of one spec have the same template; a different order, another step or another custom action
gives another. Its **signature** is a short hash of the template.

Two games are **near-duplicates** when their signatures are equal or the Jaccard similarity of their
:func:`template_tokens` (the custom command templates and the pairs of consecutive steps, with every
placeholder written ``#``) is at least :data:`NEAR_DUPLICATE_JACCARD`. Clusters are the connected
components of that relation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..spec.model import OPPOSITE

NEAR_DUPLICATE_JACCARD = 0.8
_SLOT = re.compile(r"\{[^}]*\}")
_DIRECTIONS = re.compile(rf"\b(?:{'|'.join(OPPOSITE)})\b")


def _names(spec: Mapping[str, Any]) -> list[str]:
    """Every name the walkthrough may use for a thing: objects, doors and rooms, with synonyms."""
    items = [*spec.get("objects", []), *spec.get("doors", []), *spec.get("rooms", [])]
    return [n for item in items for n in [item["name"], *item.get("synonyms", [])]]


def custom_templates(spec: Mapping[str, Any]) -> list[str]:
    """The spec's custom command templates, slots written ``{}`` (``fill {} with water``), sorted."""
    return sorted({_SLOT.sub("{}", a["command"]) for a in spec.get("actions", [])})


def walkthrough_template(spec: Mapping[str, Any]) -> list[str]:
    """The walkthrough with names numbered by first use (``open #1``, ``take #2 from #1``), directions ``<dir>``."""
    names = sorted(set(_names(spec)), key=len, reverse=True)  # longest first: 'kitchen bin' before 'bin'
    pattern = re.compile(rf"(?<![a-z0-9-])(?:{'|'.join(map(re.escape, names))})(?![a-z0-9-])") if names else None
    owner = {
        n: item["name"] for item in [*spec.get("objects", []), *spec.get("doors", [])] for n in item.get("synonyms", [])
    }
    numbers: dict[str, int] = {}

    def number(match: re.Match) -> str:
        thing = owner.get(match[0], match[0])
        return f"#{numbers.setdefault(thing, len(numbers) + 1)}"

    steps = []
    for command in spec["walkthrough"]:
        step = pattern.sub(number, command) if pattern else command
        steps.append(_DIRECTIONS.sub("<dir>", step))
    return steps


def template(spec: Mapping[str, Any]) -> dict[str, list[str]]:
    """A game's template: its abstracted walkthrough and its custom command templates."""
    return {"walkthrough": walkthrough_template(spec), "custom": custom_templates(spec)}


def signature(spec: Mapping[str, Any]) -> str:
    """A short, stable hash of the template (the same for every renaming of a spec)."""
    text = json.dumps(template(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def template_tokens(spec: Mapping[str, Any]) -> frozenset[str]:
    """What near-duplicate detection compares: custom templates and consecutive step pairs, placeholders as ``#``."""
    steps = ["^", *(re.sub(r"#\d+", "#", s) for s in walkthrough_template(spec)), "$"]
    pairs = {f"{a} / {b}" for a, b in zip(steps, steps[1:], strict=False)}
    return frozenset(pairs | {f"custom: {c}" for c in custom_templates(spec)})


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_clusters(
    specs: Mapping[str, Mapping[str, Any]], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[list[str]]:
    """Groups of two or more games (by id) linked by equal signatures or token Jaccard >= ``threshold``.

    Sorted by size, then by first id; each group sorted.
    """
    ids = sorted(specs)
    signatures = {i: signature(specs[i]) for i in ids}
    tokens = {i: template_tokens(specs[i]) for i in ids}
    parent = {i: i for i in ids}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for n, a in enumerate(ids):
        for b in ids[n + 1 :]:
            if signatures[a] == signatures[b] or jaccard(tokens[a], tokens[b]) >= threshold:
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


class TemplateIndex:
    """The templates of the games published so far, to reject a near-duplicate before it joins them."""

    def __init__(self, threshold: float = NEAR_DUPLICATE_JACCARD):
        self.threshold = threshold
        self.games: dict[str, tuple[str, frozenset[str]]] = {}  # id -> (signature, tokens)

    def add(self, spec: Mapping[str, Any]) -> None:
        self.games[spec["id"]] = (signature(spec), template_tokens(spec))

    def twin(self, spec: Mapping[str, Any]) -> str | None:
        """The id of a game (other than ``spec``'s own id) that ``spec`` nearly duplicates, or None."""
        mine, tokens = signature(spec), template_tokens(spec)
        for game_id, (theirs, their_tokens) in self.games.items():
            if game_id != spec["id"] and (mine == theirs or jaccard(tokens, their_tokens) >= self.threshold):
                return game_id
        return None

    def copy(self) -> TemplateIndex:
        other = TemplateIndex(self.threshold)
        other.games = dict(self.games)
        return other


def shared_signatures(train: Sequence[Mapping[str, Any]], test: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ids of the ``test`` specs whose signature is also a ``train`` spec's."""
    seen = {signature(s) for s in train}
    return [s["id"] for s in test if signature(s) in seen]
