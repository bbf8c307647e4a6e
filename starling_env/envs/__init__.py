"""Gymnasium environments and wrappers over compiled STARLING games."""

from .game_env import EXTRA_INFO, StarlingEnv
from .suite_env import StarlingSuiteEnv
from .vector import StarlingVectorEnv, make_vec
from .wrappers import AdmissibleActions, EncodedObservation

__all__ = ["EXTRA_INFO", "AdmissibleActions", "EncodedObservation", "StarlingEnv", "StarlingSuiteEnv", "StarlingVectorEnv", "make_vec"]
