"""An LLM as a policy: any OpenAI-compatible chat model picks each command (``--agent llm``).

Each turn the model gets a system prompt (the objective, the reply format) and one user message
(the last turns, the current observation, the admissible commands), both jinja2 templates in
``templates/``. Two modes: ``zero-shot`` (reply with the command) and ``react`` (a ``Thought:`` line,
then ``Action: <command>``). The reply is matched to an admissible command exactly, then fuzzily;
a reply that matches nothing (invalid) or holds no command (unparseable) falls back to a seeded
random admissible command, and every case is counted in the EpisodeRecord's ``agent_stats``.

The prompt is bounded: at most ``history`` past turns, each observation cut to
``max_observation_chars``, at most ``max_commands`` commands listed, and older turns dropped until the
prompt fits ``max_prompt_chars`` (about 4 characters per token), so long games never overflow the
model's context. Requests go through the project's shared :class:`~starling_env.llm.LLMClient`
(retries with backoff on 429/5xx/timeouts, the on-disk response cache, token accounting).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from starling_env.llm import LLMClient, LLMConfig

from .base import Agent

MODES = ("zero-shot", "react")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("starling_agents", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ACTION_LINE = re.compile(r"^\s*(?:\**\s*)?(?:action|command)\s*\**\s*[:：]\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_THOUGHT_LINE = re.compile(r"^\s*\**\s*thought\s*\**\s*[:：]", re.IGNORECASE)
_DECORATION = re.compile(r"^(?:>|-|\*|\d+[.)]|`+|\"|')\s*|(?:`+|\"|'|\.)\s*$")


@dataclass(frozen=True)
class Turn:
    observation: str  # what the game said
    command: str  # what the player answered


class Prompter:
    """Renders the bounded prompt of one turn from the episode so far."""

    def __init__(
        self,
        mode: str = "zero-shot",
        history: int = 8,
        max_observation_chars: int = 1500,
        max_commands: int = 80,
        max_prompt_chars: int = 12_000,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode, self.history, self.max_commands = mode, history, max_commands
        self.max_observation_chars, self.max_prompt_chars = max_observation_chars, max_prompt_chars
        self.turns: list[Turn] = []
        self.dropped_for_budget = 0  # turns left out to fit max_prompt_chars (counted, per episode)

    def reset(self) -> None:
        self.turns, self.dropped_for_budget = [], 0

    def record(self, observation: str, command: str) -> None:
        self.turns.append(Turn(self._cut(observation), command))

    def _cut(self, text: str) -> str:
        text = text.strip()
        return text if len(text) <= self.max_observation_chars else text[: self.max_observation_chars] + " [...]"

    def messages(self, observation: str, info: dict[str, Any], commands: list[str] | None = None) -> list[dict]:
        """The chat messages for this turn (``commands=None``: the info's admissible commands)."""
        commands = list(info.get("admissible_commands") or []) if commands is None else commands
        system = _TEMPLATES.get_template("policy_system.j2").render(
            objective=info.get("objective", ""), mode=self.mode, has_commands=bool(commands)
        )
        shown = commands[: self.max_commands]
        keep = min(self.history, len(self.turns))
        while True:
            user = _TEMPLATES.get_template("policy_user.j2").render(
                history=self.turns[len(self.turns) - keep :] if keep else [],
                dropped=len(self.turns) - keep,
                observation=self._cut(observation),
                commands=shown,
                hidden=len(commands) - len(shown),
                mode=self.mode,
            )
            if keep == 0 or len(system) + len(user) <= self.max_prompt_chars:
                break
            keep -= 1
            self.dropped_for_budget += 1
        return [{"role": "system", "content": system.strip()}, {"role": "user", "content": user.strip()}]


def parse_command(reply: str, mode: str = "zero-shot") -> str | None:
    """The command a reply names: its last ``Action:`` line, else its first (zero-shot) or last (react) line
    that is not a ``Thought:``; None when there is none or it is longer than a command can be."""
    actions = _ACTION_LINE.findall(reply)
    lines = [line for line in reply.splitlines() if line.strip() and not _THOUGHT_LINE.match(line)]
    if actions:
        candidate = actions[-1]
    elif lines:  # zero-shot: the first line; react without an Action line: the last line that is not a thought
        candidate = lines[0] if mode == "zero-shot" else lines[-1]
    else:
        return None
    candidate = candidate.strip()
    for _ in range(3):  # "> `open the box`." -> "open the box"
        candidate = _DECORATION.sub("", candidate).strip()
    candidate = " ".join(candidate.split())
    return candidate if 0 < len(candidate) <= 200 else None


def match_command(candidate: str, admissible: list[str], cutoff: float = 0.75) -> tuple[str | None, str]:
    """``(command, how)``: the admissible command a parsed reply means; how is ``exact``, ``fuzzy`` or ``invalid``."""
    by_lower = {c.lower(): c for c in admissible}
    wanted = candidate.lower()
    if wanted in by_lower:
        return by_lower[wanted], "exact"
    wanted = re.sub(r"\b(?:the|a|an)\b", " ", wanted)
    wanted = " ".join(wanted.split())
    if wanted in by_lower:
        return by_lower[wanted], "fuzzy"
    close = difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=cutoff)
    return (by_lower[close[0]], "fuzzy") if close else (None, "invalid")


