"""Seed ideas: ``<folder>/<skill>/seed.json`` (+ optional example specs), loaded and validated.

A seed needs only its idea; ``skill`` defaults to its folder's name, ``varies`` to nothing and
``example`` to none (the LLM backend then shows other seeds' examples; the offline backend, which
varies an example, skips the seed). ``more_examples`` names further, structurally different
example specs of the same skill; a recipe batch chooses whether its games start from the first
example only (what older suites are pinned to) or from any of them. A bad seed is reported in
:attr:`Seeds.problems` and the others still load. A ``skills.json`` beside the seed folders extends the
installed skill vocabulary.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..spec import GameSpec
from ..spec.model import SKILLS_ENV, known_skills

SEED_FILE = "seed.json"
SKILLS_FILE = "skills.json"
_SKILL_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


@dataclass(frozen=True)
class Seed:
    skill: str
    idea: str
    varies: tuple[str, ...] = ()
    example: GameSpec | None = None
    example_text: str | None = None  # the example spec as written, for k-shot prompts
    more_examples: tuple[GameSpec, ...] = ()  # further examples of the skill (``more_examples`` in seed.json)

    @property
    def examples(self) -> tuple[GameSpec, ...]:
        """Every example spec: the first (``example``), then ``more_examples``."""
        return ((self.example,) if self.example is not None else ()) + self.more_examples


class Seeds(dict[str, Seed]):
    """The seeds that loaded, by skill; ``problems`` names each seed file that did not and why;
    ``skills`` is the skill vocabulary in use (installed plus the folder's ``skills.json``)."""

    def __init__(self, seeds: dict[str, Seed], problems: list[str], skills: dict[str, str]):
        super().__init__(seeds)
        self.problems = problems
        self.skills = skills


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _example(path: Path, name: Any) -> tuple[GameSpec | None, str | None]:
    """The example spec named in the seed file ``path`` (none for a missing, null or empty name)."""
    if name is None or name == "":
        return None, None
    if not isinstance(name, str):
        raise ValueError(f"'example' must be a file name or null, got {name!r}")
    if not (path.parent / name).is_file():
        raise ValueError(f"example {name!r}: no such file beside {SEED_FILE}")
    text = (path.parent / name).read_text(encoding="utf-8")
    return GameSpec.parse_text(text), text


def _read_seed(path: Path, skills: dict[str, str]) -> Seed:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a seed file holds one JSON object")
    skill = _text(data, "skill", path.parent.name)
    if not _SKILL_RE.match(skill) or skill not in skills:
        raise ValueError(f"skill {skill!r} is not in {SKILLS_FILE} (installed or beside the seeds): {sorted(skills)}")
    varies = data.get("varies", [])
    if not isinstance(varies, list) or not all(isinstance(v, str) for v in varies):
        raise ValueError(f"'varies' must be a list of strings, got {varies!r}")
    example, text = _example(path, data.get("example"))
    more = data.get("more_examples", [])
    if not isinstance(more, list) or not all(isinstance(m, str) and m for m in more):
        raise ValueError(f"'more_examples' must be a list of file names, got {more!r}")
    if more and example is None:
        raise ValueError("'more_examples' needs an 'example' first")
    others = tuple(spec for spec, _ in (_example(path, name) for name in more) if spec is not None)
    for spec in (example, *others):
        if spec is not None and skill not in spec.skills:
            raise ValueError(f"the example {spec.id}'s skills {spec.skills} do not include {skill!r}")
    return Seed(skill, _text(data, "idea"), tuple(varies), example, text, others)


def use_skills(path: Path) -> dict[str, str]:
    """Add the skills of ``path`` (a ``skills.json``) to the vocabulary of this process and its
    verifying subprocesses; return the vocabulary in use (installed plus every added file)."""
    skills = dict(known_skills())
    files = [p for p in os.environ.get(SKILLS_ENV, "").split(os.pathsep) if p]
    if path.is_file() and str(path.resolve()) not in files:
        os.environ[SKILLS_ENV] = os.pathsep.join([*files, str(path.resolve())])
    for name in [*files, str(path.resolve())]:
        file = Path(name)
        if file.is_file():
            data = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise ValueError(f"bad {file}: expected an object of skill id -> description")
            skills |= data
    return skills


def load_seeds(folder: Path) -> Seeds:
    """Every seed in ``folder`` by skill; a bad seed is reported in ``problems``, not raised.

    Raises ValueError when no seed loads, or when the folder's ``skills.json`` is unreadable.
    """
    folder = Path(folder)
    try:
        skills = use_skills(folder / SKILLS_FILE)
    except (OSError, ValueError) as exc:
        raise ValueError(f"bad {folder / SKILLS_FILE}: {exc}") from exc
    seeds: dict[str, Seed] = {}
    problems: list[str] = []
    for path in sorted(folder.glob(f"*/{SEED_FILE}")):
        try:
            seed = _read_seed(path, skills)
            if seed.skill in seeds:
                raise ValueError(f"a second seed for {seed.skill!r}")
        except (OSError, ValueError) as exc:  # SpecError and JSONDecodeError are ValueErrors
            problems.append(f"bad seed {path}: {exc}")
            continue
        seeds[seed.skill] = seed
    if not seeds:
        raise ValueError("; ".join(problems) or f"no seeds in {folder}: expected <skill>/{SEED_FILE} files")
    return Seeds(seeds, problems, skills)
