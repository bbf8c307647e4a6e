"""Baseline agents (installed as ``starling_agents``; the import name ``agents`` belongs to openai-agents).

Agents load by name (``random``, ``heuristic``, ``walkthrough``, ``drrn``, ``ppo``, ``llm``, ``llm-rl``,
``llm-grpo``) or by ``module:Class``.
One constructor convention: every agent takes ``seed=``; a :class:`Learner` also takes ``checkpoint=`` (the folder
its ``train`` wrote, or the file in it). Learners (``drrn``, ``ppo``, ``llm-rl``, ``llm-grpo``) train through one
signature.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import Agent, Learner, StopEpisode, is_learner, run_episode

BUILTIN = {
    "random": "starling_agents.simple:RandomAgent",
    "heuristic": "starling_agents.simple:HeuristicAgent",
    "walkthrough": "starling_agents.simple:WalkthroughAgent",
    "drrn": "starling_agents.drrn:DRRNAgent",
    "ppo": "starling_agents.ppo:PPOAgent",
    "llm": "starling_agents.llm:LLMAgent",
    "llm-rl": "starling_agents.llm_rl:LLMRLAgent",
    "llm-grpo": "starling_agents.llm_grpo:LLMGRPOAgent",
}
LEARNERS = ("drrn", "ppo", "llm-rl", "llm-grpo")  # the built-in names whose class is a Learner (a test checks it)
INSTALL_HINT = "the learning agents need the 'agents' extra: pip install '.[agents]' in the checkout"


def agent_class(name: str) -> type[Agent]:
    """The class of a built-in agent name or of a ``module:Class`` path."""
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise ValueError(f"unknown agent {name!r}: use one of {sorted(BUILTIN)} or module:Class")
    module, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        hint = f" ({INSTALL_HINT})" if name in LEARNERS else ""
        raise ValueError(f"cannot load agent {name!r}: {exc}{hint}") from exc
    except AttributeError as exc:
        raise ValueError(f"cannot load agent {name!r}: {exc}") from exc


def learner_class(name: str) -> type[Learner]:
    """The class of a learner by name or ``module:Class``; a ValueError saying so for an agent that cannot learn."""
    cannot = f"{name!r} cannot be trained: learners are {', '.join(LEARNERS)}"
    if name in BUILTIN and name not in LEARNERS:
        raise ValueError(cannot)
    cls = agent_class(name)
    if not is_learner(cls):
        raise ValueError(cannot)
    return cls  # type: ignore[return-value]


def load_agent(name: str, *, seed: int | None = None, checkpoint: str | Path | None = None, **options) -> Agent:
    """An agent instance by name: ``options`` go to its constructor, with ``seed`` and ``checkpoint`` when given."""
    cls = agent_class(name)
    given = {
        **options,
        **({} if seed is None else {"seed": seed}),
        **({} if checkpoint is None else {"checkpoint": checkpoint}),
    }
    try:
        agent = cls(**given)
    except TypeError as exc:  # an option the constructor does not take (a checkpoint for an agent that loads none)
        raise ValueError(f"agent {name!r} does not take {sorted(given)}: {exc}") from exc
    agent.name = name
    return agent


__all__ = [
    "BUILTIN",
    "LEARNERS",
    "Agent",
    "Learner",
    "StopEpisode",
    "agent_class",
    "is_learner",
    "learner_class",
    "load_agent",
    "run_episode",
]
