"""STARLING: text-game RL environments generated from seed ideas."""

__version__ = "0.1.0"
