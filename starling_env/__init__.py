"""STARLING: text-game RL environments grown from seed ideas into verified Inform 7 games.

Importing the package registers the Gymnasium ids of the installed games (see
:mod:`starling_env.registration`); it loads no game and does not import TextWorld.
"""

from .registration import find_game, register_all, register_games
from .targets import register_targets

__version__ = "0.1.0"
__all__ = ["__version__", "find_game", "register_games"]

register_all()
register_targets()
