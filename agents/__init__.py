"""Baseline agents (installed as ``starling_agents``; the import name ``agents`` belongs to openai-agents).

Agents load by name (``random``, ``walkthrough``, ``drrn``, ``ppo``, ``llm``, ``llm-rl``) or by ``module:Class``.
"""

from __future__ import annotations

import importlib

from .base import Agent, StopEpisode, run_episode

BUILTIN = {
    "random": "starling_agents.simple:RandomAgent",
    "walkthrough": "starling_agents.simple:WalkthroughAgent",
    "drrn": "starling_agents.drrn:DRRNAgent",
    "ppo": "starling_agents.ppo:PPOAgent",
    "llm": "starling_agents.llm:LLMAgent",
    "llm-rl": "starling_agents.llm_rl:LLMRLAgent",
}


def agent_class(name: str) -> type[Agent]:
    """The class of a built-in agent name or of a ``module:Class`` path."""
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise ValueError(f"unknown agent {name!r}: use one of {sorted(BUILTIN)} or module:Class")
    module, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load agent {name!r}: {exc}") from exc


def load_agent(name: str, **options) -> Agent:
    """An agent instance by name; ``options`` go to its constructor."""
    agent = agent_class(name)(**options)
    agent.name = name
    return agent


__all__ = ["BUILTIN", "Agent", "StopEpisode", "agent_class", "load_agent", "run_episode"]