class LLMAgent(Agent):
    """Any OpenAI-compatible chat model as a policy (see the module doc).

    Args:
        model: the model name the server knows (e.g. ``gpt-4o-mini``, a vLLM/Ollama model id).
        base_url: the server (``None``: OpenAI); the key comes from ``$<api_key_env>``.
        mode: ``zero-shot`` or ``react``.
        seed: seeds the fallback choice and is sent with each request (servers that honour it are then
            reproducible; the response cache makes reruns reproducible anyway).
        history, max_observation_chars, max_commands, max_prompt_chars: the prompt's bounds.
        temperature, max_tokens, timeout_s, max_retries, backoff_s, cache_dir: passed to the LLM client
            (``cache_dir=None`` turns the shared cache off; default ``$STARLING_CACHE`` or ~/.cache/starling/llm;
            ``timeout_s=None``: the client's default, ``$STARLING_LLM_TIMEOUT`` or 120 s).
    """

    name = "llm"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        mode: str = "zero-shot",
        seed: int = 0,
        history: int = 8,
        max_observation_chars: int = 1500,
        max_commands: int = 80,
        max_prompt_chars: int = 12_000,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        timeout_s: float | None = None,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        api_key_env: str = "OPENAI_API_KEY",
        cache_dir: str | Path | None = "default",
    ):
        if base_url is None and not os.environ.get(api_key_env):
            raise ValueError(f"no API key: set ${api_key_env}, or pass base_url for a local OpenAI-compatible server")
        options: dict[str, Any] = (
            {} if cache_dir == "default" else {"cache_dir": Path(cache_dir) if cache_dir else None}
        )
        if timeout_s is not None:
            options["timeout_s"] = timeout_s
        self.client = LLMClient(
            LLMConfig(
                model=model,
                base_url=base_url,
                api_key_env=api_key_env,
                temperature=temperature,
                max_tokens=max_tokens or (400 if mode == "react" else 40),
                max_retries=max_retries,
                backoff_s=backoff_s,
                seed=seed,
                **options,
            )
        )
        self.prompter = Prompter(mode, history, max_observation_chars, max_commands, max_prompt_chars)
        self.mode = mode
        self.rng = random.Random(seed)
        self.counts: Counter = Counter()

    @property
    def tokens(self) -> int:
        return self.client.usage.total_tokens

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.prompter.reset()
        self.counts = Counter()

    def act(self, observation: str, info: dict[str, Any]) -> str:
        admissible = list(info.get("admissible_commands") or [])
        reply = self.client.chat(self.prompter.messages(observation, info, admissible))
        self.counts["calls"] += 1
        self.counts["truncated_replies"] += reply.finish_reason == "length"
        candidate = parse_command(reply.text, self.mode)
        if candidate is None:
            how, command = "unparseable", None
        elif admissible:
            command, how = match_command(candidate, admissible)
        else:  # the env lists no commands: send what the model said
            command, how = candidate, "unchecked"
        self.counts[how] += 1
        if command is None:
            self.counts["fallbacks"] += 1
            command = self.rng.choice(admissible) if admissible else "look"
        self.prompter.record(observation, command)  # the next prompt shows this turn in its history
        return command

    def episode_stats(self) -> dict[str, float]:
        return {**dict(self.counts), "history_dropped_for_budget": self.prompter.dropped_for_budget}


def policy_config(
    agent: str,
    config_class: type,
    config: Any,
    model: str | Path | None,
    checkpoint: str | Path | None,
    config_file: str,
    overrides: dict[str, Any],
) -> Any:
    """The settings of a trainable LLM policy: ``config``, else ``config_class`` from ``overrides`` over the
    settings a trained ``checkpoint`` (a run folder's ``model/``, or a checkpoint folder) was trained with, so that
    it acts as trained; its ``model`` field is the local model folder to load (clear errors for unknown options or
    no model folder)."""
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown {agent} options {sorted(unknown)}; valid: {sorted(known)}")
    settings: dict[str, Any] = {}
    if checkpoint is not None:
        path = Path(checkpoint)
        model = path / "model" if (path / "model").is_dir() else path
        saved = model / config_file
        if saved.is_file():  # older runs saved more (steps, seed, ...): only the known settings
            settings = {k: v for k, v in json.loads(saved.read_text()).items() if k in known}
    config = config or config_class(**{**settings, **overrides})
    model = model or config.model
    if not model or not Path(model).is_dir():
        raise ValueError(
            f"{agent} needs a local model folder (--model PATH), got {model!r}; "
            f"make a random one with `starling init-model PATH`"
        )
    config.model = str(model)
    return config
