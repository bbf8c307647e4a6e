"""The LLM backend: an OpenAI-compatible model writes GameSpecs; verification failures are fed back.

Prompts are jinja2 templates (``templates/``): the system prompt carries the rules the checker
enforces (rendered from the spec module's own constants, and where a rule is code, from asking the
validator itself, so prompt and checker cannot drift) and the fact and skill vocabularies; the JSON
schema goes once, as structured output or, where the server takes none, in the system prompt (see
:class:`starling_env.llm.LLMClient`). The design prompt carries the seed ideas, the slots to fill and
k-shot examples: the seeds' own example specs, else other seeds' examples, said to be other skills'.
The repair prompt carries every failure the checker found, each with its kind and JSON path.
"""

from __future__ import annotations

import json
import random
from functools import cache
from typing import Any

import jinja2

from ..builder.failures import BuildFailed, Failure, FailureKind
from ..envs.engine import BLOCKED_COMMANDS
from ..llm import LLMClient, ReplyError, extract_json
from ..spec import FACTS, GameSpec, SpecError, json_schema
from ..spec import model as spec_model
from ..spec.model import known_skills
from .seeds import Seed

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("starling_env.generate", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_PLACES = ("room", "container", "supporter", "player", "worn")


@cache
def start_places() -> dict[str, list[str]]:
    """Object kind -> where an object of that kind may start, asked of the validator itself."""
    skill = next(iter(known_skills()))
    places: dict[str, list[str]] = {}
    for kind in spec_model.ObjectKind:
        allowed = []
        for place in _PLACES:
            location = {"room": "hall", "container": "box", "supporter": "shelf"}.get(place, place)
            data = {
                "spec_version": spec_model.SPEC_VERSION,
                "id": "probe",
                "title": "Probe",
                "objective": "Probe.",
                "skills": [skill],
                "start": "hall",
                "rooms": [{"id": "hall", "name": "hall", "description": "A hall."}],
                "objects": [
                    {"id": "box", "name": "box", "kind": "container", "location": "hall", "status": "open"},
                    {"id": "shelf", "name": "shelf", "kind": "supporter", "location": "hall"},
                    {"id": "probe_thing", "name": "thing", "kind": kind.value, "location": location},
                ],
                "goals": [{"when": ["player_in(hall)"]}],
                "walkthrough": ["look"],
            }
            try:
                GameSpec.from_data(data)
            except SpecError:
                continue
            allowed.append(place)
        if allowed:
            places[kind.value] = allowed
    return places


def rules() -> dict[str, Any]:
    """The values of the rules the checker enforces, from the spec module's constants."""
    allowed = sorted({chr(c) for c in range(32, 127) if spec_model.TEXT_RE.match(chr(c))} - {" "})
    return {
        "spec_version": spec_model.SPEC_VERSION,
        "parser_words": sorted(spec_model.PARSER_WORDS),
        "reserved_verbs": sorted(spec_model.RESERVED_VERBS | BLOCKED_COMMANDS),
        "blocked_verbs": sorted(BLOCKED_COMMANDS),
        "reserved_actions": sorted(spec_model.RESERVED_ACTIONS),
        "text_chars": " ".join(c for c in allowed if not c.isalnum()),
        "max_text_chars": spec_model.MAX_TEXT_CHARS,
        "max_line_breaks": spec_model.MAX_LINE_BREAKS,
        "max_quoted_chars": spec_model.MAX_QUOTED_CHARS,
        "max_walkthrough": spec_model.MAX_WALKTHROUGH_COMMANDS,
        "start_places": start_places(),
    }


def system_prompt(skills: dict[str, str] | None = None) -> str:
    """The system prompt, with ``skills`` (default: the installed vocabulary) as the allowed skills."""
    return _TEMPLATES.get_template("system.j2").render(
        facts=list(FACTS.items()), skills=sorted((skills or known_skills()).items()), **rules()
    )


class LLMBackend:
    """Designs each task with the model; ``k_shot`` seed examples go into the prompt."""

    name = "openai"

    def __init__(self, seeds: dict[str, Seed], client: LLMClient, k_shot: int = 2):
        self.seeds, self.client, self.k_shot = seeds, client, k_shot
        self.skills: dict[str, str] = getattr(seeds, "skills", None) or known_skills()  # a Seeds knows its own
        self.system = system_prompt(self.skills)

    def session(self, task) -> LLMSession:
        return LLMSession(self, task)

    @staticmethod
    def compatible(seeds: list[Seed]) -> bool:
        return True  # the model composes skills itself


class LLMSession:
    """One task's conversation: the design request, then a repair request per failed attempt."""

    def __init__(self, backend: LLMBackend, task):
        self.backend, self.task = backend, task
        self.game_id = (
            f"{'-'.join(s.replace('_', '-') for s in task.skills)[:32].strip('-')}-{task.difficulty[0]}{task.index:04d}"
        )
        seeds = [backend.seeds[s] for s in task.skills]
        rng = random.Random(f"starling-kshot:{task.seed}:{task.index}")
        own = [s for s in seeds if s.example is not None]
        others = [s for k, s in sorted(backend.seeds.items()) if k not in task.skills and s.example is not None]
        examples = own + rng.sample(others, max(0, min(len(others), backend.k_shot - len(own))))
        design = _TEMPLATES.get_template("design.j2").render(
            difficulty=task.difficulty,
            game_id=self.game_id,
            seeds=seeds,
            skills=backend.skills,
            examples=[(e.skill, e.example.to_json()) for e in examples if e.example is not None],
            borrowed=len(own) < len(seeds),
        )
        self.messages: list[dict[str, str]] = [
            {"role": "system", "content": backend.system},
            {"role": "user", "content": design},
        ]
        self.tokens = {"prompt": 0, "completion": 0}
        self.replies = 0

    def propose(self, attempt: int, feedback: list[Failure] | None) -> str:
        """The model's next spec, as JSON text; raises :class:`BuildFailed` (``invalid_json``) for a reply
        holding no usable JSON object, which the next request tells the model."""
        if feedback:
            repair = _TEMPLATES.get_template("repair.j2").render(failures=feedback, game_id=self.game_id)
            self.messages.append({"role": "user", "content": repair})
        result = self.backend.client.chat(self.messages, json_schema=json_schema())
        self.tokens["prompt"] += result.prompt_tokens
        self.tokens["completion"] += result.completion_tokens
        self.replies += 1
        self.messages.append({"role": "assistant", "content": result.text})
        try:
            return json.dumps(extract_json(result.text), indent=2)
        except ReplyError as exc:
            raise BuildFailed.one(FailureKind.invalid_json, str(exc), exc.path) from None

    def provenance(self) -> dict[str, Any]:
        return {
            "model": self.backend.client.config.model,
            "seed_ideas": [self.backend.seeds[s].idea for s in self.task.skills],
            "random_seed": [self.task.seed, self.task.index],
            "replies": self.replies,
            "tokens": dict(self.tokens),
        }
