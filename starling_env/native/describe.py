"""What the Inform 7 build prints when it describes the world: look, examine, inventory, the opening.

Work in progress: the interface is final, the texts are being made exact.
"""

from __future__ import annotations

from textworld.generator.game import Game

from ..spec import GameSpec
from .types import Facts


class Describer:
    """Texts of look / examine / inventory / the opening for one game, from the logic's facts."""

    def __init__(self, game: Game, spec: GameSpec) -> None:
        self.game, self.spec = game, spec
        self.names = {k: (v.name or k) for k, v in game.infos.items()}

    def the(self, entity: str) -> str:
        return f"the {self.names[entity]}"

    def a(self, entity: str) -> str:
        name = self.names[entity]
        return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"

    def listing(self, entities: list[str]) -> str:
        items = [self.a(e) for e in entities]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else "nothing"

    def contents(self, holder: str, facts: Facts) -> list[str]:
        return sorted(f[1] for f in facts if f[0] in ("in", "on") and f[2] == holder)

    def look(self, facts: Facts) -> str:
        room = next(f[2] for f in facts if f[0] == "at" and f[1] == "P")
        return f"-= {self.names[room].title()} =-\n{self.game.infos[room].desc}"

    def examine(self, entity: str, facts: Facts) -> str:
        return self.game.infos[entity].desc or f"You see nothing special about {self.the(entity)}."

    def inventory(self, facts: Facts) -> str:
        held = self.contents("I", facts)
        return f"You are carrying: {self.listing(held)}." if held else "You are carrying nothing."

    def opening(self, facts: Facts) -> str:
        return f"{self.game.objective}\n\n{self.look(facts)}"
