"""More of a candidate's problems in one pass: the reference errors that its field errors hide.

The validator checks references (ids, exits, keys, facts) only once every field is valid, so a reply
with a bad name and a dangling id hears of the name first and of the id a round later. Here the
failing text fields are set aside (replaced by neutral valid values, in a copy) and the copy is
validated again, so the repair request lists both. Only pydantic runs here: nothing is built.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from pydantic import ValidationError

from ..builder.failures import Failure, FailureKind
from ..files import loads_untrusted
from ..spec import GameSpec, SpecError
from ..spec.model import SPEC_JSON, known_skills

_TEXTS = {"description", "text", "objective", "title", "success", "article"}  # free text: any plain sentence will do
_ROUNDS = 3  # a neutral value can expose a field error behind it (a second bad name, say)


def hidden_failures(text: str, reported: list[Failure]) -> list[Failure]:
    """Schema failures of ``text`` that ``reported`` (its field errors) hid; [] when none can be found."""
    if not reported or any(f.kind is not FailureKind.schema for f in reported):
        return []
    try:
        data = loads_untrusted(text, SPEC_JSON)
    except ValueError:
        return []
    seen = {(f.path, f.message) for f in reported}
    for _ in range(_ROUNDS):
        try:
            GameSpec.model_validate(data)
            return []
        except ValidationError as exc:
            if not all(err["loc"] for err in exc.errors()):  # model-level: the reference errors themselves
                found = SpecError.from_validation(exc).errors
                return [Failure(kind=FailureKind.schema, path=p, message=m) for p, m in found if (p, m) not in seen]
            data = _set_aside(data, [err["loc"] for err in exc.errors()])
            if data is None:
                return []
        except (RecursionError, MemoryError):
            return []
    return []


def _set_aside(data: Any, locations: list[tuple[int | str, ...]]) -> Any:
    """A copy of ``data`` with the strings at ``locations`` replaced by neutral valid ones; None if one is not
    a string the checks after the fields do not read (a shape error: nothing to gain)."""
    data = copy.deepcopy(data)
    fresh = itertools.count(1)
    for loc in locations:
        parent: Any = data
        for key in loc[:-1]:
            try:
                parent = parent[key]
            except (KeyError, IndexError, TypeError):
                return None
        last: Any = loc[-1]
        owner = loc[-2] if len(loc) > 1 else None
        if not _has(parent, last):
            return None
        if last == "skills":
            parent[last] = [next(iter(known_skills()))]
        elif last == "walkthrough" or owner == "walkthrough":
            parent[last] = ["look"] if last == "walkthrough" else "look"
        elif not isinstance(parent[last], str):
            return None
        elif last in _TEXTS or owner == "failures":
            parent[last] = "Text."
        elif last == "name" or owner == "synonyms":
            parent[last] = f"thing {next(fresh)}x"  # unique, and no parser word
        elif last == "command" and isinstance(parent, dict) and isinstance(parent.get("slots"), dict):
            verb = "zz" + "".join(chr(ord("a") + int(d)) for d in str(next(fresh)))  # letters only, unused
            parent[last] = " ".join([verb, *(f"{{{slot}}}" for slot in parent["slots"])])
        else:
            return None
    return data


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and isinstance(key, int) and -len(container) <= key < len(container)
