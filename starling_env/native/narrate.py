"""What the Inform 7 build prints for one turn: the action's report, the world's every-turn texts, the score
notification and the end of the game.

The words come from TextWorld's Inform 7 source (``world2inform7.py``: take/drop reports, score notification,
obituary), the game's own rules (``builder/templates/game.twl.j2``: custom actions' Report, reactions' After,
every-turn Report, losing rule) and Inform 7's Standard Rules for the rest. Everything is prepared per rule in
``__init__``; a turn costs a dict lookup, a few set lookups and the formatting. Looks, examinations and
inventories are the :class:`~.describe.Describer`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from textworld.generator.game import Game

from ..builder.logic import TICK_RULE, entity_table
from ..spec import GameSpec
from .describe import Describer
from .types import Facts, Turn

Report = Callable[[dict[str, str], Facts], str]  # (rule mapping, facts after the action) -> text

# Inform 7's [V in words].
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen \
seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
# Basic Screen Effects centres the obituary's headline on the interpreter's screen (jericho's is this wide).
_SCREEN_WIDTH = 125
_PLACEHOLDER = re.compile(r"\{(the |a )?([a-z][a-z0-9_]*)\}")
_SLOT = re.compile(r"\{(\w+)\}")
# The built-in actions' reports, by the words of TextWorld's command template (less its slots); {0} the noun,
# {1} the second noun.
_BUILTIN = {
    "take from": "You take {0} from {1}.",
    "take off": "You take off {0}.",
    "take": "You pick up {0} from the ground.",
    "drop": "You drop {0} on the ground.",
    "put on": "You put {0} on {1}.",
    "insert into": "You put {0} into {1}.",
    "close": "You close {0}.",
    "lock with": "You lock {0}.",
    "unlock with": "You unlock {0}.",
    "eat": "You eat {0}. Not bad.",
    "wear": "You put on {0}.",
    "switch on": "You switch {0} on.",
    "switch off": "You switch {0} off.",
}


def in_words(n: int) -> str:
    """Inform 7's ``[n in words]`` for 0 <= n < 1000."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {in_words(rest)}" if rest else "")


def i7_quotes(text: str) -> str:
    """Inform 7 prints a single quote of a text literal as a double quote unless letters stand on both sides."""
    if "'" not in text:
        return text
    return re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", '"', text)


def centred(text: str) -> str:
    return " " * ((_SCREEN_WIDTH - len(text)) // 2) + text


class Narrator:
    """The whole answer of the Inform 7 build to one command, from the turn as the logic saw it."""

    def __init__(self, game: Game, spec: GameSpec, describer: Describer | None = None) -> None:
        self.describer = d = describer or Describer(game, spec)
        self.names = {k: (v.name or k) for k, v in game.infos.items()}
        tw_ids = {spec_id: e.tw_id for spec_id, e in entity_table(spec).items()}
        self.ticks = [i7_quotes(rule.text) for rule in spec.every_turn]
        self.losses = [i7_quotes(lose.text) for lose in spec.lose]
        self.reactions = [i7_quotes(r.text) for r in spec.reactions]
        self.max_score = int(game.max_score)
        self.reports: dict[str, Report] = {}
        custom = {a.name: a for a in spec.actions}
        for rule, command in game.kb.inform7_commands.items():
            base = rule.split("__r")[0]
            if base.startswith(TICK_RULE.format("")):
                self.reports[rule] = lambda m, f: "Time passes."
            elif base.split("/")[0] in custom:
                self.reports[rule] = self._custom(i7_quotes(custom[base.split("/")[0]].success), tw_ids)
            else:
                self.reports[rule] = self._builtin(command)
        self.the, self.look = d.the, d.look

    def _custom(self, success: str, tw_ids: dict[str, str]) -> Report:
        """A custom action's Report: its success text, ``{the slot}`` / ``{a slot}`` / ``{slot}`` filled in
        (a slot is the rule's variable ``s_<slot>``; a spec id names its entity)."""
        pieces: list[tuple[str, str, str]] = []  # (text before, article, variable or entity)
        last = 0
        for m in _PLACEHOLDER.finditer(success):
            ref = m[2]
            key = tw_ids[ref] if ref in tw_ids else f"s_{ref}"
            pieces.append((success[last : m.start()], (m[1] or "").strip(), key))
            last = m.end()
        tail = success[last:].replace("\n", "\n")
        d, names = self.describer, self.names
        fill = {"the": d.the, "a": d.a, "": names.__getitem__}

        def report(mapping: dict[str, str], facts: Facts) -> str:
            return "".join(text + fill[art](mapping.get(key, key)) for text, art, key in pieces) + tail

        return report

    def _builtin(self, command: str) -> Report:
        """A built-in action's report from its TextWorld command template ("take {o} from {c}")."""
        words = command.split()
        slots = _SLOT.findall(command)
        verb = " ".join(w for w in words if not w.startswith("{"))
        d = self.describer
        if verb in ("look",) or verb.startswith("go "):
            return lambda m, f: d.look(f)
        if verb == "inventory":
            return lambda m, f: d.inventory(f)
        if verb == "examine":
            return lambda m, f: d.examine(m[slots[0]], f)
        if verb == "open":
            noun = slots[0]

            def opened(m: dict[str, str], f: Facts) -> str:
                inside = d.contents(m[noun], f)
                if inside:
                    return f"You open {d.the(m[noun])}, revealing {d.listing(inside)}."
                return f"You open {d.the(m[noun])}."

            return opened
        if verb not in _BUILTIN:
            raise ValueError(f"no report for the command {command!r}")
        template, the = _BUILTIN[verb], d.the
        if len(slots) == 1:
            return lambda m, f: template.format(the(m[slots[0]]))
        return lambda m, f: template.format(the(m[slots[0]]), the(m[slots[1]]))

    def turn(self, turn: Turn) -> str:
        """The game's answer to the turn's command (as Engine.step returns it, cleaned)."""
        parts: list[str] = []
        if turn.reply is not None:
            parts.append(turn.reply)
        elif turn.action is not None:
            action = turn.action
            report = self.reports[action](turn.mapping, turn.after_action)
            if "__r" in action:  # a reaction: its After rule speaks before the action's Report
                text = self.reactions[int(action.rsplit("__r", 1)[1])]
                if text:
                    parts.append(text)
            parts.append(report)
        for index, _ in turn.ticks:
            if self.ticks[index]:
                parts.append(self.ticks[index])
        gained = turn.score - turn.score_before
        if gained > 0:
            parts.append(f"Your score has just gone up by {in_words(gained)} point{'s' if gained > 1 else ''}.")
        if turn.lost is not None:
            if self.losses[turn.lost]:
                parts.append(self.losses[turn.lost])
            parts.append(centred("*** You lost! ***"))
        elif turn.won:
            parts.append(centred("*** The End ***"))
        if turn.won or turn.lost is not None:
            turns = turn.moves + (turn.lost is None)  # a win ends the story after the turn count went up
            plural = "s" if turns != 1 else ""
            parts.append(f"You scored {turn.score} out of a possible {self.max_score}, in {turns} turn{plural}.")
        return "\n\n".join(parts)
