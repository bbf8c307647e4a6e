"""The LLM backend: an OpenAI-compatible model writes GameSpecs; verification failures are fed back.

Prompts are jinja2 templates (``templates/``): the system prompt carries the rules, the fact
vocabulary and the JSON schema; the design prompt the seed ideas, the slots to fill (setup,
objects, custom actions, rewards) and k-shot examples drawn from the seeds' example specs; the
repair prompt the checker's failures, each with its kind and JSON path.
"""

from __future__ import annotations

import json
import random
from typing import Any

import jinja2

from ..builder.failures import BuildFailed, Failure, FailureKind
from ..envs.engine import BLOCKED_COMMANDS
from ..llm import LLMClient, ReplyError, extract_json
from ..spec import FACTS, json_schema
from ..spec.model import RESERVED_VERBS, known_skills
from .seeds import Seed

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("starling_env.generate", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


def system_prompt() -> str:
    return _TEMPLATES.get_template("system.j2").render(
        facts=list(FACTS.items()),
        reserved_verbs=sorted(RESERVED_VERBS | BLOCKED_COMMANDS),
        skills=sorted(known_skills()),
        schema=json.dumps(json_schema(), separators=(",", ":")),
    )


class LLMBackend:
    """Designs each task with the model; ``k_shot`` seed examples go into the prompt."""

    name = "openai"

    def __init__(self, seeds: dict[str, Seed], client: LLMClient, k_shot: int = 2):
        self.seeds, self.client, self.k_shot = seeds, client, k_shot
        self.system = system_prompt()

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
        others = [s for k, s in sorted(backend.seeds.items()) if k not in task.skills]
        examples = seeds + rng.sample(others, max(0, min(len(others), backend.k_shot - len(seeds))))
        design = _TEMPLATES.get_template("design.j2").render(
            difficulty=task.difficulty,
            game_id=self.game_id,
            seeds=seeds,
            examples=[e.example.to_json() for e in examples[: max(backend.k_shot, len(seeds))]],
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
