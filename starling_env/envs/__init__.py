"""Gymnasium environments and wrappers over compiled STARLING games.

The names load on first use (``from starling_env.envs import StarlingEnv``), so that importing a light
module of this package (``text_env``, read by registration) does not start TextWorld.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "StarlingEnv": "game_env",
    "StarlingSuiteEnv": "suite_env",
    "StarlingVectorEnv": "vector",
    "make_vec": "vector",
    "AdmissibleActions": "wrappers",
    "EncodedObservation": "wrappers",
    "TextGameEnv": "text_env",
    "EXTRA_INFO": "text_env",
    "BASE_INFO": "text_env",
    "DEFAULT_MAX_STEPS": "text_env",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
